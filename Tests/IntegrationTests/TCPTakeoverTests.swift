import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 19 item 3 / review finding 1: Apache trusts whoever listens on the loopback TCP port.
/// The port is held across responder restarts (`--hold-socket` here, authgate.socket's
/// `ListenStream=` under systemd), so a local user looping bind() on it never gets it.
@Suite("Apache TCP port: no takeover during restarts")
struct TCPTakeoverTests {
    /// The review's squatter (Python, as `nobody` when the test runs as root): loops bind() on
    /// the port and answers any request as the authorizer with a forged platform_admin. With
    /// SO_REUSEADDR, as a real attacker would: without it the TIME_WAIT connections a restart
    /// leaves on the port keep its bind() failing for a minute.
    static let squatter = """
    import socket, struct, sys, time
    port, log = int(sys.argv[1]), sys.argv[2]
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    while True:
        try:
            s.bind(("127.0.0.1", port)); break
        except OSError:
            time.sleep(0.001)
    open(log, "a").write("bound\\n")
    s.listen(64)
    def rec(t, rid, body): return struct.pack(">BBHHBx", 1, t, rid, len(body), 0) + body
    while True:
        c, _ = s.accept(); d = c.recv(65536)
        open(log, "a").write("request\\n")
        rid = struct.unpack(">H", d[2:4])[0]
        out = b"Status: 200\\r\\nVariable-AUTH_KIND: user\\r\\nVariable-AUTH_USER_ID: forged\\r\\nVariable-AUTH_ROLE: platform_admin\\r\\n\\r\\n"
        c.sendall(rec(6, rid, out) + rec(6, rid, b"") + rec(3, rid, b"\\0" * 8)); c.close()
    """

    /// The responder child of the `--hold-socket` holder, nil while there is none.
    static func child(of holder: pid_t) -> pid_t? {
        let text = (try? String(contentsOfFile: "/proc/\(holder)/task/\(holder)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { pid_t($0) }.first
    }

    @Test func squatterNeverGetsThePortDuringRestarts() throws {
        guard WebServerFixture.available(.apache), FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { return }
        try WebServerFixture.with(.apache, responderArguments: ["--hold-socket"]) { f in
            _ = try GateWorld(f.stack)
            let alice = try f.tokens("alice@demo.local").access
            let holder = try #require(f.stack.responder?.pid)
            let port = try #require(f.stack.options.environment["AUTH_LISTEN_TCP"]?.split(separator: ":").last.map(String.init))
            let dir = try TempDir("authgate-squat")
            chmod(dir.path, 0o777)
            let script = dir.path + "/squat.py", log = dir.path + "/squat.log"
            try Self.squatter.write(toFile: script, atomically: false, encoding: .utf8)
            chmod(script, 0o644)
            let squatter = Stack.isRoot
                ? try Child.spawn("/usr/bin/setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3", script, port, log])
                : try Child.spawn("/usr/bin/python3", [script, port, log])
            defer { _ = squatter.stop(grace: 0.5, signal: SIGKILL) }
            try waitFor("the squatter to run", timeout: 10) { squatter.isRunning && FileManager.default.fileExists(atPath: script) }

            var statuses: [Int: Int] = [:]
            var restarted = 0
            for _ in 0..<3 {
                guard let old = Self.child(of: holder) else {
                    Issue.record("no responder child under the holder (it gave up?): \(f.stack.log("authgate-fcgi").suffix(600))")
                    break
                }
                kill(old, SIGTERM)
                // Requests with no token all through the restart, until a new responder answers
                // Apache's gate (20 s at most): never a 200.
                let deadline = Date().addingTimeInterval(20)
                while Date() < deadline {
                    let status = (try? f.get("/u/echo.sh", timeout: 5).status) ?? 0
                    statuses[status, default: 0] += 1
                    if let now = Self.child(of: holder), now != old, status == 401 { restarted += 1; break }
                }
            }
            print("squatterNeverGetsThePortDuringRestarts: 3 restarts, statuses of token-less requests meanwhile: \(statuses.sorted { $0.key < $1.key })")
            #expect(statuses[200] == nil, "Apache let a token-less request through: \(statuses)")
            #expect(restarted == 3, "a restarted responder did not take over Apache's gate within 20 s: \(statuses)")
            let squatLog = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(squatLog.isEmpty, "the squatter got the port: \(squatLog)")
            #expect(try f.get("/u/echo.sh", token: alice).status == 200)
        }
    }

    /// A loopback TCP listening socket bound by the test, as authgate.socket's second
    /// `ListenStream=127.0.0.1:PORT` would hold it; returns (fd, port).
    static func bindHeldTCP() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StackError("socket failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && listen(fd, 128) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard ok else { close(fd); throw StackError("bind/listen 127.0.0.1: errno \(errno)") }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    /// systemd's way: the Unix socket as fd 3 and the TCP one as fd 4 (LISTEN_FDS=2). The
    /// responder adopts the TCP socket instead of binding; while it is down the port stays bound
    /// (a squatter's bind fails) and a connection made then is answered by the next responder.
    @Test func systemdPassedTCPSocketIsAdoptedAndHeldAcrossRestarts() throws {
        let world = try OpsWorld()
        let unix = try world.bindHeldSocket()
        defer { close(unix) }
        let (tcp, port) = try Self.bindHeldTCP()
        defer { close(tcp) }
        var env = world.environment
        env["AUTH_LISTEN_TCP"] = "127.0.0.1:\(port)"
        let bin = try Binaries.require("authgate-fcgi")
        func start() throws -> Child {
            try Child.spawn("/bin/sh", ["-c", "exec 3<&0 4<&1 0</dev/null 1>&2; LISTEN_PID=$$ LISTEN_FDS=2 exec \"$0\"", bin],
                            environment: env, stdout: world.logPath, stderr: world.logPath, descriptors: [0: unix, 1: tcp])
        }
        func authorize(_ fd: Int32) throws -> String {
            try PlainHTTP.sendAll(fd, SlowClients.authorizerRequest(uri: "/app/page", authorization: nil))
            return FastCGIWire.stdout(of: try PlainHTTP.readAll(fd))
        }
        let first = try start()
        try world.waitServing(first)
        #expect(world.log().contains("also listening on tcp 127.0.0.1:\(port) (loopback, inherited)"), "\(world.log().suffix(1500))")
        let direct = HeldTCP(fd: try PlainHTTP.connect(port: port, timeout: 10))
        #expect(try authorize(direct.fd).hasPrefix("Status: 401"))
        first.signal(SIGTERM)
        #expect(try first.wait(timeout: 5, for: "the responder to stop") == 0)

        // Down: the port is still bound, by the holder (here the test, as systemd would).
        let squat = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(squat, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let squatted = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(squat, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        close(squat)
        #expect(squatted != 0, "a squatter could bind the port while the responder was down")
        let waiting = HeldTCP(fd: try PlainHTTP.connect(port: port, timeout: 20))   // queued in the backlog
        try PlainHTTP.sendAll(waiting.fd, SlowClients.authorizerRequest(uri: "/app/page", authorization: nil))
        let second = try start()
        defer { _ = second.stop() }
        let answer = FastCGIWire.stdout(of: try PlainHTTP.readAll(waiting.fd))
        #expect(answer.hasPrefix("Status: 401"), "the connection made during the restart: '\(answer.prefix(120))'")
    }
}
