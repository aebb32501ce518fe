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
            if hungUpWhilePaused(c, mask, c.c2u.room) { return }
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
            if hungUpWhilePaused(c, mask, c.u2c.room) { return }
            if mask & EventLoop.writable != 0 { flush(c, to: .upstream) }
            if mask & (EventLoop.readable | EventLoop.hangup) != 0 { relayRead(c, from: .upstream) }
        }
    }

    /// EPOLLHUP/EPOLLERR are reported whatever the interest mask: a peer that hangs up while
    /// its reads are paused for backpressure would make the loop spin until the other side
    /// drains. Such a relay cannot deliver anything more to that peer: end it now.
    func hungUpWhilePaused(_ c: Connection, _ mask: UInt32, _ room: Int) -> Bool {
        guard mask & EventLoop.hangup != 0, room == 0 else { return false }
        c.closeReason = "peer hung up with output pending"
        finish(c)
        return true
    }

    func fd(_ c: Connection, _ side: Side) -> Int32 { side == .client ? c.clientFD : c.upstreamFD }

    /// Reads from `side` while the other side's buffer has room, forwarding whole chunks (or up
    /// to a frame boundary when a close is pending). A short read means the socket is drained, so
    /// no extra read just to see EAGAIN: the loop is level-triggered and reports what comes next.
    func relayRead(_ c: Connection, from side: Side) {
        let dest: Side = side == .client ? .upstream : .client
        let source = fd(c, side)
        for _ in 0..<4 {
            let room = side == .client ? c.c2u.room : c.u2c.room
            if room == 0 { return }
            let want = min(room, scratch.count)
            let buf = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<want])
            switch NonBlocking.read(source, into: buf) {
            case .wouldBlock:
                return
            case .done(0), .failed:
                sideGone(c, side)
                return
            case let .done(n):
                let chunk = UnsafeRawBufferPointer(rebasing: buf[0..<n])
                let forward: Int
                do {
                    forward = side == .client ? try c.c2u.scan(chunk) : try c.u2c.scan(chunk)
                } catch {
                    c.closeReason = "1002 (\(side) protocol error: \(error))"
                    finish(c)
                    return
                }
                if forward > 0 { send(c, to: dest, UnsafeRawBufferPointer(rebasing: chunk[0..<forward])) }
                if !c.alive { return }
                let injected: Bool
                if side == .client {
                    injected = c.c2u.pendingClose != nil && c.c2u.injectIfReady()
                } else {
                    injected = c.u2c.pendingClose != nil && c.u2c.injectIfReady()
                }
                if injected {
                    flush(c, to: dest)
                    return
                }
                if n < want { return }
            }
        }
    }

    /// Writes directly when nothing is queued (no EPOLLOUT round trip), queues the rest.
    func send(_ c: Connection, to dest: Side, _ bytes: UnsafeRawBufferPointer) {
        if dest == .upstream {
            if c.c2u.out.isEmpty {
                if let rest = writeNow(c, to: dest, bytes) { c.c2u.out.append(contentsOf: rest) }
            } else {
                c.c2u.out.append(contentsOf: bytes)
                flush(c, to: dest)
            }
        } else {
            if c.u2c.out.isEmpty {
                if let rest = writeNow(c, to: dest, bytes) { c.u2c.out.append(contentsOf: rest) }
            } else {
                c.u2c.out.append(contentsOf: bytes)
                flush(c, to: dest)
            }
        }
    }

    /// One direct write; returns what is left to queue (nil when all went out or `dest` is gone).
    private func writeNow(_ c: Connection, to dest: Side, _ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        switch NonBlocking.write(fd(c, dest), bytes) {
        case let .done(n):
            return n < bytes.count ? UnsafeRawBufferPointer(rebasing: bytes[n...]) : nil
        case .wouldBlock:
            return bytes
        case .failed:
            sideGone(c, dest)
            return nil
        }
    }

    /// Writes queued output to `dest`; an emptied buffer gives its memory back.
    func flush(_ c: Connection, to dest: Side) {
        let destFD = fd(c, dest)
        guard destFD >= 0 else { return }
        let ok = dest == .upstream ? Self.writeQueued(&c.c2u.out, destFD) : Self.writeQueued(&c.u2c.out, destFD)
        if !ok { sideGone(c, dest) }
    }

    /// One write of `out`; false when the destination failed.
    private static func writeQueued(_ out: inout [UInt8], _ fd: Int32) -> Bool {
        guard !out.isEmpty else { return true }
        switch out.withUnsafeBytes({ NonBlocking.write(fd, $0) }) {
        case let .done(n):
            if n == out.count {
                out = []
            } else {
                out.removeFirst(n)
            }
            return true
        case .wouldBlock:
            return true
        case .failed:
            return false
        }
    }

    /// `side` hung up or failed: nothing more comes from it and nothing more can reach it.
    func sideGone(_ c: Connection, _ side: Side) {
        guard c.isRelaying || c.isClosing else {
            finish(c)
            return
        }
        // Both directions end: nothing more from `side`, nothing more can reach it.
        c.c2u.sealed = true
        c.c2u.pendingClose = nil
        c.u2c.sealed = true
        c.u2c.pendingClose = nil
        if side == .client { c.u2c.out = [] } else { c.c2u.out = [] }
        if !c.isClosing {
            c.phase = .closing
            c.deadline = monoMillis() + Self.closingMillis
        }
    }

    /// Finishes a drained closing connection, or updates both fds' interest masks.
    func afterEvent(_ c: Connection) {
        guard c.alive else { return }
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
