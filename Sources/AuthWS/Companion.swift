import AuthCore
import AuthCrypto
import CEpoll
#if canImport(Glibc)
import Glibc
#endif

/// The WebSocket companion: one thread, one epoll loop, every connection a small state machine.
public final class Companion {
    static let handshakeMillis: Int64 = 10_000
    static let closingMillis: Int64 = 1_000
    static let tickMillis = 200

    let settings: Settings
    let routes: RouteTable
    let logger: Logger
    let auth: Authorizer
    let loop: EventLoop
    var listenFD: Int32 = -1
    var listenPaused = false
    /// Connections indexed by both of their fds.
    var byFD: [Connection?] = []
    var connections: [ObjectIdentifier: Connection] = [:]
    var stopping = false
    /// The socket was passed by systemd or a launcher: its file is not ours to unlink.
    var inheritedSocket = false
    /// `AUTH_WS_METRICS_SOCKET`: a second socket answering every HTTP request with the metrics.
    var metricsSocketPath: String?
    var metricsFD: Int32 = -1
    /// The metrics socket was bound here (not passed): unlinked on stop.
    var ownsMetricsSocket = false
    /// Relayed connections closed, by close code ("1000", "4001", …, "abnormal").
    var closesByCode: [String: Int] = [:]
    /// What SIGHUP does (CompanionMain sets it: re-read the config, reload the key ring).
    var onReload: (() -> Void)?
    var stopDeadline: Int64 = 0
    /// Shared read buffer: per-connection memory stays small while idle.
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    public init(settings: Settings, routes: RouteTable, logger: Logger) throws {
        self.settings = settings
        self.routes = routes
        self.logger = logger
        auth = try Authorizer(settings: settings, log: logger)
        loop = try EventLoop(tickMillis: Self.tickMillis)
    }

    deinit { scratch.deallocate() }

    /// Listens on `settings.wsSocketPath` and serves until SIGTERM/SIGINT.
    public func run() throws {
        authgate_ignore_sigpipe()
        try loop.watchTerminationSignals()
        let limit = UnixListener.raiseFileLimit()
        if let inherited = try InheritedSocket.take() {
            listenFD = inherited.fd
            inheritedSocket = true
            guard authgate_set_nonblocking(listenFD) == 0 else { throw ListenerError("O_NONBLOCK on the inherited socket failed") }
            logger.info("authgate-ws: using the listening socket passed by \(inherited.source) (\(inherited.path))")
            // authgate-ws.socket's second ListenStream: the metrics socket, owned by systemd too
            // (same group as the main socket, so nginx's /api/v1/ws-metrics location reaches it).
            if let metrics = inherited.extra.first {
                guard authgate_set_nonblocking(metrics) == 0 else { throw ListenerError("O_NONBLOCK on the inherited metrics socket failed") }
                metricsFD = metrics
                logger.info("authgate-ws: serving metrics on the second socket passed by \(inherited.source)")
            }
        } else {
            listenFD = try UnixListener.bind(path: settings.wsSocketPath, mode: 0o660, group: settings.socketGroup)
        }
        try loop.add(listenFD, EventLoop.readable)
        if metricsFD < 0, let path = metricsSocketPath {
            metricsFD = try UnixListener.bind(path: path, mode: 0o660, group: settings.socketGroup)
            ownsMetricsSocket = true
        }
        if metricsFD >= 0 { try loop.add(metricsFD, EventLoop.readable) }
        // The verify state refreshes on its own thread: the loop only reads it.
        auth.verifyState.startRefresher()
        logger.info("authgate-ws listening on \(settings.wsSocketPath) (fd limit \(limit), routes \(routes.routes.keys.sorted().joined(separator: " ")))")
        while true {
            loop.wait(timeoutMillis: 100) { fd, mask in dispatch(fd, mask) }
            if stopping && (connections.isEmpty || monoMillis() >= stopDeadline) { break }
        }
        for c in Array(connections.values) { finish(c) }
        logger.info("authgate-ws stopped")
    }

    func dispatch(_ fd: Int32, _ mask: UInt32) {
        if fd == listenFD { acceptAll(); return }
        if fd == metricsFD { serveMetrics(); return }
        if fd == loop.timerFD { loop.drain(fd); tick(); return }
        if fd == loop.wakeFD { loop.drain(fd); return }
        if fd == loop.signalFD {
            while case let signo = authgate_signalfd_next(fd), signo != 0 {
                if signo == SIGHUP { onReload?() } else { beginShutdown() }
            }
            return
        }
        guard Int(fd) < byFD.count, let c = byFD[Int(fd)] else { return }
        if fd == c.clientFD { clientEvent(c, mask) } else if fd == c.upstreamFD { upstreamEvent(c, mask) }
        if c.alive { afterEvent(c) }
    }

    // MARK: accept, tick, shutdown

    func acceptAll() {
        while !stopping {
            let fd = authgate_accept_nonblocking(listenFD)
            if fd < 0 {
                let err = errno
                if err == EINTR || err == ECONNABORTED { continue }
                if err == EMFILE || err == ENFILE {
                    logger.error("authgate-ws: out of file descriptors; pausing accept")
                    loop.modify(listenFD, 0)
                    listenPaused = true
                }
                return
            }
            let c = Connection(clientFD: fd, deadline: monoMillis() + Self.handshakeMillis)
            track(c, fd)
            connections[ObjectIdentifier(c)] = c
            do {
                try loop.add(fd, EventLoop.readable)
                c.clientMask = EventLoop.readable
            } catch {
                finish(c)
            }
        }
    }

    func track(_ c: Connection?, _ fd: Int32) {
        let i = Int(fd)
        if i >= byFD.count { byFD.append(contentsOf: repeatElement(nil, count: max(i + 1 - byFD.count, byFD.count))) }
        byFD[i] = c
    }

    func tick() {
        let nowMono = monoMillis()
        let nowWall = wallMillis()
        for c in Array(connections.values) {
            switch c.phase {
            case .relaying:
                if let id = c.identity, let (code, reason) = auth.cutReason(id, nowMillis: nowWall, nowMonoMillis: nowMono) {
                    cut(c, code, reason, upstream: .normal)
                    afterEvent(c)
                }
            case .closing:
                if nowMono >= c.deadline { finish(c) }
            case .readingRequest, .connecting, .awaitingUpstream:
                if nowMono >= c.deadline {
                    if case .readingRequest = c.phase { finish(c) } else { reject(c, AuthError(status: 502, code: "unavailable", message: "upstream timeout")) }
                    if c.alive { afterEvent(c) }
                }
            }
        }
    }

    func beginShutdown() {
        guard !stopping else { return }
        stopping = true
        stopDeadline = monoMillis() + 1_500
        logger.info("authgate-ws shutting down: closing \(connections.count) connections with 1001")
        loop.remove(listenFD)
        close(listenFD)
        if !inheritedSocket { unlink(settings.wsSocketPath) }
        if ownsMetricsSocket, let path = metricsSocketPath { unlink(path) }
        for c in Array(connections.values) {
            if c.isRelaying {
                cut(c, .goingAway, "server shutting down", upstream: .goingAway)
                afterEvent(c)
            } else if case .closing = c.phase {
            } else {
                finish(c)
            }
        }
    }

    /// Queues close frames (to the client `code`, to the upstream `upstream`, masked) at the next
    /// frame boundary of each direction, then lets the connection drain and close.
    func cut(_ c: Connection, _ code: WebSocketCloseCode, _ reason: String, upstream: WebSocketCloseCode) {
        guard c.isRelaying else { return }
        c.closeReason = "\(code.rawValue)"
        c.u2c.pendingClose = WebSocketFrame.close(code, reason)
        c.c2u.pendingClose = WebSocketFrame.close(upstream, reason, maskKey: Array(randomMask()))
        c.u2c.injectIfReady()
        c.c2u.injectIfReady()
        c.phase = .closing
        c.deadline = monoMillis() + Self.closingMillis
    }

    func randomMask() -> [UInt8] { Crypto.randomBytes(4) }

    // MARK: closing

    /// Closes both fds and logs the end of a relayed connection.
    func finish(_ c: Connection) {
        guard connections.removeValue(forKey: ObjectIdentifier(c)) != nil else { return }
        c.alive = false
        if let id = c.identity, c.opened {
            let code = c.closeReason ?? c.u2c.closeCode.map(String.init) ?? c.c2u.closeCode.map(String.init) ?? "none"
            logger.info("ws close user=\(id.userID) session=\(id.sessionID) route=\(c.route?.path ?? "-") code=\(code)")
            countClose(code)
        }
        loop.remove(c.clientFD)
        track(nil, c.clientFD)
        close(c.clientFD)
        if c.upstreamFD >= 0 {
            loop.remove(c.upstreamFD)
            track(nil, c.upstreamFD)
            close(c.upstreamFD)
        }
        if listenPaused && !stopping {
            listenPaused = false
            loop.modify(listenFD, EventLoop.readable)
        }
    }
}
