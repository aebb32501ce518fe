import AuthCore
import AuthCrypto
import Foundation
import TestSupport
import Testing

/// The one CLI runner: the built `authgate` binary to completion, within `timeout` seconds.
func runCLI(_ args: [String], environment: [String: String], stdin: String? = nil,
            timeout: Double = 60) throws -> ChildOutput {
    try Child.run(try Binaries.require("authgate"), args, environment: environment, stdin: stdin, timeout: timeout)
}

/// Runs the built `authgate` binary against a fresh database in a temporary directory.
struct CLIHarness {
    let temp: TempDir
    var dir: URL { URL(fileURLWithPath: temp.path) }
    let dbPath: String
    let keysPath: String
    /// PostgreSQL run (`TestBackend`): a fresh database, named by AUTH_DB_URL.
    let databaseURL: String?

    init() throws {
        temp = try TempDir("authgate-cli")
        dbPath = temp.path + "/db/authgate.db"
        keysPath = temp.path + "/keys"
        databaseURL = TestBackend.isPostgres ? try TestBackend.freshPostgresURL(prefix: "cli") : nil
    }

    struct Result {
        var status: Int32
        var out: String
        var err: String
        var lines: [String] { out.split(separator: "\n").map(String.init) }
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(out.utf8), options: [.fragmentsAllowed]) }
        var jsonArray: [[String: Any]] { json as? [[String: Any]] ?? [] }
        var jsonObject: [String: Any] { json as? [String: Any] ?? [:] }
    }

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AUTH_") && $0.key != "VAR" }
        env["AUTH_DB_PATH"] = dbPath
        if let databaseURL { env["AUTH_DB_URL"] = databaseURL }
        env["AUTH_KEYS_FILE"] = keysPath
        env["AUTH_SCRYPT"] = "ln=4,r=8,p=1"
        return env
    }

    /// Starts without waiting; output discarded. The caller waits with a deadline.
    func start(_ args: [String]) throws -> Child {
        try Child.spawn(try Binaries.require("authgate"), args, environment: environment)
    }

    @discardableResult
    func run(_ args: [String], stdin: String? = nil, timeout: Double = 60) throws -> Result {
        let r = try runCLI(args, environment: environment, stdin: stdin, timeout: timeout)
        return Result(status: r.status, out: r.stdout, err: r.stderr)
    }

    /// Runs and requires success; returns the result.
    @discardableResult
    func ok(_ args: [String], stdin: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> Result {
        let r = try run(args, stdin: stdin)
        #expect(r.status == 0, "authgate \(args.joined(separator: " ")) failed: \(r.err)", sourceLocation: sourceLocation)
        return r
    }

    /// Runs and requires a failure with exactly one line on stderr.
    @discardableResult
    func fails(_ args: [String], stdin: String? = nil, status: Int32 = 1,
               sourceLocation: SourceLocation = #_sourceLocation) throws -> Result {
        let r = try run(args, stdin: stdin)
        #expect(r.status == status, "authgate \(args.joined(separator: " ")): status \(r.status), stderr \(r.err)",
                sourceLocation: sourceLocation)
        if status == 1 {
            #expect(r.err.split(separator: "\n").count == 1, "not one line: \(r.err)", sourceLocation: sourceLocation)
        }
        #expect(!r.err.isEmpty, sourceLocation: sourceLocation)
        return r
    }

    /// A tenant `acme.test` and the id of the user alice@acme.test (agent).
    func seed() throws -> (tenantID: String, userID: String) {
        try ok(["init"])
        let tenantID = try ok(["tenant", "create", "--name", "Acme", "--domain", "acme.test"]).lines.first ?? ""
        let userID = try ok(["user", "create", "--tenant", "acme.test", "--email", "alice@acme.test", "--role", "agent",
                             "--password-stdin"], stdin: "correct horse battery\n").lines.first ?? ""
        return (tenantID, userID)
    }

    func database() throws -> Database {
        let db = try databaseURL.map { try Database(url: $0) } ?? Database(path: dbPath)
        try db.migrate()
        return db
    }

}
