import AuthCore
import AuthHTTP
import CEpoll
import Glibc

/// The HTTP verify door's connections. A door reader (AUTH_VERIFY_HTTP_THREADS of them, each
/// with its own epoll set and its own `Worker`, all accepting from the door's socket) answers a
/// complete request head on its own thread and writes the answer at once; the kept connection
/// stays in the same epoll set for its next request. So a kept-alive verify costs a read, the
/// decision and a write: no hand-off to a worker thread and back (two lock/wake pairs and two
/// epoll_ctl calls per request before). The reader's protections stay as they were: the head's
/// read deadline, the waiting cap, the door's idle timeout and per-connection request limit, and
/// an answer the peer does not take at once is finished on EPOLLOUT.
/// A browser location's verify (AUTH_ALLOW "… browser") may renew a cookie session, a write that
/// can wait on the database: it still goes to the worker pool, as does every request of a reader
/// without a Worker of its own (the FastCGI reader, if a door listener were given to it).
extension ConnectionReader {
    /// One request head at a time: a request answered here goes on with the bytes after it (a
    /// pipelined next request) only once its answer is fully written, so answers go out in request
    /// order and two requests are never read into one. A request handed to the pool keeps the
    /// bytes after it in `leftover` until the answer is written. A refused head is answered at
    /// once and the connection closed (counted as a protocol drop).
    func parseHTTP(_ c: FastCGIConnection, _ bytes: UnsafeRawBufferPointer) {
        var start = 0
        while var state = c.http {
            let result = state.parser.feed(UnsafeRawBufferPointer(rebasing: bytes[start...]))
            switch result {
            case .needMore:
                c.http = state
                return
            case let .failed(error):
                let refusal = error == .tooLarge ? HTTPDoorRefusal(status: 400, code: "header_too_large")
                                                 : HTTPDoorRefusal(status: 400, code: "bad_request")
                refuse(c, refusal, detail: "http door: \(error)")
                return
            case let .complete(head, consumed):
                state.parser = HTTPDoorState.parser(door)
                state.served += 1
                c.http = state
                let request: HTTPDoorRequest
                switch HTTPDoorRequestReader.read(head, config: door, served: state.served) {
                case let .failure(refusal):
                    refuse(c, refusal, detail: "http door: \(refusal.status) \(refusal.code)")
                    return
                case let .success(read):
                    request = read
                }
                let next = start + consumed
                let rest = UnsafeRawBufferPointer(rebasing: bytes[next...])
                guard let exchange = doorExchange, request.request.verify?.allowBrowser != true else {
                    c.leftover = Array(rest)
                    hand(c, .http(request), id: 0, keep: !request.close)
                    return
                }
                let answer = exchange.serve(request, lines: &accessLines)
                if rest.isEmpty {
                    // The common case: sent after this wake-up's access lines are written.
                    settle(c, answer, keep: !request.close)
                    deferredAnswers.append(c)
                    if accessLines.count >= Self.accessLinesBatch { sendDeferredAnswers() }
                    return
                }
                // A pipelined next request: this answer leaves now (its line first), and the
                // next head is read only once it is written.
                sendDeferredAnswers()
                settle(c, answer, keep: !request.close)
                guard deliver(c, rest: rest) else { return }
                start = next
                c.phase = .partial
                c.deadline = monotonicMicros() + limits.readTimeout
                waiting += 1
            }
        }
    }

    /// At most this many bytes of access lines are written at once: one `write` of them stays
    /// within PIPE_BUF (4096), so a pipe to a log collector never interleaves another thread's
    /// line into them.
    static let accessLinesBatch = 3_584

    /// A complete request's answer, made on this thread: the connection holds it (no longer
    /// waiting for a request) until `deliver` writes it.
    func settle(_ c: FastCGIConnection, _ answer: [UInt8], keep: Bool) {
        waiting -= 1   // it was .partial: it holds a complete request now
        c.phase = .kept
        c.pending = answer
        c.keepAfterWrite = keep
    }

    /// The access lines collected so far (one `write`), then the answers held for them: a door
    /// answer never leaves before its access line is written, as when each line was written
    /// alone. Called after each wake-up's events, and before an answer that cannot wait.
    func sendDeferredAnswers() {
        app.log.emit(lines: accessLines)
        accessLines.removeAll(keepingCapacity: true)
        // By index, then emptied: the array stays unique, so its storage is kept, not remade.
        for i in deferredAnswers.indices { _ = deliver(deferredAnswers[i], rest: UnsafeRawBufferPointer(start: nil, count: 0)) }
        deferredAnswers.removeAll(keepingCapacity: true)
    }

    /// Writes a settled answer. True when the connection is kept, fully answered and still in
    /// this reader's epoll set for reading; false when it was closed, or when the rest of the
    /// answer waits for EPOLLOUT (the bytes after the request wait in `leftover`, and
    /// `continueWrite` -> `resume` goes on with them).
    func deliver(_ c: FastCGIConnection, rest: UnsafeRawBufferPointer) -> Bool {
        let now = monotonicMicros()
        switch c.flush() {
        case .none:
            forget(c)
            return false
        case .some(false):
            c.leftover = Array(rest)
            c.phase = .writing
            c.deadline = now + limits.writeTimeout
            if authgate_epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd, UInt32(EPOLLOUT.rawValue), UInt64(c.fd)) != 0 { forget(c) }
            return false
        case .some(true):
            guard c.keepAfterWrite, !stopping || !rest.isEmpty else {
                forget(c)
                return false
            }
            c.deadline = now + door.idle
            return true
        }
    }

    func refuse(_ c: FastCGIConnection, _ refusal: HTTPDoorRefusal, detail: String) {
        let answer = HTTPDoorResponse.refusal(refusal)
        _ = answer.withUnsafeBytes { send(c.fd, $0.baseAddress, $0.count, authgate_msg_nosignal() | Int32(MSG_DONTWAIT)) }
        drop(c, reason: .protocolError, detail: detail)
    }
}
