import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// A fresh database, key ring and worker per test; cheap scrypt parameters. The database is
/// the run's backend (`TestBackend`): a SQLite file in the temp dir, or a fresh PostgreSQL
/// database named by `AUTH_DB_URL`.
final class APIHarness {
    private let temp: TempDir
    var dir: String { temp.path }
    let app: App
    let worker: Worker
    var db: Database { worker.db }
    let location: TestStoreLocation

    /// `prepare` runs on the temp dir before anything opens the database (FaultInjectionTests
    /// routes it through its fault-injecting VFS). `oneShot`: the app as a CGI process makes it
    /// (App's `oneShot`).
    init(profile: String = "2signal", env extra: [String: String] = [:], oneShot: Bool = false,
         prepare: (String) throws -> Void = { _ in }) throws {
        temp = try TempDir("authgate-api")
        let dir = temp.path
        try prepare(dir)
        _ = try KeyRing.rotate(path: "\(dir)/keys")
        switch TestBackend.current {
        case .sqlite: location = .sqlite(path: "\(dir)/db.sqlite")
        case .postgres: location = .postgres(url: try TestBackend.freshPostgresURL(prefix: "api"))
        }
        var env = ["AUTH_KEYS_FILE": "\(dir)/keys", "AUTH_SCRYPT": "ln=4,r=8,p=1",
                   "AUTH_API_PROFILE": profile, "AUTH_HASH_CONCURRENCY": "2",
                   // Tests log in from one address far beyond the default; RateLimitTests sets its own.
                   "AUTH_RATE_LIMIT": "1000r/s burst=1000"]
        env.merge(location.environment(sqliteFallback: "\(dir)/db.sqlite")) { $1 }
        env.merge(extra) { $1 }
        app = try App(settings: try Settings(environment: env), oneShot: oneShot)
        worker = try app.makeWorker()
    }

    /// Another connection to the harness's store (what the CLI or another process would use).
    func openDatabase() throws -> Database { try location.connect() }

    @discardableResult
    func tenant(_ domain: String, platform: Bool = false) throws -> Tenant {
        try db.tenants.create(name: domain, domain: domain, isPlatform: platform, now: Time.now())
    }

    @discardableResult
    func user(_ email: String, tenant: Tenant, password: String = "correct horse battery", role: String = "agent",
              mustChange: Bool = false) throws -> User {
        let hash = try PasswordHash.make(password: password, parameters: app.scrypt)
        return try db.users.create(tenantID: tenant.id, email: email, passwordHash: hash, role: role,
                                   mustChangePassword: mustChange, now: Time.now())
    }

    func call(_ method: String, _ target: String, json: String? = nil, bearer: String? = nil,
              headers: [String: String] = [:], verify: GatePolicy? = nil) -> (status: Int, json: JSON?, response: Response) {
        let parts = target.split(separator: "?", maxSplits: 1)
        var h = headers
        if let bearer { h["authorization"] = "Bearer \(bearer)" }
        if json != nil { h["content-type"] = "application/json" }
        let req = Request(method: method, path: String(parts[0]), query: parts.count > 1 ? String(parts[1]) : "",
                          headers: h, body: Array((json ?? "").utf8), remoteAddress: "127.0.0.1", verify: verify)
        let res = worker.handle(req)
        return (res.status, JSONParser.parse(res.body), res)
    }

    /// Logs in and returns (access, refresh) in the 2signal shape; a login that gives no tokens
    /// fails the calling test (an empty token would make later "refused" checks pass vacuously).
    func login(_ email: String, _ password: String = "correct horse battery", tenantDomain: String? = nil,
               sourceLocation: SourceLocation = #_sourceLocation) -> (String, String) {
        var body = #"{"email":"\#(email)","password":"\#(password)""#
        if let tenantDomain { body += #","tenant_domain":"\#(tenantDomain)""# }
        body += "}"
        let r = call("POST", "/api/v1/auth/login", json: body)
        let data = r.json?["data"]
        guard let access = data?["access_token"]?.stringValue ?? data?["token"]?.stringValue,
              let refresh = data?["refresh_token"]?.stringValue else {
            Issue.record("login \(email): \(r.status) \(String(decoding: r.response.body, as: UTF8.self))",
                         sourceLocation: sourceLocation)
            return ("", "")
        }
        return (access, refresh)
    }
}

extension JSON {
    var errorCode: String? { self["error"]?["code"]?.stringValue }
    var data: JSON? { self["data"] }
}
