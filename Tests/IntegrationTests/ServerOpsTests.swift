import AuthCrypto
import Foundation
import Synchronization
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 12: restarts that lose nothing (socket activation, --hold-socket), SIGHUP, config file,
/// non-root service set-up, key-ring problems in health, CLI conventions.
@Suite struct ServerOpsTests {
    /// systemctl restart with authgate.socket, without systemd: the test holds the socket and hands
    /// it (sd_listen_fds: fd 3, LISTEN_PID, LISTEN_FDS) to a fresh responder three times while a
    /// client sends verifies in a loop. Connections made between two processes wait in the backlog.
    @Test func restartWithAnInheritedSocketLosesNoRequest() throws {
        let world = try OpsWorld()
        let fd = try world.bindHeldSocket()
        defer { close(fd) }
        let first = try world.startActivated(fd: fd)
        try world.waitServing(first)
        let current = Mutex<Child>(first)
        let load = VerifyLoad()
        try load.during(world) {
            for round in 1...3 {
                let old = current.withLock { $0 }
                old.signal(SIGTERM)
                let next = try world.startActivated(fd: fd)
                #expect(try old.wait(timeout: 10, for: "responder \(round) to stop") == 0)
                current.withLock { $0 = next }
                let before = load.sent.load(ordering: .relaxed)
                try waitFor("requests answered by responder \(round + 1)", timeout: 20) { load.sent.load(ordering: .relaxed) > before + 20 }
            }
        }
        _ = current.withLock { $0 }.stop()
        print("restart under load (inherited socket, 3 restarts): sent \(load.sent.load(ordering: .relaxed)), failed \(load.failed.load(ordering: .relaxed))")
        #expect(load.failed.load(ordering: .relaxed) == 0, "failed answers: \(load.failures.prefix(10))")
        #expect(world.log().contains("passed by systemd"))
        #expect(FileManager.default.fileExists(atPath: world.socketPath), "the socket file belongs to its holder")
    }

    /// The companion takes its socket from systemd too, and leaves the file to its owner on stop.
    @Test func companionAcceptsAnInheritedSocket() throws {
        let world = try OpsWorld()
        let path = world.path + "/authgate-ws.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var addr = UnixSocket.address(path)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0 && listen(fd, 64) == 0)
        var env = world.environment
        env["AUTH_WS_UPSTREAM"] = "unix:" + world.path + "/none.sock"
        let log = world.path + "/ws.log"
        let ws = try Child.spawn("/bin/sh", ["-c", "exec 3<&0 0</dev/null; LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\"",
                                             try Binaries.require("authgate-ws")],
                                 environment: env, stdout: log, stderr: log, descriptors: [0: fd])
        try waitFor("the companion to use the inherited socket", timeout: 20) {
            guard ws.isRunning else { throw SupportError("authgate-ws exited: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")") }
            return ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("passed by systemd")
        }
        // An unknown path answers 404 before any upgrade: the companion serves the passed socket.
        let client = try UnixSocket(path: path)
        try client.send(Array("GET /nope HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".utf8))
        #expect(String(decoding: client.receiveAll().bytes, as: UTF8.self).hasPrefix("HTTP/1.1 4"))
        #expect(ws.stop() == 0)
        #expect(FileManager.default.fileExists(atPath: path), "the socket file belongs to systemd")
    }

    /// `authgate-fcgi --hold-socket` (what make run uses): a responder that stops or crashes is
    /// started again on the same socket; SIGTERM to the holder stops both and removes the file.
    @Test func holdSocketRestartsTheResponderWithoutRefusingConnections() throws {
        let world = try OpsWorld()
        let holder = try world.start(["--hold-socket"])
        defer { _ = holder.stop() }
        try world.waitServing(holder)
        let load = VerifyLoad()
        let killed = Atomic<Int>(0)
        try load.during(world) {
            for sig in [SIGTERM, SIGTERM, SIGKILL] {
                let child = try #require(onlyChild(of: holder.pid))
                kill(child, sig)
                if sig == SIGKILL { killed.add(1, ordering: .relaxed) }
                try waitFor("a new responder after signal \(sig)", timeout: 20) {
                    guard let now = onlyChild(of: holder.pid), now != child else { return false }
                    return world.health().status == 200
                }
            }
        }
        print("restart under load (--hold-socket, 2 SIGTERM + 1 SIGKILL): sent \(load.sent.load(ordering: .relaxed)), failed \(load.failed.load(ordering: .relaxed))")
        // A SIGKILL can cut the one request in flight; a stop loses none.
        #expect(load.failed.load(ordering: .relaxed) <= killed.load(ordering: .relaxed), "failed answers: \(load.failures.prefix(10))")
        // Two clean stops are info lines, the one SIGKILL is the only crash line.
        let lines = world.log().split(separator: "\n")
        let clean = lines.filter { $0.contains("stopped cleanly (exit status 0); starting a new one") }
        let crashes = lines.filter { $0.contains("!!!") }
        #expect(clean.count == 2 && clean.allSatisfy { $0.contains(" info: ") }, "\(clean)")
        #expect(crashes.count == 1 && crashes[0].contains("crashed or failed (signal 9); restarting it") && crashes[0].contains(" error: "), "\(crashes)")
        #expect(holder.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: world.socketPath))
    }

    /// SIGHUP re-reads the config file and the key ring and never kills the responder (nor the
    /// companion); a bad config file is logged and the running one kept; no verify fails meanwhile.
    @Test func sighupReloadsAndNeverStopsEitherDaemon() throws {
        let world = try OpsWorld()
        let responder = try world.start()
        defer { _ = responder.stop() }
        try world.waitServing(responder)
        let load = VerifyLoad()
        let kids = Mutex<[String]>([])
        try load.during(world) {
            for round in 0..<3 {
                let kid = try KeyRing.rotate(path: world.keysPath)
                kids.withLock { $0.append(kid) }
                if round == 1 { try "AUTH_LOCKOUT_THRESHOLD=many\n".write(toFile: world.configPath, atomically: true, encoding: .utf8) }
                if round == 2 { try "AUTH_LOCKOUT_SECONDS=60\nAUTH_HASH_QUEUE=5\n".write(toFile: world.configPath, atomically: true, encoding: .utf8) }
                responder.signal(SIGHUP)
                try waitFor("the reload log line for \(kid)", timeout: 10) { world.log().contains("signing kid \(kid)") }
            }
        }
        #expect(responder.isRunning)
        #expect(load.failed.load(ordering: .relaxed) == 0, "failed answers: \(load.failures.prefix(10))")
        print("reload under load (3 SIGHUPs): sent \(load.sent.load(ordering: .relaxed)), failed \(load.failed.load(ordering: .relaxed))")
        let log = world.log()
        #expect(log.contains("authgate.conf:1: AUTH_LOCKOUT_THRESHOLD must be a non-negative integer"))
        #expect(log.contains("keeping the running one"))
        #expect(log.contains("SIGHUP: applied AUTH_LOCKOUT_SECONDS"))
        #expect(log.contains("changed in the configuration but NOT applied: AUTH_HASH_QUEUE; they need a restart"))

        var env = world.environment
        env["AUTH_WS_UPSTREAM"] = "unix:" + world.path + "/none.sock"
        let wsLog = world.path + "/ws.log"
        let ws = try Child.spawn(try Binaries.require("authgate-ws"), [], environment: env, stdout: wsLog, stderr: wsLog)
        defer { _ = ws.stop() }
        try waitFor("the companion to listen", timeout: 20) {
            guard ws.isRunning else { throw SupportError("authgate-ws exited") }
            return UnixSocket.canConnect(world.path + "/authgate-ws.sock")
        }
        let kid = try KeyRing.rotate(path: world.keysPath)
        // The companion applies the log format live and names what it does not apply.
        try "AUTH_LOCKOUT_SECONDS=60\nAUTH_HASH_QUEUE=5\nAUTH_LOG_FORMAT=json\nAUTH_MAX_BODY=1000\n".write(toFile: world.configPath, atomically: true, encoding: .utf8)
        ws.signal(SIGHUP)
        try waitFor("the companion's reload line", timeout: 10) {
            ((try? String(contentsOfFile: wsLog, encoding: .utf8)) ?? "").contains("signing kid \(kid)")
        }
        #expect(ws.isRunning && UnixSocket.canConnect(world.path + "/authgate-ws.sock"))
        let wsLines = ((try? String(contentsOfFile: wsLog, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(wsLines.contains { $0.hasPrefix("{\"ts\":") && $0.contains("signing kid \(kid)") }, "\(wsLines.suffix(5))")
        #expect(wsLines.contains { $0.contains("NOT applied: AUTH_MAX_BODY; they need a restart of the companion") }, "\(wsLines.suffix(5))")
    }

    /// Unknown keys and bad values in the config file refuse the start with the line number; the
    /// environment wins; `authgate config` says where each value came from.
    @Test func configFileIsCheckedAndTheEnvironmentWins() throws {
        let world = try OpsWorld()
        try "# comment\n\nAUTH_TYPO=1\n".write(toFile: world.configPath, atomically: true, encoding: .utf8)
        let typo = try world.start()
        #expect(try typo.wait(timeout: 10, for: "the responder to refuse the config") == 1)
        #expect(world.log().contains("authgate.conf:3: unknown key 'AUTH_TYPO'"))

        try "AUTH_ISSUER=files.example\nAUTH_LOCKOUT_SECONDS=soon\n".write(toFile: world.configPath, atomically: true, encoding: .utf8)
        let bad = try world.cli(["config"])
        #expect(bad.status == 1 && bad.stderr.contains("authgate.conf:2: AUTH_LOCKOUT_SECONDS must be"), "\(bad.stderr)")
        let envWins = try world.cli(["config"], extra: ["AUTH_LOCKOUT_SECONDS": "60"])
        #expect(envWins.status == 0, "\(envWins.stderr)")
        #expect(envWins.stdout.contains("AUTH_ISSUER=files.example    # \(world.configPath):1"))
        #expect(envWins.stdout.contains("AUTH_LOCKOUT_SECONDS=60    # environment"))
        #expect(envWins.stdout.contains("AUTH_MIN_PASSWORD_LENGTH=12    # default"))
        let missing = try world.cli(["config"], extra: ["AUTH_CONFIG": world.path + "/nope.conf"])
        #expect(missing.status == 1 && missing.stderr.contains("does not exist"))
    }

    /// Global options before or after the command, help everywhere, --version on every binary.
    @Test func cliConventions() throws {
        let world = try OpsWorld()
        #expect(try world.cli(["--db", world.dbPath, "init"]).status == 0)
        let before = try world.cli(["--json", "--db", world.dbPath, "tenant", "list"])
        #expect(before.status == 0 && before.stdout.contains("platform.local"), "\(before.stderr)")
        let after = try world.cli(["tenant", "list", "--db", world.dbPath, "--json"])
        #expect(after.stdout == before.stdout)
        let help = try world.cli(["help", "user", "create"])
        #expect(help.status == 0 && help.stdout.contains("usage: authgate user create"))
        #expect(try world.cli(["user", "create", "--help"]).stdout == help.stdout)
        #expect(try world.cli(["user", "--help"]).stdout.contains("user set-role"))
        #expect(try world.cli(["nonsense"]).status == 2)
        for bin in ["authgate", "authgate-fcgi", "authgate-ws"] {
            let v = try Child.run(try Binaries.require(bin), ["--version"], environment: world.environment, timeout: 20)
            #expect(v.status == 0 && v.stdout.hasPrefix("\(bin) "), "\(bin) --version: \(v.stderr)")
        }
        for bin in ["authgate-fcgi", "authgate-ws"] {
            let h = try Child.run(try Binaries.require(bin), ["--help"], environment: world.environment, timeout: 20)
            #expect(h.status == 0 && h.stdout.contains("usage: \(bin)"))
            #expect(try Child.run(try Binaries.require(bin), ["--bogus"], environment: world.environment, timeout: 20).status == 2)
        }
        #expect(!FileManager.default.fileExists(atPath: world.socketPath), "--help must not bind")
    }

    /// /api/v1/ready is 503 while the database cannot take a write: here another connection
    /// holds the write lock (BEGIN IMMEDIATE) past the 5 s busy handler, which works as root too
    /// (a chmod does not stop root, and the responder's open descriptors outlive any chmod); a
    /// chmod as the service user is ServerOpsUserTests.readyFailsWhenTheServiceUserCannotWrite.
    /// /api/v1/health stays 200 meanwhile (it only reads).
    @Test func readyFailsWhileAnotherConnectionHoldsTheWriteLock() throws {
        let world = try OpsWorld()
        let responder = try world.start()
        defer { _ = responder.stop() }
        try world.waitServing(responder)
        let release = world.path + "/release"
        let holderLog = world.path + "/locker.log"
        let locker = try Child.spawn("/usr/bin/python3", ["-c", """
            import os, sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
            c.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            end = time.monotonic() + 120
            while not os.path.exists(sys.argv[2]) and time.monotonic() < end:
                time.sleep(0.05)
            c.execute("ROLLBACK")
            """, world.dbPath, release], environment: world.environment, stdout: holderLog, stderr: holderLog)
        defer { _ = locker.stop() }
        try waitFor("the other connection to hold the write lock", timeout: 20) {
            guard locker.isRunning else { throw SupportError("locker exited: \((try? String(contentsOfFile: holderLog, encoding: .utf8)) ?? "")") }
            return ((try? String(contentsOfFile: holderLog, encoding: .utf8)) ?? "").contains("locked")
        }
        let locked = try FastCGIWire.exchange(world.socketPath, FastCGIWire.request(uri: "/api/v1/ready"), timeout: 20)
        #expect(locked.status == 503, "\(locked.text)")
        // The public answer names what fails; the path and the error are for the log only.
        #expect(locked.text.contains("\"status\":\"not_ready\",\"problems\":[\"database\"]"), "\(locked.text)")
        #expect(!locked.text.contains(world.path) && !locked.text.contains("locked"), "\(locked.text)")
        #expect(world.log().contains("readiness: database \(world.dbPath) is not writable"), "\(world.log().suffix(800))")
        #expect(world.health().status == 200, "health only reads")
        try "".write(toFile: release, atomically: false, encoding: .utf8)
        #expect(try locker.wait(timeout: 20, for: "the locker to roll back") == 0)
        // The 503 answers for up to a second (ProbeCache), then the next check finds it writable.
        try waitFor("ready to answer 200 again", timeout: 10) {
            try FastCGIWire.exchange(world.socketPath, FastCGIWire.request(uri: "/api/v1/ready")).status == 200
        }
    }

    /// A key ring the responder can no longer load is logged loudly and fails /api/v1/health
    /// until fixed; /api/v1/ready answers 200 on a writable database.
    @Test func anUnloadableKeyRingShowsInHealth() throws {
        let world = try OpsWorld()
        let responder = try world.start()
        defer { _ = responder.stop() }
        try world.waitServing(responder)
        let ready = try FastCGIWire.exchange(world.socketPath, FastCGIWire.request(uri: "/api/v1/ready"))
        #expect(ready.status == 200, "\(ready.text)")
        chmod(world.keysPath, 0o644)
        try waitFor("health to fail on the key ring", timeout: 10) { world.health().status == 503 }
        let health = world.health().text
        #expect(health.contains("\"key_ring\":{\"ok\":false"), "\(health)")
        #expect(!health.contains(world.keysPath) && !health.contains("0644") && !health.contains("uid"), "\(health)")
        #expect(world.log().contains("KEY RING NOT LOADED"))
        try waitFor("ready to fail on the key ring", timeout: 10) {
            try FastCGIWire.exchange(world.socketPath, FastCGIWire.request(uri: "/api/v1/ready")).status == 503
        }
        let ready503 = try FastCGIWire.exchange(world.socketPath, FastCGIWire.request(uri: "/api/v1/ready")).text
        #expect(ready503.contains("[\"key_ring\"]") && !ready503.contains(world.keysPath), "\(ready503)")
        chmod(world.keysPath, 0o600)
        try waitFor("health to recover", timeout: 10) { world.health().status == 200 }
    }
}
