import AuthCore
import AuthCrypto
import Foundation
import Testing

/// Runs the built `authgate` binary against a fresh database in a temporary directory.
struct CLIHarness {
    let dir: URL
    let dbPath: String
    let keysPath: String

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("authgate-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        dbPath = dir.appendingPathComponent("db/authgate.db").path
        keysPath = dir.appendingPathComponent("keys").path
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

    static func binary() -> URL? {
        let fm = FileManager.default
        var candidates: [URL] = []
        if let env = ProcessInfo.processInfo.environment["AUTHGATE_BIN"] { candidates.append(URL(fileURLWithPath: env)) }
        let bundle = Bundle.main.bundleURL
        candidates.append(bundle.appendingPathComponent("authgate"))
        candidates.append(bundle.deletingLastPathComponent().appendingPathComponent("authgate"))
        if let arg0 = CommandLine.arguments.first {
            let exe = URL(fileURLWithPath: arg0).resolvingSymlinksInPath()
            candidates.append(exe.deletingLastPathComponent().appendingPathComponent("authgate"))
            // macOS-style bundles: .../debug/X.xctest/Contents/MacOS/X
            candidates.append(exe.deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("authgate"))
        }
        // Walk up from this file to the package root and try the default build dir.
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        candidates.append(root.appendingPathComponent(".build/debug/authgate"))
        return candidates.first { fm.isExecutableFile(atPath: $0.path) }
    }

    func process(_ args: [String]) throws -> Process {
        let exe = try #require(CLIHarness.binary(), "authgate binary not found next to the test bundle")
        let process = Process()
        process.executableURL = exe
        process.arguments = args
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AUTH_") && $0.key != "VAR" }
        env["AUTH_DB_PATH"] = dbPath
        env["AUTH_KEYS_FILE"] = keysPath
        env["AUTH_SCRYPT"] = "ln=4,r=8,p=1"
        process.environment = env
        return process
    }

    /// Starts without waiting; output discarded.
    func start(_ args: [String]) throws -> Process {
        let p = try process(args)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }

    @discardableResult
    func run(_ args: [String], stdin: String? = nil) throws -> Result {
        let process = try process(args)
        let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe
        try process.run()
        if let stdin { inPipe.fileHandleForWriting.write(Data(stdin.utf8)) }
        try inPipe.fileHandleForWriting.close()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        let err = errPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, out: String(decoding: out, as: UTF8.self),
                      err: String(decoding: err, as: UTF8.self))
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
        let db = try Database(path: dbPath)
        try db.migrate()
        return db
    }

    func cleanUp() { try? FileManager.default.removeItem(at: dir) }
}
