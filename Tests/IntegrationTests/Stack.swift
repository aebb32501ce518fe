import AuthCore
import AuthCrypto
import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

struct StackError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A real Authgate stack for one test: its own temp dir (reachable by nginx's `www-data`
/// workers), a free TCP port, a key ring, the `authgate-fcgi` binary of this build, the
/// companion and demo upstream when built, and real nginx with the rendered demo config.
/// Independent stacks run concurrently. Always `stop()` it (use `Stack.with { }`).
final class Stack: @unchecked Sendable {
    struct Options {
        var profile = "2signal"
        var nginx = true
        var companion = true
        var upstream = true
        var verifyCacheSeconds = 1
        var threads = 8
        /// Tests only: nginx also listens without TLS on `plainPort` (127.0.0.1), for load a
        /// TLS client per connection cannot produce (e.g. 1,000 WebSockets through nginx).
        var plainHTTP = false
        /// Extra environment for every Authgate process (AUTH_* overrides).
        var environment: [String: String] = [:]
        /// Tests only: nginx config inserted into the demo server block (e.g. a uwsgi location).
        var extraServerConfig = ""
        /// false: the server block as the README's install has it, without authgate-browser.conf
        /// (and without the demo dashboard that needs it).
        var browserSnippet = true
        /// Extra environment for the servers only (nginx, the responder, the companion), not
        /// for the CLI or the demo upstream (e.g. a preloaded libfaketime).
        var serverEnvironment: [String: String] = [:]
        /// Tests only: nginx config for the main context (e.g. `env NAME;` lines).
        var nginxMainConfig = ""
        /// The key ring file's contents (hosts sharing a database share the ring); nil: one
        /// fresh random key.
        var keyRing: String?
        /// The secrets file's contents (AUTH_SECRETS_FILE: hosts sharing a database share it);
        /// nil: one fresh random key.
        var secrets: String?
        /// Arguments of the responder (e.g. `--hold-socket`: it then runs as the holder's child).
        var responderArguments: [String] = []
        /// Which door nginx's gated demo locations knock on: the FastCGI verify locations
        /// (`/_authgate/verify/...`, the default) or the keep-alive HTTP door's
        /// (`/_authgate/verify-http/...`, authgate-verify-http.conf). The gate suites run their
        /// one table of cases through both.
        var door = GateDoor.fastcgi
        init() {}
    }

    let options: Options
    private let temp: TempDir
    var dir: String { temp.path }
    private(set) var port: Int = 0
    private(set) var plainPort: Int = 0
    var socketPath: String { dir + "/authgate.sock" }
    var wsSocketPath: String { dir + "/authgate-ws.sock" }
    /// The HTTP verify door (AUTH_VERIFY_HTTP_SOCKET; render-nginx.sh's default beside AUTH_SOCKET).
    var verifyHTTPSocketPath: String { dir + "/authgate-verify-http.sock" }
    var wsMetricsSocketPath: String { dir + "/authgate-ws-metrics.sock" }
    var upstreamSocketPath: String { dir + "/demo-upstream.sock" }
    /// The demo upstream's FastCGI echo (render-nginx.sh's default `$RUNDIR/demo-fastcgi.sock`).
    var upstreamFastCGISocketPath: String { dir + "/demo-fastcgi.sock" }
    var dbPath: String { dir + "/authgate.db" }
    var keysPath: String { dir + "/keys" }
    var secretsPath: String { dir + "/secrets" }
    var certPath: String { dir + "/cert.pem" }
    var logDir: String { dir + "/log" }
    var accessLogPath: String { logDir + "/nginx-access.log" }
    var responderLogPath: String { logDir + "/authgate-fcgi.log" }
    var cacheDir: String { "/dev/shm/authgate-it-\(port)-\(getpid())" }
    var baseURL: String { "https://localhost:\(port)" }

    private(set) var responder: Child?
    private var others: [Child] = []
    /// Every process the stack started (nginx, responder, companion, upstream).
    var processes: [Child] { others + [responder].compactMap({ $0 }) }
    /// PostgreSQL run (`TestBackend`): this stack's own fresh database, unless the options name one.
    private var backendURL: String?

    /// The environment every Authgate process of this stack gets (also for the CLI).
    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["AUTH_SOCKET"] = socketPath
        env["AUTH_WS_SOCKET"] = wsSocketPath
        env["AUTH_WS_METRICS_SOCKET"] = wsMetricsSocketPath
        env["AUTH_VERIFY_HTTP_SOCKET"] = verifyHTTPSocketPath
        env["AUTH_DB_PATH"] = dbPath
        env["AUTH_KEYS_FILE"] = keysPath
        env["AUTH_SECRETS_FILE"] = secretsPath
        env["AUTH_API_PROFILE"] = options.profile
        env["AUTH_THREADS"] = String(options.threads)
        env["AUTH_SCRYPT"] = env["AUTH_SCRYPT"] ?? "ln=4,r=8,p=1"
        // Suites log in from 127.0.0.1 far beyond the responder's default limit, as nginx's
        // (LOGIN_RATE below); a test of the limit sets its own AUTH_RATE_LIMIT.
        env["AUTH_RATE_LIMIT"] = env["AUTH_RATE_LIMIT"] ?? "1000r/s burst=1000"
        env["AUTH_WS_UPSTREAM"] = "unix:" + upstreamSocketPath
        if Stack.isRoot { env["AUTH_SOCKET_GROUP"] = Stack.nginxGroup }
        if let backendURL { env["AUTH_DB_URL"] = backendURL }
        for (k, v) in options.environment { env[k] = v }
        return env
    }

    /// The stack's store: PostgreSQL when AUTH_DB_URL is set (a PostgreSQL run, or two hosts
    /// sharing one), else the SQLite file.
    var databaseURL: String? { environment["AUTH_DB_URL"] }

    /// A connection to the stack's store, as the CLI would open it.
    func database() throws -> Database {
        if let url = databaseURL { return try Database(url: url) }
        return try Database(path: dbPath)
    }

    init(_ options: Options = Options()) throws {
        self.options = options
        temp = try TempDir("authgate-it", parent: "/tmp")
        if TestBackend.isPostgres && options.environment["AUTH_DB_URL"] == nil {
            backendURL = try TestBackend.freshPostgresURL(prefix: "stack")
        }
        // 0750 root:www-data: nginx's workers reach sockets and files, other users do not.
        chmod(dir, 0o750)
        if Stack.isRoot, let group = getgrnam(Stack.nginxGroup) { chown(dir, uid_t.max, group.pointee.gr_gid) }
        try FileManager.default.createDirectory(atPath: logDir, withIntermediateDirectories: true)
    }

    /// Starts a stack, runs `body`, always stops it.
    static func with<T>(_ options: Options = Options(), _ body: (Stack) throws -> T) throws -> T {
        let stack = try Stack(options)
        defer { stack.stop() }
        try stack.start()
        return try body(stack)
    }

    func start() throws {
        trace("start begin")
        defer { trace("start end") }
        try writeKeyRing()
        let served = try startResponder()
        try UnixSocket.waitUntilAccepting(socketPath, served: served, log: { self.log("authgate-fcgi") })
        // The HTTP verify door is bound after AUTH_SOCKET: a test that talks to it first waits too.
        try UnixSocket.waitUntilAccepting(verifyHTTPSocketPath, served: served, log: { self.log("authgate-fcgi") })
        if options.companion, let bin = Binaries.path("authgate-ws") {
            let companion = try launch(bin, [], log: "authgate-ws")
            others.append(companion)
            try UnixSocket.waitUntilAccepting(wsSocketPath, served: companion, log: { self.log("authgate-ws") })
        }
        if options.upstream, let bin = Binaries.path("authgate-demo-upstream") {
            let upstream = try launch(bin, ["--socket", upstreamSocketPath, "--fastcgi-socket", upstreamFastCGISocketPath],
                                      log: "demo-upstream")
            others.append(upstream)
            try UnixSocket.waitUntilAccepting(upstreamSocketPath, served: upstream, log: { self.log("demo-upstream") })
        }
        if options.nginx { try startNginx() }
    }

    /// Stops every process of the stack (SIGTERM, then SIGKILL past its grace) and reaps each.
    func stop() {
        trace("stop begin")
        defer { trace("stop end") }
        let all = others + [responder].compactMap({ $0 })
        for p in all { p.signal(SIGTERM) }
        for p in all {
            // The demo upstream has no state to save: do not wait long for it.
            let status = p.stop(grace: p.name == "authgate-demo-upstream" ? 0.3 : 3)
            trace("exited: \(p.name) status \(status)")
        }
        if port != 0 { try? FileManager.default.removeItem(atPath: cacheDir) }
        // The directory itself goes with `temp` (kept when AUTHGATE_KEEP_STACK is set).
    }

    // MARK: responder

    /// Starts (or restarts) the responder with this stack's environment.
    @discardableResult
    func startResponder(extraEnvironment: [String: String] = [:]) throws -> Child {
        let bin = try Binaries.require("authgate-fcgi")
        let p = try launch(bin, options.responderArguments, log: "authgate-fcgi", extraEnvironment: extraEnvironment)
        responder = p
        return p
    }

    /// Runs a second responder process to completion (for "refuses to start" checks).
    func runResponderOnce(timeout: Double = 10) throws -> (status: Int32, stderr: String) {
        let bin = try Binaries.require("authgate-fcgi")
        let p = try launch(bin, [], log: "authgate-fcgi-second")
        let status = try p.wait(timeout: timeout, for: "a second responder to refuse to start")
        return (status, log("authgate-fcgi-second"))
    }

    /// The text of one of the stack's logs (`authgate-fcgi`, `authgate-ws`, `nginx-error`, …).
    func log(_ name: String) -> String {
        (try? String(contentsOfFile: logDir + "/\(name).log", encoding: .utf8)) ?? ""
    }

    // MARK: helpers other suites reuse

    func keyRing() throws -> KeyRing { try KeyRing.load(path: keysPath) }

    /// An access token signed with the stack's current signing key (`mintAccessToken`).
    func mintToken(sub: String, tid: String, email: String = "user@example.test", role: String = "agent",
                   sid: String, ttl: Int64 = 600, exp: Int64? = nil, issuer: String = "authgate",
                   audience: String? = nil) throws -> String {
        mintAccessToken(key: try keyRing().signing, sub: sub, tid: tid, email: email, role: role, sid: sid, ttl: ttl,
                        exp: exp, issuer: issuer, audience: audience ?? options.profile)
    }

    /// The same, for an account made in the database.
    func mintToken(for a: TestAccount, ttl: Int64 = 600, exp: Int64? = nil) throws -> String {
        try mintToken(sub: a.userID, tid: a.tenantID, email: a.email, role: a.role, sid: a.sessionID, ttl: ttl, exp: exp)
    }

    /// Runs the `authgate` CLI against this stack's database and key ring.
    func cli(_ args: [String], stdin: String? = nil, timeout: Double = 60) throws -> ChildOutput {
        try runCLI(args, environment: environment, stdin: stdin, timeout: timeout)
    }

    var client: HTTPSClient { HTTPSClient(port: port, caFile: certPath) }

    // MARK: internals

    /// AUTHGATE_STACK_TRACE=1: timestamps of the stack's phases on stderr.
    func trace(_ what: String) {
        guard ProcessInfo.processInfo.environment["AUTHGATE_STACK_TRACE"] != nil else { return }
        FileHandle.standardError.write(Data("[stack \(port)] \(Date().timeIntervalSince1970) \(what)\n".utf8))
    }

    static let isRoot = geteuid() == 0

    static let nginxUser = "www-data"
    static let nginxGroup = "www-data"
    static var repositoryRoot: String { Binaries.repositoryRoot }

    private func launch(_ path: String, _ args: [String], log: String,
                        extraEnvironment: [String: String] = [:]) throws -> Child {
        var env = environment
        if ["authgate-fcgi", "authgate-ws", "nginx"].contains((path as NSString).lastPathComponent) {
            for (k, v) in options.serverEnvironment { env[k] = v }
        }
        for (k, v) in extraEnvironment { env[k] = v }
        let logPath = logDir + "/\(log).log"
        return try Child.spawn(path, args, environment: env, stdout: logPath, stderr: logPath)
    }

    /// A key ring of one fresh random key (`kid:base64url-secret`).
    static func randomKeyRing() -> String {
        "it\(UInt32.random(in: 0...UInt32.max)):\(Base64URL.encode(Crypto.randomBytes(32)))\n"
    }

    private func writeKeyRing() throws {
        let line = options.keyRing ?? Stack.randomKeyRing()
        let old = umask(0o077)
        defer { umask(old) }
        try line.write(toFile: keysPath, atomically: false, encoding: .utf8)
        chmod(keysPath, 0o600)
        try (options.secrets ?? Stack.randomKeyRing()).write(toFile: secretsPath, atomically: false, encoding: .utf8)
        chmod(secretsPath, 0o600)
    }

    private func startNginx() throws {
        try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                     "-nodes", "-days", "2", "-subj", "/CN=localhost",
                                     "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                                     "-keyout", dir + "/cert-key.pem", "-out", certPath])
        let demoRoot = dir + "/demo"
        try FileManager.default.createDirectory(atPath: demoRoot, withIntermediateDirectories: true)
        chmod(demoRoot, 0o755)
        try "Hello from Authgate: a plain static file.\n".write(toFile: demoRoot + "/plain.txt", atomically: false, encoding: .utf8)
        chmod(demoRoot + "/plain.txt", 0o644)

        // A port that is free now may be taken by a concurrent suite before nginx binds it: retry.
        var lastError = ""
        for _ in 0..<5 {
            port = try Stack.freePort()
            let confDir = dir + "/nginx"
            var env = ProcessInfo.processInfo.environment
            let values: [String: String] = [
                "PORT": String(port), "VAR": dir, "RUNDIR": dir, "LOGDIR": logDir,
                "NGINX_USER": Stack.nginxUser, "NGINX_WORKERS": "1",
                "AUTH_SOCKET": socketPath, "AUTH_WS_SOCKET": wsSocketPath, "AUTH_WS_METRICS_SOCKET": wsMetricsSocketPath, "UPSTREAM_SOCKET": upstreamSocketPath,
                "CACHE_DIR": cacheDir, "VERIFY_CACHE_ZONE": options.verifyCacheSeconds == 0 ? "off" : "authgate_verify",
                "VERIFY_CACHE_SECONDS": String(max(1, options.verifyCacheSeconds)),
                "CERT": certPath, "CERT_KEY": dir + "/cert-key.pem", "DEMO_ROOT": demoRoot,
                "AUTH_API_PROFILE": options.profile,
                "LOGIN_RATE": options.environment["AUTH_LOGIN_RATE"] ?? "1000r/s",
                "LOGIN_BURST": options.environment["AUTH_LOGIN_BURST"] ?? "1000",
            ]
            for (k, v) in values { env[k] = v }
            try run("/bin/bash", [Stack.repositoryRoot + "/scripts/render-nginx.sh", confDir], environment: env)
            if options.plainHTTP { try addPlainListener(confDir + "/nginx.conf") }
            if options.door == .http { try useHTTPDoor(confDir + "/nginx.conf") }
            try addTimingLog(confDir + "/nginx.conf")
            if !options.extraServerConfig.isEmpty { try addServerConfig(confDir + "/nginx.conf") }
            if !options.browserSnippet { try dropBrowserMode(confDir + "/nginx.conf") }
            if !options.nginxMainConfig.isEmpty {
                let conf = confDir + "/nginx.conf"
                try (options.nginxMainConfig + "\n" + String(contentsOfFile: conf, encoding: .utf8))
                    .write(toFile: conf, atomically: true, encoding: .utf8)
            }
            let nginx = try launch("/usr/sbin/nginx", ["-p", confDir, "-c", confDir + "/nginx.conf",
                                                       "-e", logDir + "/nginx-error.log"], log: "nginx")
            // nginx -c … daemonizes unless told not to: the rendered config says `daemon off`,
            // so this pid is the master and `stop()` reaps it.
            try waitFor("nginx on port \(port) to answer /api/v1/health with 200", timeout: 15) {
                guard nginx.isRunning else { return true }
                return (try? client.request("GET", "/api/v1/health", timeout: 2).status) == 200
            }
            if nginx.isRunning {
                others.append(nginx)
                return
            }
            lastError = log("nginx-error")
            nginx.stop()
            guard lastError.contains("Address already in use") else { break }
        }
        throw StackError("nginx did not become ready on port \(port): \(lastError.suffix(2000))")
    }

    /// Adds `listen 127.0.0.1:<plainPort>;` next to the TLS listener of the rendered config.
    private func addPlainListener(_ conf: String) throws {
        plainPort = try Stack.freePort()
        let text = try String(contentsOfFile: conf, encoding: .utf8)
        let tls = "listen 127.0.0.1:\(port) ssl"
        guard let range = text.range(of: tls) else { throw StackError("no TLS listen line in \(conf)") }
        let patched = text.replacingCharacters(in: range.lowerBound..<range.lowerBound,
                                               with: "listen 127.0.0.1:\(plainPort);\n        ")
        try patched.write(toFile: conf, atomically: true, encoding: .utf8)
    }

    /// Tests only: a second access log, `nginx-timing.log`, with when nginx finished each
    /// request and how long it held it (`$msec $request_time $status $request_method $uri`).
    private func addTimingLog(_ conf: String) throws {
        let text = try String(contentsOfFile: conf, encoding: .utf8)
        let anchor = "    access_log \(logDir)/nginx-access.log authgate;"
        guard let range = text.range(of: anchor) else { throw StackError("no access_log line in \(conf)") }
        let timing = "\n    log_format authgate_timing '$msec $request_time $status $request_method $uri';\n"
            + "    access_log \(logDir)/nginx-timing.log authgate_timing;"
        try text.replacingCharacters(in: range.upperBound..<range.upperBound, with: timing)
            .write(toFile: conf, atomically: true, encoding: .utf8)
    }

    /// When nginx held each of the last `count` requests for `uri` ([start, end] in seconds,
    /// millisecond resolution, from `nginx-timing.log`); waits for their lines.
    func serverSpans(_ uri: String, count: Int) throws -> [(start: Double, end: Double)] {
        var spans: [(start: Double, end: Double)] = []
        try waitFor("\(count) lines for \(uri) in nginx's timing log") {
            spans = log("nginx-timing").split(separator: "\n").compactMap { line in
                let f = line.split(separator: " ")
                guard f.count == 5, f[4] == uri, let end = Double(f[0]), let held = Double(f[1]) else { return nil }
                return (start: end - held, end: end)
            }
            return spans.count >= count
        }
        return Array(spans.suffix(count))
    }

    private func run(_ path: String, _ args: [String], environment: [String: String]? = nil) throws {
        let r = try Child.run(path, args, environment: environment, timeout: 60)
        guard r.status == 0 else { throw StackError("\(path) \(args.joined(separator: " ")) failed: \(r.stderr)") }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StackError("socket failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw StackError("bind failed") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
