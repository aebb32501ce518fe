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

    /// The CLI's lines, requiring `count` of them (an id the CLI did not print fails here, not
    /// later as an empty string that happens to compare well).
    func cliLines(_ args: [String], stdin: String? = nil, count: Int = 1) throws -> [String] {
        let lines = try cliOK(args, stdin: stdin)
        guard lines.count >= count, !lines.prefix(count).contains(where: \.isEmpty) else {
            throw StackError("authgate \(args.joined(separator: " ")) printed \(lines), not \(count) line(s)")
        }
        return lines
    }

    /// `authgate init` + a tenant; returns the tenant id.
    func makeTenant(_ domain: String) throws -> String {
        try cliOK(["init"])
        return try cliLines(["tenant", "create", "--name", domain, "--domain", domain])[0]
    }

    /// Tenant id by domain (e.g. the platform tenant created by `init`).
    func tenantID(_ domain: String) throws -> String {
        let out = try cliOK(["tenant", "list", "--json"]).joined(separator: "\n")
        let list = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]]
        guard let id = list?.first(where: { $0["domain"] as? String == domain })?["id"] as? String else {
            throw StackError("no tenant \(domain) in \(out)")
        }
        return id
    }

    /// A user created with the CLI; returns its id.
    @discardableResult
    func makeUser(_ email: String, tenant: String, role: String = "agent",
                  password: String = GateFixture.password) throws -> String {
        try cliLines(["user", "create", "--tenant", tenant, "--email", email, "--role", role, "--password-stdin"],
                     stdin: password + "\n")[0]
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

    /// A JSON POST for `client.parallel`.
    func postRequest(_ path: String, json: [String: Any]) throws -> HTTPSClient.Request {
        HTTPSClient.Request(method: "POST", path: path, headers: ["Content-Type": "application/json"],
                            body: [UInt8](try JSONSerialization.data(withJSONObject: json)))
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

    /// Polls `path` with `token` until it answers `status`, then requires `confirm` more answers
    /// in a row with that status (different responder workers answer: every verify is a new
    /// connection). Returns how long the old answer lasted: the seconds from the call until the
    /// *start* of the last request that did not answer `status` (0 when the first one did), or
    /// nil when `status` never came. A promise "denied within 1 s" is `took < 1`: no request
    /// started a second or more after the change was let through, whatever curl's own latency.
    func secondsUntil(_ path: String, token: String, answers status: Int, timeout: Double = 5,
                      confirm: Int = 8, sourceLocation: SourceLocation = #_sourceLocation) throws -> Double? {
        let start = Date()
        var lastOther: Date?
        var seen = false
        try? waitFor("\(path) to answer \(status)", timeout: timeout, every: 5_000) {
            let sent = Date()
            guard (try? get(path, token: token).status) == status else { lastOther = sent; return false }
            seen = true
            return true
        }
        guard seen else { return nil }
        for _ in 0..<confirm {
            let s = try get(path, token: token).status
            if s != status {
                Issue.record("\(path): \(s) after \(status) was seen", sourceLocation: sourceLocation)
                return nil
            }
        }
        return lastOther.map { $0.timeIntervalSince(start) } ?? 0
    }

    // MARK: the responder's own count of verify requests (its log: one line per request)

    /// Verify requests the responder answered so far (lines `GET /_authgate/verify/... 204 35us`;
    /// the HTTP door logs `GET /verify 204 35us`).
    func verifyRequestsSeen() -> Int {
        log("authgate-fcgi").split(separator: "\n").filter { $0.contains(" /_authgate/verify/") || $0.contains(" GET /verify ") }.count
    }

    /// Every request sent before this call has been logged by the responder: a health request
    /// (answered by the responder) is sent and its log line awaited. The responder writes each
    /// line right after its answer, so earlier requests' lines are in the log by then.
    func responderLogSettled() throws -> Int {
        func health() -> Int {
            log("authgate-fcgi").split(separator: "\n").filter { $0.contains(" /api/v1/health ") }.count
        }
        let before = health()
        #expect(try client.get("/api/v1/health").status == 200)
        try waitFor("the responder's log line of a health request") { health() > before }
        return verifyRequestsSeen()
    }
}

enum GateFixture {
    static let password = "correct horse battery staple"
}

/// The most requests held at once: the largest number of spans sharing one instant (an end and
/// a start at the same instant do not overlap). Proof that requests overlapped, from
/// `Stack.serverSpans` (when nginx held each request).
func peakOverlap(_ spans: [(start: Double, end: Double)]) -> Int {
    var events: [(at: Double, step: Int)] = []
    for span in spans {
        events.append((at: span.start, step: 1))
        events.append((at: span.end, step: -1))
    }
    // An answer and a send at the same instant do not overlap: ends sort first.
    events.sort { (x: (at: Double, step: Int), y: (at: Double, step: Int)) -> Bool in
        x.at != y.at ? x.at < y.at : x.step < y.step
    }
    var current = 0, peak = 0
    for e in events {
        current += e.step
        peak = max(peak, current)
    }
    return peak
}

extension HTTPSResult {
    /// The demo echo's received headers (`/demo/echo`, `/demo/ingest`, `/demo/admin`, `/demo/node`).
    var echoedHeaders: [String: String] { json["headers"] as? [String: String] ?? [:] }
    /// The FastCGI echo's params (`/demo/fcgi-echo`).
    var echoedParams: [String: String] { json["params"] as? [String: String] ?? [:] }
}
