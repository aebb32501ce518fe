import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real PostgreSQL server for tests (Debian's `postgresql` package, found under
/// `/usr/lib/postgresql/<version>/bin`, or `AUTHGATE_PG_BIN`): `initdb` into a fresh `TempDir`
/// (trust auth, superuser `authgate`, no fsync), then `postgres` on a Unix socket in that dir
/// and a free TCP port on 127.0.0.1, in its own process group, logging to `postgres.log` in the
/// dir (never to the test runner's stdout: a leftover postmaster holding that pipe would hang
/// whoever reads it).
///
/// initdb and postgres refuse to run as root: as root they run as the `postgres` account (made
/// by the package) or `nobody`, through `setpriv`, and the temp dir is chowned to that account.
///
/// A small watchdog (`/bin/sh` in a process group of its own, immune to INT/TERM/HUP) holds
/// the read end of a pipe whose write end only this process holds: however this process ends
/// (exit, crash, the `make test` watchdog's SIGKILL), the pipe closes and the watchdog
/// SIGKILLs the postmaster's process group. `atexit` stops `shared` cleanly before that.
public final class PostgresServer: @unchecked Sendable {
    /// The superuser initdb makes (`-U`); every URL names it.
    public static let superuser = "authgate"

    private let temp: TempDir
    public var directory: String { temp.path }
    public var dataDirectory: String { temp.path + "/data" }
    /// Where the server's Unix socket lives (`.s.PGSQL.<port>` inside).
    public var socketDirectory: String { temp.path + "/sock" }
    public var logPath: String { temp.path + "/postgres.log" }
    public let binDirectory: String

    private let lock = NSLock()
    private var postmaster: Child?
    private var watchdog: (child: Child, writeEnd: Int32)?
    private var chosenPort = 0
    private var databaseCounter = 0

    /// More `-c name=value` settings for `start()` (later ones win over the defaults above them),
    /// e.g. a low `max_connections` or `synchronous_standby_names` (issue 24).
    public var extraSettings: [String] {
        get { lock.withLock { settings } }
        set { lock.withLock { settings = newValue } }
    }
    private var settings: [String] = []

    /// The TCP port (also the socket's name); fixed at the first `start()`, kept on restarts.
    public var port: Int { lock.withLock { chosenPort } }

    /// Runs initdb in a new temp dir; does not start the server (`start()`).
    /// `extraSettings`: `-c` settings after the defaults (a later one wins), e.g. a durable server
    /// that loads pg_stat_statements for the eight-host measurements.
    public convenience init(prefix: String = "authgate-pg", extraSettings: [String] = []) throws {
        try self.init(prefix: prefix, dataFrom: nil)
        self.extraSettings = extraSettings
    }

    /// `dataFrom`: nil runs initdb; else it fills the empty data dir (pg_basebackup of a standby)
    /// and returns its log's text when it fails.
    init(prefix: String, dataFrom: ((PostgresServer) throws -> Void)?) throws {
        guard let bin = PostgresServer.findBinDirectory() else {
            throw SupportError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
                               + "(Debian package postgresql: make deps installs it; or set AUTHGATE_PG_BIN)")
        }
        binDirectory = bin
        temp = try TempDir(prefix)
        try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: false)
        if let account = PostgresServer.account {
            for path in [temp.path, socketDirectory] {
                guard chown(path, account.uid, account.gid) == 0 else {
                    throw SupportError("chown \(path) to uid \(account.uid): \(String(cString: strerror(errno)))")
                }
            }
        }
        if let dataFrom {
            try dataFrom(self)
            return
        }
        let initdb = try Child.spawn(command("initdb"), arguments("initdb", [
            "-D", dataDirectory, "-U", PostgresServer.superuser, "--auth=trust", "--no-sync",
            "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions",
        ]), environment: PostgresServer.environment, stdout: temp.path + "/initdb.log", stderr: temp.path + "/initdb.log")
        let status = try initdb.wait(timeout: 120, for: "initdb of \(dataDirectory)")
        guard status == 0 else {
            throw SupportError("initdb exited \(status): \(temp.read("initdb.log").suffix(2000))")
        }
    }

    deinit { stop() }

    // MARK: the process-wide server

    nonisolated(unsafe) private static var sharedServer: Result<PostgresServer, any Error>?
    private static let sharedLock = NSLock()

    /// One server for the whole test process, started on first use and stopped at exit.
    /// A failure to start is remembered: every later caller gets the same error at once.
    public static var shared: PostgresServer {
        get throws {
            try sharedLock.withLock {
                if let sharedServer { return try sharedServer.get() }
                let made = Result { () throws -> PostgresServer in
                    let server = try PostgresServer(prefix: "authgate-pg-shared")
                    try server.start()
                    return server
                }
                sharedServer = made
                if case .success = made { atexit { PostgresServer.stopShared() } }
                return try made.get()
            }
        }
    }

    private static func stopShared() {
        guard case .success(let server)? = sharedLock.withLock({ sharedServer }) else { return }
        server.stop()
        // A static is never deinitialized: its TempDir would outlive the run.
        if ProcessInfo.processInfo.environment["AUTHGATE_KEEP_STACK"] == nil {
            try? FileManager.default.removeItem(atPath: server.directory)
        }
    }

    // MARK: lifecycle

    public var isRunning: Bool { lock.withLock { postmaster?.isRunning ?? false } }

    /// The running postmaster's pid (its process group id too), nil when stopped.
    public var pid: pid_t? { lock.withLock { postmaster.flatMap { $0.isRunning ? $0.pid : nil } } }

    /// Starts the postmaster (again, after `stop()` or `kill()`: same data dir, same port) and
    /// waits until it accepts connections.
    public func start(timeout: Double = 60) throws {
        try lock.withLock {
            if let postmaster, postmaster.isRunning { return }
            // A port free now can be taken before postgres binds it: the first start retries with
            // another; a restart keeps its port (clients hold URLs naming it).
            let attempts = chosenPort == 0 ? 5 : 1
            var lastLog = ""
            for _ in 0..<attempts {
                if chosenPort == 0 || attempts > 1 { chosenPort = try PostgresServer.freePort() }
                let logStart = PostgresServer.fileSize(logPath)
                let child = try Child.spawn(command("postgres"), arguments("postgres", [
                    "-D", dataDirectory, "-k", socketDirectory, "-p", String(chosenPort),
                    "-c", "listen_addresses=127.0.0.1",
                    // fsync/full_page_writes guard against an OS crash only; a SIGKILLed server
                    // (kill()) still loses nothing it acknowledged. synchronous_commit stays on:
                    // off, a commit acknowledged just before kill() could vanish.
                    "-c", "fsync=off", "-c", "full_page_writes=off",
                    "-c", "max_connections=400", "-c", "shared_buffers=32MB",
                    "-c", "log_line_prefix=%m [%p] ",
                ] + settings.flatMap { ["-c", $0] }), environment: PostgresServer.environment, stdout: logPath, stderr: logPath, processGroup: true)
                postmaster = child
                try startWatchdog(guarding: child.pid)
                let deadline = Deadline(timeout)
                while child.isRunning && !deadline.passed {
                    if try ready(port: chosenPort) { return }
                    usleep(20_000)
                }
                lastLog = PostgresServer.tail(logPath, from: logStart)
                stopLocked(grace: 5)
                if !lastLog.contains("could not bind") && !lastLog.contains("Address already in use") { break }
            }
            throw SupportError("postgres did not accept connections on port \(chosenPort): \(lastLog.suffix(2000))")
        }
    }

    /// Fast shutdown (SIGINT: backends are told to end, no wait for clients), SIGKILL to the
    /// whole process group after `grace` seconds. Safe to call when stopped.
    public func stop(grace: Double = 10) {
        lock.withLock { stopLocked(grace: grace) }
    }

    /// A crash: SIGKILL to the postmaster and every backend (its process group), reaped at once.
    /// `start()` afterwards recovers the same data dir (crash recovery), on the same port.
    public func kill() {
        lock.withLock {
            stopWatchdog()
            guard let postmaster else { return }
            if postmaster.isRunning { Glibc.kill(-postmaster.pid, SIGKILL) }
            // Reaped here: an unreaped postmaster is a zombie whose pid still "exists", and the
            // next postgres would refuse the data dir (postmaster.pid names a live process).
            postmaster.stop(grace: 5, signal: SIGKILL)
            self.postmaster = nil
        }
    }

    private func stopLocked(grace: Double) {
        stopWatchdog()
        guard let postmaster else { return }
        self.postmaster = nil
        guard postmaster.isRunning else { return }
        postmaster.signal(SIGINT)
        if (try? postmaster.wait(timeout: grace, for: "postgres fast shutdown")) == nil {
            // wait() killed and reaped the postmaster; its backends share its process group.
            Glibc.kill(-postmaster.pid, SIGKILL)
        }
    }

    private func startWatchdog(guarding pgid: pid_t) throws {
        stopWatchdog()
        var fds: [Int32] = [-1, -1]
        // (pipe2 is not in Swift's Glibc module. Children spawned meanwhile get neither end:
        // Child.spawn closes every fd from 3 up in the child.)
        guard pipe(&fds) == 0 else { throw SupportError("pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer { close(fds[0]) }
        // (dash's kill takes no `--`: `kill -KILL -- -N` fails with "Illegal number", seen.)
        let script = "trap '' INT TERM HUP; while read -r _; do :; done; kill -KILL -\(pgid) 2>/dev/null; exit 0"
        do {
            let child = try Child.spawn("/bin/sh", ["-c", script], environment: ["PATH": "/usr/bin:/bin"],
                                        descriptors: [0: fds[0]], processGroup: true)
            watchdog = (child, fds[1])
        } catch {
            close(fds[1])
            throw error
        }
    }

    private func stopWatchdog() {
        guard let watchdog else { return }
        self.watchdog = nil
        // Killed first, then the pipe closed: a watchdog that saw EOF now could signal a group id
        // the kernel has already given to someone else.
        watchdog.child.stop(grace: 0, signal: SIGKILL)
        close(watchdog.writeEnd)
    }

    // MARK: clients

    /// A libpq URI for the Unix socket: `postgresql:///db?host=/sock/dir&port=N&user=authgate`.
    public func url(database: String) -> String {
        "postgresql:///\(database)?host=\(PostgresServer.percentEncode(socketDirectory))&port=\(port)&user=\(PostgresServer.superuser)"
    }

    /// A libpq URI over TCP to 127.0.0.1 (no TLS: the test server has none).
    public func tcpURL(database: String) -> String {
        "postgresql://\(PostgresServer.superuser)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// libpq's keyword/value form for the Unix socket.
    public func keywordConnInfo(database: String) -> String {
        "host=\(socketDirectory) port=\(port) user=\(PostgresServer.superuser) dbname=\(database)"
    }

    /// True when a connection as the superuser succeeds now (`pg_isready`).
    public func acceptsConnections() throws -> Bool { try ready(port: port) }

    private func ready(port: Int) throws -> Bool {
        let r = try Child.run(binDirectory + "/pg_isready", [
            "-q", "-h", socketDirectory, "-p", String(port), "-U", PostgresServer.superuser, "-d", "postgres",
            "-t", "2",
        ], environment: PostgresServer.environment, timeout: 10)
        return r.status == 0
    }

    /// Creates an empty database (names: lowercase letters, digits, `_`).
    public func createDatabase(_ name: String) throws {
        guard !name.isEmpty, name.utf8.count < 64,
              name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else {
            throw SupportError("bad test database name \(name)")
        }
        _ = try psql("CREATE DATABASE \(name)")
    }

    /// A new empty database with a name no other caller of this server gets; returns the name.
    public func makeDatabase(prefix: String = "t") throws -> String {
        let n = lock.withLock { () -> Int in databaseCounter += 1; return databaseCounter }
        let name = "\(prefix)_\(getpid())_\(n)"
        try createDatabase(name)
        return name
    }

    /// Runs SQL through `psql` (ON_ERROR_STOP, unaligned, tuples only); returns stdout.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres", timeout: Double = 60) throws -> String {
        let r = try Child.run(binDirectory + "/psql", [
            "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", socketDirectory, "-p", String(port),
            "-U", PostgresServer.superuser, "-d", database, "-c", sql,
        ], environment: PostgresServer.environment, timeout: timeout)
        guard r.status == 0 else {
            throw SupportError("psql -c \(sql.prefix(200)) exited \(r.status): \(r.stderr.suffix(1000))")
        }
        return r.stdout
    }

    // MARK: internals

    /// The account initdb and postgres run as when this process is root; nil when not root.
    static let account: (uid: uid_t, gid: gid_t)? = {
        guard geteuid() == 0 else { return nil }
        for name in ["postgres", "nobody"] {
            if let pw = getpwnam(name), pw.pointee.pw_uid != 0 { return (pw.pointee.pw_uid, pw.pointee.pw_gid) }
        }
        return (65534, 65534)
    }()

    func command(_ program: String) -> String {
        PostgresServer.account == nil ? binDirectory + "/" + program : "/usr/bin/setpriv"
    }

    func arguments(_ program: String, _ args: [String]) -> [String] {
        guard let account = PostgresServer.account else { return args }
        return ["--reuid=\(account.uid)", "--regid=\(account.gid)", "--clear-groups", "--",
                binDirectory + "/" + program] + args
    }

    /// A small fixed environment: the test runner's (AUTH_*, PG*) must not reach the server.
    static let environment = ["PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "TZ": "UTC"]

    /// Whether PostgreSQL's server binaries are installed here.
    public static var isInstalled: Bool { findBinDirectory() != nil }

    /// `AUTHGATE_PG_BIN`, else the newest `/usr/lib/postgresql/<major>/bin` holding initdb.
    static func findBinDirectory() -> String? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["AUTHGATE_PG_BIN"], !env.isEmpty {
            return fm.isExecutableFile(atPath: env + "/initdb") ? env : nil
        }
        let root = "/usr/lib/postgresql"
        let versions = ((try? fm.contentsOfDirectory(atPath: root)) ?? []).compactMap { v in Int(v).map { ($0, v) } }
        for (_, v) in versions.sorted(by: { $0.0 > $1.0 }) where fm.isExecutableFile(atPath: "\(root)/\(v)/bin/initdb") {
            return "\(root)/\(v)/bin"
        }
        return nil
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SupportError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw SupportError("bind 127.0.0.1:0: \(String(cString: strerror(errno)))") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    private static func percentEncode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    private static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// The log's text written after byte `offset`.
    private static func tail(_ path: String, from offset: Int) -> String {
        guard let data = FileManager.default.contents(atPath: path), data.count >= offset else { return "" }
        return String(decoding: data[offset...], as: UTF8.self)
    }
}
