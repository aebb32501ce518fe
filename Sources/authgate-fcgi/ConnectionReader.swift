import AuthCore
import AuthFastCGI
import AuthHTTP
import CEpoll
import Glibc
import Synchronization

/// The one thread that owns every connection not being served: it accepts on every listener,
/// waits for readiness with epoll, parses FastCGI records as they trickle in, and hands only
/// COMPLETE requests to the worker pools (RequestQueue). A worker therefore never waits on a
/// client: 200 idle or one-byte connections cost 200 descriptors, not 200 threads.
/// - Deadlines (TransportLimits): a request must be complete within AUTH_READ_TIMEOUT_SECONDS
///   of the accept (or of its first byte on a kept connection); generous, so a web server
///   starved of CPU is still read. A connection past it is dropped, counted and logged.
/// - AUTH_MAX_WAITING_CONNECTIONS caps the connections still without a complete request; over
///   it the oldest one is dropped.
/// - A busy pool applies backpressure: at its queue's soft limit the reader stops accepting for
///   it (connections wait in the kernel's backlog, as with libfcgi). Only a request that still
///   arrives when the queue is full (4 × soft) is shed with 503 + Retry-After, written after the
///   whole request was read (the web server never sees its request cut: no EPIPE, no 502).
/// - Kept connections (FCGI_KEEP_CONN) come back here after each answer; an answer the peer
///   does not take at once is finished here too (EPOLLOUT), never by a blocked worker.
final class ConnectionReader: @unchecked Sendable {
    struct Listening {
        let fd: Int32
        let tcp: Bool
        /// Held by another process too (systemd, --hold-socket): on stop it is neither closed
        /// nor shut down, so connections queued in its backlog stay for the successor.
        let shared: Bool
        /// The HTTP verify door (AUTH_VERIFY_HTTP_SOCKET): HTTP/1.1 request heads instead of
        /// FastCGI records; served by the Unix socket's pool.
        var http = false
        var pausedUntil = 0
        /// Not accepting while its pool's queue is over its soft limit.
        var heldBack = false
    }

    let app: App
    let limits: TransportLimits
    let door: HTTPDoorConfig
    let unixQueue: RequestQueue
    let tcpQueue: RequestQueue?
    var listeners: [Listening]
    let epfd: Int32
    let wake: Int32
    var connections: [Int32: FastCGIConnection] = [:]
    var waiting = 0
    let returns = Mutex<[FastCGIConnection]>([])
    let stopRequested = Atomic<Bool>(false)
    /// Set once stopping and nothing is left in flight.
    let drained = Atomic<Bool>(false)
    var stopping = false
    var scratch = [UInt8](repeating: 0, count: 64 * 1024)
    var drops: DropLog
    var maxBody: Int
    var settingsSeen: Int
    var nextSweep = 0
    /// What this reader last added to the shared waiting gauge (several readers add to it).
    var reportedWaiting = 0
    /// A door reader (ConnectionReader+Door.swift): answers the HTTP door's verifies on its own
    /// thread with its own `Worker` (made when the thread starts) instead of handing them over.
    let servesDoorInline: Bool
    var doorExchange: HTTPDoorExchange?
    /// A door reader's answers of this wake-up, and their access lines: the lines are written
    /// with one `write` and only then are the answers sent (ConnectionReader+Door.swift).
    var accessLines: [UInt8] = []
    var deferredAnswers: [FastCGIConnection] = []

    static let wakeToken: UInt64 = 1 << 33
    static let listenerToken: UInt64 = 1 << 32

    init(app: App, limits: TransportLimits, door: HTTPDoorConfig = HTTPDoorConfig(), listeners: [Listening],
         unixQueue: RequestQueue, tcpQueue: RequestQueue?, servesDoorInline: Bool = false) throws(StartupError) {
        self.app = app
        self.servesDoorInline = servesDoorInline
        self.limits = limits
        self.door = door
        self.listeners = listeners
        self.unixQueue = unixQueue
        self.tcpQueue = tcpQueue
        self.drops = DropLog(log: app.log, metrics: app.metrics.transport, limits: limits)
        self.maxBody = app.settings.maxBody
        self.settingsSeen = app.settingsGeneration
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        wake = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard epfd >= 0, wake >= 0 else { throw StartupError("epoll/eventfd: \(errnoText())") }
        guard authgate_epoll_ctl(epfd, EPOLL_CTL_ADD, wake, UInt32(EPOLLIN.rawValue), Self.wakeToken) == 0 else {
            throw StartupError("epoll_ctl: \(errnoText())")
        }
        for (i, l) in listeners.enumerated() {
            guard authgate_set_nonblocking(l.fd) == 0,
                  authgate_epoll_ctl(epfd, EPOLL_CTL_ADD, l.fd, UInt32(EPOLLIN.rawValue), Self.listenerToken + UInt64(i)) == 0 else {
                throw StartupError("epoll on listening socket \(l.fd): \(errnoText())")
            }
        }
    }

    func start() throws(ThreadStartError) {
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { connectionReaderEntry($0) }, box)
        guard rc == 0 else {
            Unmanaged<ConnectionReader>.fromOpaque(box).release()
            throw ThreadStartError(code: rc)
        }
        pthread_detach(thread)
    }

    /// From a worker: the connection after its answer (kept, to finish writing, or to close).
    func giveBack(_ connection: FastCGIConnection) {
        returns.withLock { $0.append(connection) }
        signalWake()
    }

    /// Stop accepting; finish what was accepted (within TransportLimits.stopGrace); then `drained`.
    func stop() {
        stopRequested.store(true, ordering: .sequentiallyConsistent)
        signalWake()
    }

    func signalWake() {
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
    }

    func loop() {
        if servesDoorInline {
            do { doorExchange = HTTPDoorExchange(worker: try app.makeWorker()) } catch {
                app.log.error("authgate-fcgi: cannot start an HTTP door thread's worker: \(error)")
                exit(1)
            }
        }
        let size = authgate_epoll_event_size()
        let capacity = 256
        let events = UnsafeMutableRawPointer.allocate(byteCount: size * capacity, alignment: 8)
        while true {
            let n = authgate_epoll_wait(epfd, events, Int32(capacity), stopping ? 20 : 250)
            for i in 0..<max(0, Int(n)) {
                let token = authgate_epoll_event_data(events, Int32(i))
                let mask = authgate_epoll_event_mask(events, Int32(i))
                if token == Self.wakeToken {
                    var count: UInt64 = 0
                    _ = read(wake, &count, 8)
                    for c in returns.withLock({ r in defer { r.removeAll() }; return r }) { resume(c) }
                } else if token >= Self.listenerToken {
                    acceptAll(Int(token - Self.listenerToken))
                } else if let c = connections[Int32(truncatingIfNeeded: token)] {
                    if c.phase == .writing { continueWrite(c) } else if mask != 0 { readable(c) }
                }
            }
            if !deferredAnswers.isEmpty || !accessLines.isEmpty { sendDeferredAnswers() }
            releaseBackpressure()
            let now = monotonicMicros()
            if !stopping && stopRequested.load(ordering: .sequentiallyConsistent) { beginStop(now) }
            if now >= nextSweep || stopping { sweep(now) }
            if stopping && connections.isEmpty && unixQueue.inFlight == 0 && (tcpQueue?.inFlight ?? 0) == 0 {
                drained.store(true, ordering: .sequentiallyConsistent)
            }
        }
    }

    // MARK: accepting

    func acceptAll(_ index: Int) {
        // Several door readers share the door's listening socket and the first of them closes it
        // at the stop: after the stop was asked for, none accepts from it again.
        if stopRequested.load(ordering: .sequentiallyConsistent) { return }
        let listener = listeners[index]
        for _ in 0..<64 {
            let fd = authgate_accept_nonblocking(listener.fd)
            if fd < 0 {
                let e = errno
                if e == EAGAIN || e == EWOULDBLOCK { return }
                if e == EINTR || e == ECONNABORTED { continue }
                // EMFILE, ENFILE, ENOBUFS...: make room if there is a waiting connection to
                // drop; otherwise stop accepting for 100 ms (level-triggered epoll would spin).
                if (e == EMFILE || e == ENFILE), dropOldestWaiting(reason: .cap) { continue }
                drops.acceptFailed(String(cString: strerror(e)))
                if !listener.heldBack { _ = authgate_epoll_ctl(epfd, EPOLL_CTL_DEL, listener.fd, 0, 0) }
                listeners[index].pausedUntil = monotonicMicros() + 100_000
                return
            }
            if listener.tcp {
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            let now = monotonicMicros()
            let parser = RequestParser(maxBody: currentMaxBody(), maxConnections: limits.maxWaiting)
            let c = FastCGIConnection(fd: fd, tcp: listener.tcp, parser: parser, now: now, deadline: now + limits.readTimeout)
            c.owner = self
            if listener.http { c.http = HTTPDoorState(config: door) }
            guard authgate_epoll_ctl(epfd, EPOLL_CTL_ADD, fd, UInt32(EPOLLIN.rawValue), UInt64(fd)) == 0 else {
                Glibc.close(fd)
                continue
            }
            connections[fd] = c
            waiting += 1
            if waiting > limits.maxWaiting { _ = dropOldestWaiting(reason: .cap) }
        }
    }

    /// Drops the longest-waiting connection without a complete request. False when there is none.
    func dropOldestWaiting(reason: TransportMetrics.Drop) -> Bool {
        var oldest: FastCGIConnection?
        for c in connections.values where c.phase == .fresh || c.phase == .partial {
            if oldest == nil || c.acceptedAt < oldest!.acceptedAt { oldest = c }
        }
        guard let oldest else { return false }
        drop(oldest, reason: reason)
        return true
    }

    func currentMaxBody() -> Int {
        let now = app.settingsGeneration
        if now != settingsSeen {
            settingsSeen = now
            maxBody = app.settings.maxBody
        }
        return maxBody
    }

    // MARK: reading

    func readable(_ c: FastCGIConnection) {
        let n = scratch.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return }
        guard n > 0 else { forget(c); return }   // the peer closed (or failed): its choice, not a drop
        if c.phase == .kept {
            c.deadline = monotonicMicros() + limits.readTimeout
            waiting += 1
        }
        c.phase = .partial
        scratch.withUnsafeBytes { parse(c, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }

    func parse(_ c: FastCGIConnection, _ bytes: UnsafeRawBufferPointer) {
        if c.http != nil { return parseHTTP(c, bytes) }
        c.parser.maxBody = currentMaxBody()
        var index = 0
        while true {
            let event: RequestParser.Event
            do { event = try c.parser.next(bytes, at: &index) } catch {
                drop(c, reason: .protocolError, detail: "\(error)")
                return
            }
            switch event {
            case .needMore:
                return
            case let .reply(answer, close):
                _ = answer.withUnsafeBytes { send(c.fd, $0.baseAddress, $0.count, authgate_msg_nosignal() | Int32(MSG_DONTWAIT)) }
                if close { forget(c); return }
            case let .request(request):
                c.leftover = index < bytes.count ? Array(bytes[index...]) : []
                hand(c, .fastcgi(request), id: request.id, keep: request.keepConnection)
                return
            }
        }
    }

    /// A complete request: to its worker pool, or shed with 503 when the queue is full.
    func hand(_ c: FastCGIConnection, _ payload: Job.Payload, id: UInt16, keep: Bool) {
        _ = authgate_epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, 0, 0)
        waiting -= 1
        c.phase = .busy
        let queue = c.tcp ? (tcpQueue ?? unixQueue) : unixQueue
        if queue.offer(Job(connection: c, payload: payload)) {
            if queue.depth >= queue.soft { holdBack(tcp: c.tcp) }
            return
        }
        app.metrics.transport.shedOne()
        drops.shed(queue.capacity)
        let unavailable = app.settings.profile.respond(.unavailable(retryAfter: 1))
        if c.http != nil {
            // As on the FastCGI door: 503 + Retry-After (no body), and the connection is closed.
            let shed = Response(status: 503, headers: [("X-Auth-Error", "unavailable"), ("Retry-After", "1")])
            c.pending = HTTPDoorResponse.encode(shed, close: true, log: app.log)
            c.keepAfterWrite = false
            c.leftover = []
        } else {
            c.pending = RecordWriter.response(id: id, stdout: ResponseBytes.encode(unavailable, log: app.log))
            c.keepAfterWrite = keep
        }
        resume(c)
    }

    /// The pool is behind: stop accepting for it, so new connections wait in the kernel's
    /// backlog (and their deadline has not started) instead of in our queue.
    func holdBack(tcp: Bool) {
        for i in listeners.indices where listeners[i].tcp == tcp && !listeners[i].heldBack {
            listeners[i].heldBack = true
            if listeners[i].pausedUntil == 0 { _ = authgate_epoll_ctl(epfd, EPOLL_CTL_DEL, listeners[i].fd, 0, 0) }
        }
    }

    /// Accept again once the pool's queue is back under half its soft limit.
    func releaseBackpressure() {
        guard !stopping else { return }
        for i in listeners.indices where listeners[i].heldBack {
            let queue = listeners[i].tcp ? (tcpQueue ?? unixQueue) : unixQueue
            guard queue.depth <= queue.soft / 2 else { continue }
            listeners[i].heldBack = false
            if listeners[i].pausedUntil == 0 {
                _ = authgate_epoll_ctl(epfd, EPOLL_CTL_ADD, listeners[i].fd, UInt32(EPOLLIN.rawValue), Self.listenerToken + UInt64(i))
            }
        }
    }

}

nonisolated func connectionReaderEntry(_ raw: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let raw else { return nil }
    let reader = Unmanaged<ConnectionReader>.fromOpaque(raw).takeRetainedValue()
    reader.loop()
    return nil
}
