import AuthCore
import AuthHTTP
import AuthFastCGI
import CEpoll
import Glibc
import Synchronization

/// The connection reader's second half: a connection coming back after its answer (kept, to
/// finish writing, or to close), and closing, sweeping past deadlines and stopping.
extension ConnectionReader {
    // MARK: after an answer

    /// A connection back from a worker (or a shed): finish writing, keep it, or close it.
    func resume(_ c: FastCGIConnection) {
        let now = monotonicMicros()
        if !c.pending.isEmpty {
            c.phase = .writing
            c.deadline = now + limits.writeTimeout
            if authgate_epoll_ctl(epfd, EPOLL_CTL_ADD, c.fd, UInt32(EPOLLOUT.rawValue), UInt64(c.fd)) != 0 { forget(c) }
            return
        }
        guard c.keepAfterWrite, !stopping || !c.leftover.isEmpty else { forget(c); return }
        c.phase = .kept
        c.deadline = now + (c.http != nil ? door.idle : limits.keptIdle)
        guard authgate_epoll_ctl(epfd, EPOLL_CTL_ADD, c.fd, UInt32(EPOLLIN.rawValue), UInt64(c.fd)) == 0 else { forget(c); return }
        if !c.leftover.isEmpty {
            let bytes = c.leftover
            c.leftover = []
            c.phase = .partial
            c.deadline = now + limits.readTimeout
            waiting += 1
            bytes.withUnsafeBytes { parse(c, $0) }
        }
    }

    func continueWrite(_ c: FastCGIConnection) {
        switch c.flush() {
        case .some(true):
            _ = authgate_epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, 0, 0)
            resume(c)
        case .some(false):
            return
        case .none:
            forget(c)
        }
    }

    // MARK: closing

    /// Closes a connection the reader owns (not busy in a worker).
    func forget(_ c: FastCGIConnection) {
        if c.phase == .fresh || c.phase == .partial { waiting -= 1 }
        connections[c.fd] = nil
        c.close()   // closing the fd also takes it out of the epoll set
    }

    func drop(_ c: FastCGIConnection, reason: TransportMetrics.Drop, detail: String = "") {
        drops.dropped(reason, detail: detail)
        forget(c)
    }

    /// Deadlines, paused listeners, the burst log and the waiting gauge.
    func sweep(_ now: Int) {
        nextSweep = now + 100_000
        var expired: [FastCGIConnection] = []
        for c in connections.values where c.phase != .busy && now >= c.deadline { expired.append(c) }
        for c in expired {
            switch c.phase {
            case .fresh, .partial: drop(c, reason: .deadline)
            case .writing: drop(c, reason: .writeTimeout)
            default: forget(c)   // a kept connection idle too long, or closed at the stop
            }
        }
        for i in listeners.indices where listeners[i].pausedUntil != 0 && now >= listeners[i].pausedUntil && !stopping {
            listeners[i].pausedUntil = 0
            if !listeners[i].heldBack {
                _ = authgate_epoll_ctl(epfd, EPOLL_CTL_ADD, listeners[i].fd, UInt32(EPOLLIN.rawValue), Self.listenerToken + UInt64(i))
            }
        }
        app.metrics.transport.addWaiting(waiting - reportedWaiting)
        reportedWaiting = waiting
        drops.flush(now)
    }

    /// No accept after this. A listener of our own is closed (its backlog is reset, as the
    /// socket file goes); a shared one stays open, untouched, for the next process. Kept idle
    /// connections close now; the ones inside a request get TransportLimits.stopGrace to
    /// finish it (a fresh one 0.5 s to start: a web server writes right after connecting).
    func beginStop(_ now: Int) {
        stopping = true
        for l in listeners {
            _ = authgate_epoll_ctl(epfd, EPOLL_CTL_DEL, l.fd, 0, 0)
            if !l.shared { Glibc.close(l.fd) }
        }
        for c in connections.values {
            switch c.phase {
            case .kept: c.deadline = now
            case .fresh: c.deadline = min(c.deadline, now + 500_000)
            case .partial, .writing: c.deadline = min(c.deadline, now + limits.stopGrace)
            case .busy: break
            }
        }
    }
}
