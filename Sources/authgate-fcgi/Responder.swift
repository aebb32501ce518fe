import AuthCore
import Foundation
import CFastCGI
import Glibc
import Synchronization

/// Process lifecycle: configure libfcgi, bind, start the worker pool, wait for SIGTERM/SIGINT,
/// then stop accepting, let in-flight requests finish and exit within 2 s.
enum Responder {
    /// Worker threads still looping (decremented as each one leaves its accept loop).
    static let runningThreads = Atomic<Int>(0)
    static let stopping = Atomic<Bool>(false)
    /// The loopback TCP listener's fd (AUTH_LISTEN_TCP), -1 when there is none.
    static let tcpFD = Atomic<Int32>(-1)
    /// Shared-socket mode only: workers accepting or serving a request (see AcceptGate).
    static let busyThreads = Atomic<Int>(0)

    nonisolated static func run() -> Never {
        handleCommandLine(Array(CommandLine.arguments.dropFirst()))
        let settings: Settings
        let config: EffectiveConfig
        do {
            config = try EffectiveConfig(environment: ProcessInfo.processInfo.environment)
            settings = try config.settings()
        } catch { fail("configuration: \(error)") }
        let log = Logger(settings: settings)

        configureLibFCGI()
        // Started by a web server as a CGI program: answer the one request and exit.
        if CGIMode.isCGI() { CGIMode.run(settings: settings, log: log) }
        guard FCGX_Init() == 0 else { fail("FCGX_Init failed") }
        // FCGX_Init replaces SIG_IGN with an empty handler (no SA_RESTART): ignore SIGPIPE again.
        signal(SIGPIPE, SIG_IGN)
        // Every thread inherits this mask; the main thread takes the signals with sigwait
        // (blocked signals stay pending even if a parent left them ignored).
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGHUP)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

        let listener: Listener
        var gate: AcceptGate?
        do {
            if let inherited = try InheritedSocket.take() {
                listener = Listener.adopt(inherited)
                gate = try AcceptGate(listenFD: inherited.fd)
                log.info("authgate-fcgi: using the listening socket passed by \(inherited.source) (\(inherited.path))")
            } else {
                listener = try Listener.bind(path: settings.socketPath, group: settings.socketGroup, backlog: 1024)
            }
        } catch let error as StartupError { fail(error.description) } catch { fail("\(error)") }

        warnAboutSocketGroup(settings.socketGroup, log: log)
        let tcp: TCPListener?
        do { tcp = try TCPListener.fromEnvironment(threads: settings.threads) } catch {
            listener.removeFile()
            fail(error.description)
        }

        let app: App
        do { app = try App(settings: settings, log: log) } catch {
            listener.removeFile()
            fail("startup: \(error)")
        }

        let context = WorkerThreadContext(app: app, listenFD: listener.fd, socketPath: listener.path, gate: gate)
        for index in 0..<settings.threads {
            do { try WorkerThread.start(context) } catch {
                listener.removeFile()
                fail("cannot start worker thread \(index): \(error)")
            }
        }
        if let tcp {
            let tcpContext = WorkerThreadContext(app: app, listenFD: tcp.fd, socketPath: listener.path)
            for index in 0..<tcp.threads {
                do { try WorkerThread.start(tcpContext) } catch {
                    listener.removeFile()
                    fail("cannot start TCP worker thread \(index): \(error)")
                }
            }
            tcpFD.store(tcp.fd, ordering: .sequentiallyConsistent)
            log.info("authgate-fcgi: also listening on tcp \(tcp.address) (loopback) with \(tcp.threads) threads")
        }
        MaintenanceThread.start(context)
        log.info("authgate-fcgi \(App.version) listening on \(listener.path) with \(settings.threads) threads, profile \(settings.profile.rawValue)")

        var received: Int32 = 0
        var inForce = config
        while true {
            while sigwait(&stopSignals, &received) != 0 {}
            if received == SIGHUP { inForce = reload(app, started: config, current: inForce); continue }
            break
        }
        if let gate { stopShared(gate, log: log, signal: received) }
        stop(listener, log: log, signal: received, stopSignals: stopSignals)
    }

    /// Anyone else in the socket's group can bypass nginx: say so at every start.
    private static func warnAboutSocketGroup(_ group: String?, log: Logger) {
        guard let group else { return }
        let env = ProcessInfo.processInfo.environment
        let nginxUser = env["AUTH_NGINX_USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "www-data"
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        if let warning = SocketGroupAudit.warning(group: group, nginxUser: nginxUser,
                                                  groupFile: read("/etc/group"), passwdFile: read("/etc/passwd")) {
            log.warning(warning)
        }
    }

    private static func stop(_ listener: Listener, log: Logger, signal: Int32, stopSignals: sigset_t) -> Never {
        stopping.store(true, ordering: .sequentiallyConsistent)
        log.info("authgate-fcgi: signal \(signal), stopping: no new connections, finishing in-flight requests")
        // Wakes every thread blocked in accept(); FCGX_Accept_r then returns an error.
        shutdown(listener.fd, Int32(SHUT_RDWR))
        let tcp = tcpFD.load(ordering: .sequentiallyConsistent)
        if tcp >= 0 { shutdown(tcp, Int32(SHUT_RDWR)) }
        listener.removeFile()
        let deadline = monotonicMicros() + 1_800_000
        while runningThreads.load(ordering: .sequentiallyConsistent) > 0 && monotonicMicros() < deadline {
            usleep(5_000)
        }
        let left = runningThreads.load(ordering: .sequentiallyConsistent)
        if left > 0 { log.error("authgate-fcgi: \(left) thread(s) still busy after 1.8 s; exiting anyway") }
        log.info("authgate-fcgi: stopped")
        exit(0)
    }

    /// libfcgi waits up to 2 s for the first bytes of an accepted Unix connection and up to
    /// 2 s for the peer's close after answering. Short polls keep a silent client from holding
    /// a thread and make shutdown quick; the close poll is safe at 0 because every request's
    /// stdin is read to EOF before it finishes. Both are milliseconds, read by FCGX_Init.
    private static func configureLibFCGI() {
        setenv("LIBFCGI_IS_AF_UNIX_KEEPER_POLL_TIMEOUT", "100", 0)
        setenv("LIBFCGI_OS_CLOSE_POLL_TIMEOUT", "0", 0)
    }

    static func fail(_ message: String) -> Never {
        let line = Array("authgate-fcgi: \(message)\n".utf8)
        line.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
        exit(1)
    }
}

func monotonicMicros() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1_000_000 + ts.tv_nsec / 1000
}
