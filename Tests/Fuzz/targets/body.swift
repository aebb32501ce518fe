// Route body decoding through the real router (in-process worker, temp database): every route
// that reads a body, with the input as body (first byte picks the route). Invariant: never a
// 5xx other than 503, and every answer is one JSON document.
@testable import AuthCore
@testable import AuthCrypto
import Foundation

final class Harness: @unchecked Sendable {
    let worker: Worker
    let access: String
    init() {
        let dir = NSTemporaryDirectory() + "authgate-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = try! KeyRing.rotate(path: "\(dir)/keys")
        let env = ["AUTH_DB_PATH": "\(dir)/db.sqlite", "AUTH_KEYS_FILE": "\(dir)/keys", "AUTH_SCRYPT": "ln=1,r=1,p=1",
                   "AUTH_HASH_CONCURRENCY": "1", "AUTH_LOCKOUT_THRESHOLD": "1000000",
                   "AUTH_RATE_LIMIT": "off"]
        let app = try! App(settings: try! Settings(environment: env))
        worker = try! app.makeWorker()
        let db = worker.db
        let t = try! db.tenants.create(name: "fuzz.test", domain: "fuzz.test", isPlatform: false, now: Time.now())
        let hash = try! PasswordHash.make(password: "correct horse battery", parameters: app.scrypt)
        _ = try! db.users.create(tenantID: t.id, email: "admin@fuzz.test", passwordHash: hash, role: "admin",
                                 mustChangePassword: false, now: Time.now())
        let r = worker.handle(Request(method: "POST", path: "/api/v1/auth/login", headers: ["content-type": "application/json"],
                                      body: Array(#"{"email":"admin@fuzz.test","password":"correct horse battery"}"#.utf8),
                                      remoteAddress: "127.0.0.1"))
        access = JSONParser.parse(r.body)?["data"]?["access_token"]?.stringValue ?? ""
        precondition(!access.isEmpty, "fuzz harness login failed: \(String(decoding: r.body, as: UTF8.self))")
    }
}

let harness = Harness()
let routes: [(String, String, Bool)] = [
    ("POST", "/api/v1/auth/login", false), ("POST", "/api/v1/auth/refresh", false),
    ("POST", "/api/v1/auth/logout", false), ("POST", "/api/v1/auth/me/password", true),
    ("POST", "/api/v1/projects", true), ("POST", "/api/v1/admin/nodes", true),
    ("GET", "/api/v1/auth/me", true), ("POST", "/api/v1/projects/00000000-0000-0000-0000-000000000000/api-keys", true),
]

func fuzzOne(_ bytes: [UInt8]) {
    guard let first = bytes.first else { return }
    let (method, path, auth) = routes[Int(first) % routes.count]
    var headers = ["content-type": "application/json"]
    if auth { headers["authorization"] = "Bearer \(harness.access)" }
    let r = harness.worker.handle(Request(method: method, path: path, headers: headers, body: Array(bytes.dropFirst()),
                                          remoteAddress: "127.0.0.1"))
    fuzzCheck(r.status < 500 || r.status == 503, "\(r.status) on \(path): \(String(decoding: r.body, as: UTF8.self))")
    fuzzCheck(JSONParser.parse(r.body) != nil, "answer is not JSON")
}
