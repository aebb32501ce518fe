import AuthCrypto
import Foundation
import Synchronization
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A responder set-up without nginx for the server-operation tests (issue 12): a temp dir
/// (0755, so a non-root user can be given parts of it), a key ring, an empty config file.
final class OpsWorld: @unchecked Sendable {
    let dir: TempDir
    var path: String { dir.path }
    var socketPath: String { path + "/authgate.sock" }
    var dbPath: String { path + "/authgate.db" }
    var keysPath: String { path + "/keys" }
    var configPath: String { path + "/authgate.conf" }
    var logPath: String { path + "/responder.log" }

    init() throws {
        dir = try TempDir("authgate-ops")
        chmod(path, 0o755)
        try "".write(toFile: configPath, atomically: false, encoding: .utf8)
        _ = try KeyRing.rotate(path: keysPath)
    }

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AUTH_") && !$0.key.hasPrefix("LISTEN_") }
        env["AUTH_CONFIG"] = configPath
        env["AUTH_DB_PATH"] = dbPath
        env["AUTH_KEYS_FILE"] = keysPath
        env["AUTH_SOCKET"] = socketPath
        env["AUTH_WS_SOCKET"] = path + "/authgate-ws.sock"
        env["AUTH_SCRYPT"] = "ln=4,r=8,p=1"
        env["AUTH_THREADS"] = "8"
        return env
    }

    func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The responder with `fd` as its inherited socket, by the real sd_listen_fds protocol:
    /// fd 3, LISTEN_FDS=1 and LISTEN_PID set to the responder's own pid (by `sh -c '... exec'`).
    /// Child closes every fd ≥ 3 after its dup2s, so the socket travels as stdin and sh moves it.
    func startActivated(fd: Int32, extra: [String: String] = [:]) throws -> Child {
        var env = environment
        for (k, v) in extra { env[k] = v }
        let bin = try Binaries.require("authgate-fcgi")
        return try Child.spawn("/bin/sh", ["-c", "exec 3<&0 0</dev/null; LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\"", bin],
                               environment: env, stdout: logPath, stderr: logPath, descriptors: [0: fd])
    }

    func start(_ args: [String] = [], extra: [String: String] = [:]) throws -> Child {
        var env = environment
        for (k, v) in extra { env[k] = v }
        return try Child.spawn(try Binaries.require("authgate-fcgi"), args, environment: env, stdout: logPath, stderr: logPath)
    }

    func cli(_ args: [String], extra: [String: String] = [:], stdin: String? = nil) throws -> ChildOutput {
        var env = environment
        for (k, v) in extra { env[k] = v }
        return try Child.run(try Binaries.require("authgate"), args, environment: env, stdin: stdin, timeout: 60)
    }

    /// A FastCGI verify with no credential (the answer is 401) or a health request; 0 when none came.
    func verify() -> Int {
        (try? FastCGIWire.exchange(socketPath, FastCGIWire.request(uri: "/app/x?y=1", extra: [("AUTH_VERIFY", "1")])).status) ?? 0
    }

    func health() -> (status: Int, text: String) {
        (try? FastCGIWire.exchange(socketPath, FastCGIWire.request(uri: "/api/v1/health"))) ?? (0, "")
    }

    func waitServing(_ child: Child) throws {
        try waitFor("the responder to answer on \(socketPath)", timeout: 20) {
            guard child.isRunning else { throw SupportError("responder exited: \(log().suffix(1500))") }
            return health().status == 200
        }
    }

    /// A listening socket bound by the test, as systemd's authgate.socket would hold it.
    func bindHeldSocket() throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SupportError("socket: \(String(cString: strerror(errno)))") }
        var addr = UnixSocket.address(socketPath)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0, listen(fd, 1024) == 0 else { throw SupportError("bind/listen \(socketPath): \(String(cString: strerror(errno)))") }
        return fd
    }
}

/// Sends verify requests one after another on fresh connections until stopped; counts answers.
final class VerifyLoad: @unchecked Sendable {
    let sent = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let stop = Atomic<Bool>(false)
    private(set) var failures: [Int] = []
    private let lock = NSLock()

    func run(_ world: OpsWorld) {
        while !stop.load(ordering: .relaxed) {
            let status = world.verify()
            sent.add(1, ordering: .relaxed)
            if status != 401 {
                failed.add(1, ordering: .relaxed)
                lock.withLock { failures.append(status) }
            }
        }
    }

    /// Runs `body` on one thread while this load runs on another; returns when both are done.
    func during(_ world: OpsWorld, _ body: @escaping @Sendable () throws -> Void) throws {
        let results = try onThreads(2, timeout: 120) { index in
            if index == 0 { self.run(world); return }
            defer { self.stop.store(true, ordering: .relaxed) }
            try waitFor("the load to start", timeout: 10) { self.sent.load(ordering: .relaxed) > 20 }
            try body()
        }
        for r in results { try r.get() }
    }
}

/// The pid of a process's only child (from /proc), for the holder tests.
func onlyChild(of pid: pid_t) -> pid_t? {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
    return text.split(separator: " ").first.flatMap { pid_t($0) }
}
