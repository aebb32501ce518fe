import AuthCore
import Foundation
import Glibc

/// `authgate-fcgi --hold-socket`: what systemd's authgate.socket does, for `make run` and hosts
/// without systemd. Binds AUTH_SOCKET once and runs the responder as a child that inherits it
/// (`AUTHGATE_LISTEN_FD=3`); when the child exits it is started again, and nginx's connections
/// wait in the socket's backlog meanwhile instead of failing with 502. With AUTH_LISTEN_TCP it
/// holds the loopback TCP port the same way (`AUTHGATE_LISTEN_TCP_FD=4`): the port is never
/// free between two children, so no other local user can bind it and answer Apache as the
/// authorizer (review finding 1). With AUTH_VERIFY_HTTP_SOCKET it holds the HTTP verify door's
/// socket too (`AUTHGATE_LISTEN_HTTP_FD=5`). SIGTERM/SIGINT stop the child and then the holder (which
/// removes the socket file); SIGHUP is passed to the child.
enum SocketHolder {
    nonisolated static func run() -> Never {
        let log: Logger
        let settings: Settings
        do { settings = try Settings.load() } catch { Responder.fail("configuration: \(error)") }
        log = Logger(settings: settings)
        var signals = sigset_t()
        sigemptyset(&signals)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&signals, s) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let listener: Listener
        do { listener = try Listener.bind(path: settings.socketPath, group: settings.socketGroup, backlog: 1024) } catch {
            Responder.fail(error.description)
        }
        // Keep the sockets away from fds 3 and 4, which the child gets them as.
        let held = fcntl(listener.fd, F_DUPFD_CLOEXEC, 10)
        guard held >= 0 else { Responder.fail("dup: \(errnoText())") }
        close(listener.fd)
        var heldTCP: Int32 = -1
        if let spec = ProcessInfo.processInfo.environment["AUTH_LISTEN_TCP"], !spec.isEmpty {
            let tcp: TCPListener
            do { tcp = try TCPListener.bind(spec, threads: 1) } catch {
                listener.removeFile()
                Responder.fail(error.description)
            }
            heldTCP = fcntl(tcp.fd, F_DUPFD_CLOEXEC, 10)
            guard heldTCP >= 0 else { listener.removeFile(); Responder.fail("dup: \(errnoText())") }
            close(tcp.fd)
            log.info("authgate-fcgi --hold-socket: holding tcp \(spec) too")
        }
        var heldDoor: Int32 = -1
        var doorListener: Listener?
        do throws(StartupError) {
            let door = try HTTPDoorConfig.fromEnvironment()
            if !door.socketPath.isEmpty {
                let bound = try HTTPDoorListener.bind(door, group: settings.socketGroup)
                heldDoor = fcntl(bound.fd, F_DUPFD_CLOEXEC, 10)
                close(bound.fd)
                doorListener = bound
                guard heldDoor >= 0 else { throw StartupError("dup: \(errnoText())") }
                log.info("authgate-fcgi --hold-socket: holding the HTTP verify door \(door.socketPath) too")
            }
        } catch {
            listener.removeFile()
            doorListener?.removeFile()
            Responder.fail(error.description)
        }
        let removeFiles = {
            listener.removeFile()
            doorListener?.removeFile()
        }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        log.info("authgate-fcgi --hold-socket: holding \(listener.path); starting the responder")

        var child = spawn(exe, fd: held, tcp: heldTCP, door: heldDoor, log: log)
        var quickExits = 0
        var startedAt = monotonicMicros()
        var received: Int32 = 0
        while true {
            while sigwait(&signals, &received) != 0 {}
            switch received {
            case SIGHUP:
                if child > 0 { kill(child, SIGHUP) }
            case SIGCHLD:
                var status: Int32 = 0
                while true {
                    let pid = waitpid(-1, &status, WNOHANG)
                    if pid <= 0 { break }
                    guard pid == child else { continue }
                    child = -1
                    if status == 0 {
                        // exit(0): a deliberate stop (SIGTERM to the responder, e.g. to restart it
                        // after an upgrade), not a crash.
                        log.info("authgate-fcgi --hold-socket: the responder (pid \(pid)) stopped cleanly (exit status 0); starting a new one, connections wait in the backlog")
                    } else {
                        log.error("authgate-fcgi --hold-socket: !!! the responder (pid \(pid)) crashed or failed (\(describe(status))); restarting it, connections wait in the backlog")
                    }
                    quickExits = monotonicMicros() - startedAt < 5_000_000 ? quickExits + 1 : 0
                    if quickExits >= 5 {
                        log.error("authgate-fcgi --hold-socket: the responder keeps exiting at start; giving up")
                        removeFiles()
                        exit(1)
                    }
                    usleep(quickExits == 0 ? 0 : 200_000)
                    startedAt = monotonicMicros()
                    child = spawn(exe, fd: held, tcp: heldTCP, door: heldDoor, log: log)
                }
            default:   // SIGTERM, SIGINT
                log.info("authgate-fcgi --hold-socket: signal \(received): stopping the responder")
                if child > 0 {
                    kill(child, SIGTERM)
                    let deadline = monotonicMicros() + 3_000_000
                    var status: Int32 = 0
                    while waitpid(child, &status, WNOHANG) == 0 {
                        if monotonicMicros() > deadline { kill(child, SIGKILL); waitpid(child, &status, 0); break }
                        usleep(5_000)
                    }
                }
                removeFiles()
                exit(0)
            }
        }
    }

    private static func spawn(_ exe: String, fd: Int32, tcp: Int32, door: Int32, log: Logger) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fd, 3)
        if tcp >= 0 { posix_spawn_file_actions_adddup2(&actions, tcp, 4) }
        if door >= 0 { posix_spawn_file_actions_adddup2(&actions, door, 5) }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        var env = ProcessInfo.processInfo.environment
        env["AUTHGATE_LISTEN_FD"] = "3"
        if tcp >= 0 { env["AUTHGATE_LISTEN_TCP_FD"] = "4" }
        if door >= 0 { env["AUTHGATE_LISTEN_HTTP_FD"] = "5" }
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(exe), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, exe, &actions, &attr, argv, envp)
        if rc != 0 {
            log.error("authgate-fcgi --hold-socket: cannot start \(exe): \(String(cString: strerror(rc)))")
            return -1
        }
        return pid
    }

    private static func describe(_ status: Int32) -> String {
        let sig = status & 0x7f
        return sig == 0 ? "exit status \((status >> 8) & 0xff)" : "signal \(sig)"
    }
}
