import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Shared helpers for the API*/Gate* suites: demo data through the CLI, logins through nginx,
/// parallel requests, JSON bodies.
extension Stack {
    /// Runs the CLI and requires exit 0; returns stdout's lines.
    @discardableResult
    func cliOK(_ args: [String], stdin: String? = nil,
               sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        let r = try cli(args, stdin: stdin)
        guard r.status == 0 else {
            Issue.record("authgate \(args.joined(separator: " ")) failed (\(r.status)): \(r.stderr)",
                         sourceLocation: sourceLocation)
            throw StackError("CLI failed: \(r.stderr)")
        }
        return r.stdout.split(separator: "\n").map(String.init)
    }

    /// `authgate init` + a tenant; returns the tenant id.
    func makeTenant(_ domain: String) throws -> String {
        try cliOK(["init"])
        return try cliOK(["tenant", "create", "--name", domain, "--domain", domain]).first ?? ""
    }

    /// Tenant id by domain (e.g. the platform tenant created by `init`).
    func tenantID(_ domain: String) throws -> String {
        let out = try cliOK(["tenant", "list", "--json"]).joined(separator: "\n")
        let list = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [[String: Any]] ?? []
        return list.first { $0["domain"] as? String == domain }?["id"] as? String ?? ""
    }

    /// A user created with the CLI; returns its id.
    @discardableResult
    func makeUser(_ email: String, tenant: String, role: String = "agent",
                  password: String = GateFixture.password) throws -> String {
        try cliOK(["user", "create", "--tenant", tenant, "--email", email, "--role", role, "--password-stdin"],
                  stdin: password + "\n").first ?? ""
    }

    /// Name of the access token field of this stack's profile.
    var accessField: String { options.profile == "get2dial" ? "token" : "access_token" }

    func login(_ email: String, password: String = GateFixture.password, tenant: String? = nil) throws -> HTTPSResult {
        var body: [String: Any] = ["email": email, "password": password]
        if let tenant { body["tenant_domain"] = tenant }
        return try post("/api/v1/auth/login", json: body)
    }

    /// Logs in and requires 200; returns (access token, refresh token).
    func tokens(_ email: String, password: String = GateFixture.password, tenant: String? = nil,
                sourceLocation: SourceLocation = #_sourceLocation) throws -> (access: String, refresh: String) {
        let r = try login(email, password: password, tenant: tenant)
        guard r.status == 200, let access = r.data[accessField] as? String,
              let refresh = r.data["refresh_token"] as? String else {
            Issue.record("login \(email): \(r.status) \(r.text)", sourceLocation: sourceLocation)
            throw StackError("login failed")
        }
        return (access, refresh)
    }

    func post(_ path: String, json: [String: Any]? = nil, token: String? = nil,
              headers: [String: String] = [:]) throws -> HTTPSResult {
        var h = headers
        if let token { h["Authorization"] = "Bearer \(token)" }
        var body: [UInt8]?
        if let json {
            h["Content-Type"] = "application/json"
            body = [UInt8](try JSONSerialization.data(withJSONObject: json))
        }
        return try client.request("POST", path, headers: h, body: body)
    }

    func get(_ path: String, token: String?, headers: [String: String] = [:]) throws -> HTTPSResult {
        var h = headers
        if let token { h["Authorization"] = "Bearer \(token)" }
        return try client.get(path, headers: h)
    }

    /// Polls `path` with `token` until it answers `status`; returns the seconds it took, or nil.
    /// Then requires `confirm` more answers in a row with that status (different responder
    /// workers answer: every verify is a new connection).
    func secondsUntil(_ path: String, token: String, answers status: Int, timeout: Double = 5,
                      confirm: Int = 8) throws -> Double? {
        let start = Date()
        var took: Double?
        try? waitFor("\(path) to answer \(status)", timeout: timeout, every: 5_000) {
            guard (try? get(path, token: token).status) == status else { return false }
            took = Date().timeIntervalSince(start)
            return true
        }
        guard let took else { return nil }
        for _ in 0..<confirm {
            let s = try get(path, token: token).status
            if s != status { Issue.record("\(path): \(s) after \(status) was seen"); return nil }
        }
        return took
    }
}

enum GateFixture {
    static let password = "correct horse battery staple"
}

/// Runs `body(i)` for i in 0..<n on n threads released together by one barrier; results in order.
func parallel<T: Sendable>(_ n: Int, timeout: Double = 120,
                           _ body: @escaping @Sendable (Int) throws -> T) throws -> [Result<T, any Error>] {
    try onThreads(n, timeout: timeout, body)
}

extension HTTPSResult {
    /// The demo echo's received headers (`/demo/echo`, `/demo/ingest`, `/demo/admin`, `/demo/node`).
    var echoedHeaders: [String: String] { json["headers"] as? [String: String] ?? [:] }
    /// The FastCGI echo's params (`/demo/fcgi-echo`).
    var echoedParams: [String: String] { json["params"] as? [String: String] ?? [:] }
}
