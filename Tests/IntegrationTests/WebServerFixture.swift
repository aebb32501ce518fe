import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

enum WebServerKind: String, CustomStringConvertible, Sendable, CaseIterable {
    case apache, lighttpd
    var description: String { rawValue }
    var binary: String { self == .apache ? "/usr/sbin/apache2" : "/usr/sbin/lighttpd" }
}

/// Real Apache httpd (`mod_authnz_fcgi` on the responder's loopback TCP port, the API through
/// `mod_proxy_fcgi`, a CGI echo app, the responder in plain CGI mode at /auth-cgi) or real
/// lighttpd (`mod_fastcgi` authorizer + responder on the Unix socket, a CGI echo app) in front of
/// a `Stack`'s responder (nginx off). Configs from scripts/render-servers.sh on a temp dir and a
/// free port; the server runs in the foreground with its own pid file, its children as www-data.
final class WebServerFixture: @unchecked Sendable {
    let kind: WebServerKind
    let stack: Stack
    let root: String
    private(set) var port = 0
    private var server: Child?
    /// The database and key ring live in a www-data-owned directory, so the CGI mode (run by
    /// Apache as www-data) can open them too.
    let dataDir: String

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var profile: String { stack.options.profile }

    static func available(_ kind: WebServerKind) -> Bool {
        FileManager.default.isExecutableFile(atPath: kind.binary) && getpwnam(Stack.nginxUser) != nil
    }

    static func with<T>(_ kind: WebServerKind, profile: String = "2signal", environment: [String: String] = [:],
                        responderArguments: [String] = [],
                        _ body: (WebServerFixture) throws -> T) throws -> T {
        let dataDir = try makeDataDir()
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        var options = Stack.Options()
        options.nginx = false
        options.companion = false
        options.upstream = false
        options.profile = profile
        options.environment["AUTH_DB_PATH"] = dataDir + "/authgate.db"
        if kind == .apache { options.environment["AUTH_LISTEN_TCP"] = "127.0.0.1:\(try Stack.freePort())" }
        for (k, v) in environment { options.environment[k] = v }
        options.responderArguments = responderArguments
        return try Stack.with(options) { stack in
            let fixture = try WebServerFixture(kind, stack: stack, dataDir: dataDir)
            defer { fixture.stop() }
            try fixture.start()
            return try body(fixture)
        }
    }

    private init(_ kind: WebServerKind, stack: Stack, dataDir: String) throws {
        self.kind = kind
        self.stack = stack
        self.dataDir = dataDir
        root = stack.dir + "/" + kind.rawValue
        for sub in ["", "/www", "/cgi", "/bin", "/serverlog"] {
            try FileManager.default.createDirectory(atPath: root + sub, withIntermediateDirectories: true)
            chmod(root + sub, 0o755)
        }
        if let pw = getpwnam(Stack.nginxUser) { chown(root + "/serverlog", pw.pointee.pw_uid, pw.pointee.pw_gid) }
        try "Hello from Authgate: a plain static file.\n".write(toFile: root + "/www/plain.txt", atomically: false, encoding: .utf8)
        chmod(root + "/www/plain.txt", 0o644)
        try Self.echoScript.write(toFile: root + "/cgi/echo.sh", atomically: false, encoding: .utf8)
        chmod(root + "/cgi/echo.sh", 0o755)
        // The CGI mode runs the very binary of this build, copied where www-data can run it.
        let bin = try Binaries.require("authgate-fcgi")
        try FileManager.default.copyItem(atPath: bin, toPath: root + "/bin/authgate-fcgi")
        chmod(root + "/bin/authgate-fcgi", 0o755)
    }

    /// Prints the identity-related variables the app received, one `NAME=value` a line.
    static let echoScript = """
        #!/bin/sh
        printf 'Content-Type: text/plain\\r\\n\\r\\n'
        env | grep -E '^(AUTH_|HTTP_X_|REMOTE_USER=)' | sort
        exit 0

        """

    private static func makeDataDir() throws -> String {
        var template = Array("/tmp/authgate-it-data-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw StackError("mkdtemp failed")
        }
        let dir = String(cString: made)
        chmod(dir, 0o700)
        if let pw = getpwnam(Stack.nginxUser) { chown(dir, pw.pointee.pw_uid, pw.pointee.pw_gid) }
        return dir
    }

    func start() throws {
        // The CLI created the database as root; hand it (and the key ring) to www-data for the
        // CGI mode. The root responder keeps its access; SQLite, as root, gives new -wal/-shm
        // files the database file's owner.
        try stack.cliOK(["init"])
        if let pw = getpwnam(Stack.nginxUser) {
            for f in ["authgate.db", "authgate.db-wal", "authgate.db-shm"] {
                chown(dataDir + "/" + f, pw.pointee.pw_uid, pw.pointee.pw_gid)
            }
            chown(stack.keysPath, pw.pointee.pw_uid, pw.pointee.pw_gid)
        }
        var lastError = ""
        for _ in 0..<5 {
            port = try Stack.freePort()
            try render()
            let args = kind == .apache
                ? ["-f", root + "/conf/apache/httpd.conf", "-DFOREGROUND"]
                : ["-D", "-f", root + "/conf/lighttpd/lighttpd.conf"]
            let log = stack.logDir + "/\(kind)-stdout.log"
            let child = try Child.spawn(kind.binary, args, stdout: log, stderr: log, processGroup: true)
            try waitFor("\(kind) on port \(port) to answer /api/v1/health and gate /gated/plain.txt", timeout: 15) {
                guard child.isRunning else { return true }
                return (try? get("/api/v1/health", timeout: 2).status) == 200
                    && (try? get("/gated/plain.txt", timeout: 2).status) == 401
            }
            if child.isRunning {
                server = child
                return
            }
            lastError = self.log()
            _ = child.stop(grace: 1)
            guard lastError.contains("in use") else { break }
        }
        throw StackError("\(kind) did not become ready on port \(port): \(lastError.suffix(2000))")
    }

    func stop() {
        guard let server else { return }
        server.signalGroup(SIGTERM)
        _ = server.stop(grace: 5)
        self.server = nil
    }

    /// The server's own logs (error log and stdout).
    func log() -> String {
        let names = ["\(kind)-stdout.log", "apache-error.log"]
        var text = names.map { (try? String(contentsOfFile: stack.logDir + "/" + $0, encoding: .utf8)) ?? "" }
        text.append((try? String(contentsOfFile: root + "/serverlog/lighttpd-error.log", encoding: .utf8)) ?? "")
        return text.joined(separator: "\n")
    }

    private func render() throws {
        var env = ProcessInfo.processInfo.environment
        let values: [String: String] = [
            "AUTH_SOCKET": stack.socketPath, "AUTH_TCP": stack.options.environment["AUTH_LISTEN_TCP"] ?? "",
            kind == .apache ? "APACHE_PORT" : "LIGHTTPD_PORT": String(port),
            "DOCROOT": root + "/www", "CGI_DIR": root + "/cgi", "LOGDIR": stack.logDir,
            "SERVER_LOGDIR": root + "/serverlog", "SERVER_USER": Stack.nginxUser, "SERVER_GROUP": Stack.nginxGroup,
            "PROFILE": profile, "PROCESSES": "3",
            "CGI_BIN": root + "/bin/authgate-fcgi", "CGI_DB": dataDir + "/authgate.db", "CGI_KEYS": stack.keysPath,
            "CGI_SCRYPT": stack.environment["AUTH_SCRYPT"] ?? "ln=4,r=8,p=1",
            "CGI_MIN_PASSWORD": stack.options.environment["AUTH_MIN_PASSWORD_LENGTH"] ?? "12",
        ]
        for (k, v) in values { env[k] = v }
        env.removeValue(forKey: kind == .apache ? "LIGHTTPD_PORT" : "APACHE_PORT")
        let r = try Child.run("/bin/bash", [Stack.repositoryRoot + "/scripts/render-servers.sh", root + "/conf"],
                              environment: env, timeout: 30)
        guard r.status == 0 else { throw StackError("render-servers.sh failed: \(r.stderr)") }
    }

    // MARK: HTTP through the server (curl, plain HTTP on loopback)

    func request(_ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8]? = nil,
                 timeout: Double = 20) throws -> HTTPSResult {
        let scratch = try TempDir("authgate-curl")
        var args = ["-s", "-S", "--connect-timeout", "5", "--max-time", String(Int(timeout)), "-X", method,
                    "-D", scratch.path + "/headers", "-o", scratch.path + "/body", "-w", "%{http_code}"]
        for (name, value) in headers { args += ["-H", "\(name): \(value)"] }
        if let body {
            try Data(body).write(to: URL(fileURLWithPath: scratch.path + "/request"))
            args += ["--data-binary", "@" + scratch.path + "/request"]
        }
        args.append(baseURL + path)
        let r = try Child.run("/usr/bin/curl", args, timeout: timeout + 10)
        guard r.status == 0, let status = Int(r.stdout) else {
            throw StackError("curl \(method) \(path): exit \(r.status) \(r.stderr)")
        }
        var list: [(String, String)] = []
        for line in scratch.read("headers").split(separator: "\r\n") {
            if line.hasPrefix("HTTP/") { list = []; continue }
            guard let colon = line.firstIndex(of: ":") else { continue }
            list.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let bytes = (try? Data(contentsOf: URL(fileURLWithPath: scratch.path + "/body"))).map { [UInt8]($0) } ?? []
        return HTTPSResult(status: status, headerList: list, body: bytes)
    }

    func get(_ path: String, token: String? = nil, headers: [String: String] = [:], timeout: Double = 20) throws -> HTTPSResult {
        var all = headers
        if let token { all["Authorization"] = "Bearer \(token)" }
        return try request("GET", path, headers: all, timeout: timeout)
    }

    func post(_ path: String, json: [String: Any]? = nil, token: String? = nil) throws -> HTTPSResult {
        var headers = ["Content-Type": "application/json"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        let body = try json.map { [UInt8](try JSONSerialization.data(withJSONObject: $0)) } ?? []
        return try request("POST", path, headers: headers, body: body)
    }

    var accessField: String { profile == "get2dial" ? "token" : "access_token" }

    /// Logs in through the server (`prefix`: "" for the FastCGI API, "/auth-cgi" for CGI mode).
    func tokens(_ email: String, password: String = GateFixture.password, prefix: String = "",
                sourceLocation: SourceLocation = #_sourceLocation) throws -> (access: String, refresh: String) {
        let r = try post(prefix + "/api/v1/auth/login", json: ["email": email, "password": password])
        guard r.status == 200, let access = r.data[accessField] as? String, let refresh = r.data["refresh_token"] as? String else {
            Issue.record("login \(email) via \(kind)\(prefix): \(r.status) \(r.text)", sourceLocation: sourceLocation)
            throw StackError("login failed")
        }
        return (access, refresh)
    }
}

extension HTTPSResult {
    /// The echo app's `NAME=value` lines.
    var echoed: [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            out[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return out
    }
}
