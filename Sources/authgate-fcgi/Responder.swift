import AuthCore
import Foundation
import Glibc
import Synchronization

/// Process lifecycle: bind (or inherit) the listeners, start the connection reader and the worker pools, wait for SIGTERM/SIGINT,
/// then stop accepting, let in-flight requests finish and exit within 2 s.
enum Responder {
    /// Worker threads still looping (decremented as each one leaves its loop).
    static let runningThreads = Atomic<Int>(0)
    static let stopping = Atomic<Bool>(false)

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
        var shared = false
        var systemdExtra: [Int32] = []
        do {
            if let inherited = try InheritedSocket.take() {
                listener = Listener.adopt(inherited)
                shared = true
                systemdExtra = inherited.extra
                log.info("authgate-fcgi: using the listening socket passed by \(inherited.source) (\(inherited.path))")
            } else {
                listener = try Listener.bind(path: settings.socketPath, group: settings.socketGroup, backlog: 1024)
            }
        } catch let error as StartupError { fail(error.description) } catch { fail("\(error)") }

        SocketGroupWarning.check(listener: listener, configured: settings.socketGroup, log: log)
        let tcp: TCPListener?
        let limits: TransportLimits
        let doorConfig: HTTPDoorConfig
        let door: HTTPDoorListener.Opened?
        do {
            limits = try TransportLimits.fromEnvironment()
            doorConfig = try HTTPDoorConfig.fromEnvironment()
            tcp = try TCPListener.fromEnvironment(threads: settings.threads, inherited: try TCPListener.inheritedFD(systemdExtra: systemdExtra))
            door = try HTTPDoorListener.open(doorConfig, group: settings.socketGroup, systemdExtra: systemdExtra)
        } catch {
            listener.removeFile()
            fail(error.description)
        }
        /// Our own socket files, removed on a failed start and at the stop.
        let removeFiles = {
            listener.removeFile()
            if let door, !door.shared { door.listener.removeFile() }
        }

        let app: App
        do { app = try App(settings: settings, log: log) } catch {
            removeFiles()
            fail("startup: \(error)")
        }

        let unixQueue = RequestQueue(soft: limits.queueSoftLimit(threads: settings.threads))
        let tcpQueue = tcp.map { RequestQueue(soft: limits.queueSoftLimit(threads: $0.threads)) }
        var listening = [ConnectionReader.Listening(fd: listener.fd, tcp: false, shared: shared)]
        if let tcp { listening.append(ConnectionReader.Listening(fd: tcp.fd, tcp: true, shared: tcp.inherited)) }
        let reader: ConnectionReader
        var doorReaders: [ConnectionReader] = []
        do {
            reader = try ConnectionReader(app: app, limits: limits, door: doorConfig, listeners: listening, unixQueue: unixQueue, tcpQueue: tcpQueue)
            // The HTTP door: its own readers, all accepting from its socket, each answering its
            // connections' verifies itself (ConnectionReader+Door). The first one closes the
            // socket at the stop (unless it is shared); the others only stop accepting.
            if let door {
                for index in 0..<doorConfig.threads {
                    let listening = ConnectionReader.Listening(fd: door.listener.fd, tcp: false, shared: door.shared || index > 0, http: true)
                    doorReaders.append(try ConnectionReader(app: app, limits: limits, door: doorConfig, listeners: [listening],
                                                            unixQueue: unixQueue, tcpQueue: nil, servesDoorInline: true))
                }
            }
        } catch {
            removeFiles()
            fail(error.description)
        }
        let context = WorkerThreadContext(app: app, queue: unixQueue, reader: reader, socketPath: listener.path)
        for index in 0..<settings.threads {
            do { try WorkerThread.start(context) } catch {
                removeFiles()
                fail("cannot start worker thread \(index): \(error)")
            }
        }
        if let tcp, let tcpQueue {
            let tcpContext = WorkerThreadContext(app: app, queue: tcpQueue, reader: reader, socketPath: listener.path)
            for index in 0..<tcp.threads {
                do { try WorkerThread.start(tcpContext) } catch {
                    removeFiles()
                    fail("cannot start TCP worker thread \(index): \(error)")
                }
            }
            log.info("authgate-fcgi: also listening on tcp \(tcp.address) (loopback\(tcp.inherited ? ", inherited" : "")) with \(tcp.threads) threads")
        }
        do {
            try reader.start()
            for doorReader in doorReaders { try doorReader.start() }
        } catch {
            removeFiles()
            fail("cannot start the connection reader: \(error)")
        }
        MaintenanceThread.start(context)
        // Issue 23: the outbox's sender (none without a mail transport: mail waits in the outbox).
        app.mail.startSender(app: app)
        if let door {
            log.info("authgate-fcgi: HTTP verify door on \(door.listener.path)\(door.shared ? " (inherited)" : "") at \(doorConfig.path) with \(doorConfig.threads) threads, original URI from \(doorConfig.uriSource == .original ? "X-Original-URI" : "X-Forwarded-Uri")")
        }
        log.info("authgate-fcgi \(App.version) listening on \(listener.path) with \(settings.threads) threads, profile \(settings.profile.rawValue)")

        var received: Int32 = 0
        var inForce = config
        while true {
            while sigwait(&stopSignals, &received) != 0 {}
            if received == SIGHUP { inForce = reload(app, started: config, current: inForce); continue }
            break
        }
        stop(listener, readers: [reader] + doorReaders, shared: shared, door: door, log: log, signal: received)
    }

    /// Stop: no new connections (a socket we bound is closed and its file removed; a shared one
    /// stays open and untouched, its queued connections are the successor's), requests already
    /// accepted finish (TransportLimits.stopGrace for a partly sent one), exit within 2 s.
    private static func stop(_ listener: Listener, readers: [ConnectionReader], shared: Bool, door: HTTPDoorListener.Opened?,
                             log: Logger, signal: Int32) -> Never {
        stopping.store(true, ordering: .sequentiallyConsistent)
        log.info("authgate-fcgi: signal \(signal), stopping: no new connections, finishing in-flight requests"
            + (shared ? "; the socket stays open for the next process" : ""))
        // The door readers after the first before it (it closes the door's socket; the others
        // must not accept from it by then), the FastCGI reader last.
        for reader in readers.reversed() { reader.stop() }
        if !shared { listener.removeFile() }
        if let door, !door.shared { door.listener.removeFile() }
        let deadline = monotonicMicros() + 1_800_000
        let drained = { readers.allSatisfy { $0.drained.load(ordering: .sequentiallyConsistent) } }
        while !drained() && monotonicMicros() < deadline {
            usleep(2_000)
        }
        if !drained() {
            log.error("authgate-fcgi: requests still in flight after 1.8 s; exiting anyway")
        }
        log.info("authgate-fcgi: stopped")
        exit(0)
    }

    /// CGI mode only still uses libfcgi (FCGX_IsCGI); the FastCGI listeners are served by the
    /// ConnectionReader. Kept for a CGI program that goes on to use libfcgi's defaults.
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
