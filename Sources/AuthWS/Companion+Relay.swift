#if canImport(Glibc)
import Glibc
#endif

/// Byte moving: reads, writes, backpressure and interest masks.
extension Companion {
    enum Side { case client, upstream }

    func clientEvent(_ c: Connection, _ mask: UInt32) {
        switch c.phase {
        case .readingRequest:
            readRequest(c)
        case .connecting, .awaitingUpstream:
            if mask & EventLoop.hangup != 0 { finish(c) }
        case .relaying, .closing:
            if mask & EventLoop.writable != 0 { flush(c, to: .client) }
            if mask & (EventLoop.readable | EventLoop.hangup) != 0 { relayRead(c, from: .client) }
        }
    }

    func upstreamEvent(_ c: Connection, _ mask: UInt32) {
        switch c.phase {
        case .readingRequest:
            break
        case .connecting:
            upstreamConnected(c)
        case .awaitingUpstream:
            if mask & EventLoop.writable != 0 { flush(c, to: .upstream) }
            if mask & (EventLoop.readable | EventLoop.hangup) != 0 { readUpstreamResponse(c) }
        case .relaying, .closing:
            if mask & EventLoop.writable != 0 { flush(c, to: .upstream) }
            if mask & (EventLoop.readable | EventLoop.hangup) != 0 { relayRead(c, from: .upstream) }
        }
    }

    /// The pipe carrying bytes read from `side`.
    func pipe(from side: Side) -> ReferenceWritableKeyPath<Connection, Pipe> {
        side == .client ? \.c2u : \.u2c
    }

    func fd(_ c: Connection, _ side: Side) -> Int32 { side == .client ? c.clientFD : c.upstreamFD }

    /// Reads from `side` while the other side's buffer has room, forwarding whole chunks (or up
    /// to a frame boundary when a close is pending).
    func relayRead(_ c: Connection, from side: Side) {
        let kp = pipe(from: side)
        let dest: Side = side == .client ? .upstream : .client
        for _ in 0..<4 {
            let room = c[keyPath: kp].room
            if room == 0 { return }
            let buf = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<min(room, scratch.count)])
            switch NonBlocking.read(fd(c, side), into: buf) {
            case .wouldBlock:
                return
            case .done(0), .failed:
                sideGone(c, side)
                return
            case let .done(n):
                let chunk = UnsafeRawBufferPointer(rebasing: buf[0..<n])
                let forward: Int
                do {
                    forward = try c[keyPath: kp].scan(chunk)
                } catch {
                    c.closeReason = "1002 (\(side) protocol error: \(error))"
                    finish(c)
                    return
                }
                if forward > 0 { send(c, to: dest, UnsafeRawBufferPointer(rebasing: chunk[0..<forward])) }
                if connections[ObjectIdentifier(c)] == nil { return }
                if c[keyPath: kp].pendingClose != nil && c[keyPath: kp].injectIfReady() {
                    flush(c, to: dest)
                    return
                }
            }
        }
    }

    /// Writes directly when nothing is queued, queues the rest.
    func send(_ c: Connection, to dest: Side, _ bytes: UnsafeRawBufferPointer) {
        let kp = pipe(from: dest == .client ? .upstream : .client)
        if c[keyPath: kp].out.isEmpty {
            switch NonBlocking.write(fd(c, dest), bytes) {
            case let .done(n):
                if n < bytes.count { c[keyPath: kp].out.append(contentsOf: bytes[n...]) }
            case .wouldBlock:
                c[keyPath: kp].out.append(contentsOf: bytes)
            case .failed:
                sideGone(c, dest)
            }
        } else {
            c[keyPath: kp].out.append(contentsOf: bytes)
            flush(c, to: dest)
        }
    }

    /// Writes queued output to `dest`; an emptied buffer gives its memory back.
    func flush(_ c: Connection, to dest: Side) {
        let kp = pipe(from: dest == .client ? .upstream : .client)
        guard !c[keyPath: kp].out.isEmpty, fd(c, dest) >= 0 else { return }
        let result = c[keyPath: kp].out.withUnsafeBytes { NonBlocking.write(fd(c, dest), $0) }
        switch result {
        case let .done(n):
            if n == c[keyPath: kp].out.count {
                c[keyPath: kp].out = []
            } else {
                c[keyPath: kp].out.removeFirst(n)
            }
        case .wouldBlock:
            break
        case .failed:
            sideGone(c, dest)
        }
    }

    /// `side` hung up or failed: nothing more comes from it and nothing more can reach it.
    func sideGone(_ c: Connection, _ side: Side) {
        guard c.isRelaying || c.isClosing else {
            finish(c)
            return
        }
        let from = pipe(from: side)
        let to = pipe(from: side == .client ? .upstream : .client)
        c[keyPath: from].sealed = true
        c[keyPath: from].pendingClose = nil
        c[keyPath: to].sealed = true
        c[keyPath: to].pendingClose = nil
        c[keyPath: to].out = []
        if !c.isClosing {
            c.phase = .closing
            c.deadline = monoMillis() + Self.closingMillis
        }
    }

    /// Finishes a drained closing connection, or updates both fds' interest masks.
    func afterEvent(_ c: Connection) {
        guard connections[ObjectIdentifier(c)] != nil else { return }
        if c.isClosing && c.c2u.sealed && c.u2c.sealed && c.c2u.out.isEmpty && c.u2c.out.isEmpty {
            finish(c)
            return
        }
        var clientMask: UInt32 = 0
        var upstreamMask: UInt32 = 0
        switch c.phase {
        case .readingRequest:
            clientMask = EventLoop.readable
        case .connecting:
            upstreamMask = EventLoop.writable
        case .awaitingUpstream:
            upstreamMask = EventLoop.readable | (c.c2u.out.isEmpty ? 0 : EventLoop.writable)
        case .relaying, .closing:
            if c.c2u.room > 0 { clientMask |= EventLoop.readable }
            if c.u2c.room > 0 { upstreamMask |= EventLoop.readable }
            if !c.u2c.out.isEmpty { clientMask |= EventLoop.writable }
            if !c.c2u.out.isEmpty { upstreamMask |= EventLoop.writable }
        }
        if clientMask != c.clientMask {
            loop.modify(c.clientFD, clientMask)
            c.clientMask = clientMask
        }
        if c.upstreamFD >= 0 && upstreamMask != c.upstreamMask {
            loop.modify(c.upstreamFD, upstreamMask)
            c.upstreamMask = upstreamMask
        }
    }
}

extension Connection {
    var isClosing: Bool {
        if case .closing = phase { return true }
        return false
    }
}
