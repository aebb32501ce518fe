import AuthFastCGI
import AuthHTTP
import CEpoll
import Glibc

/// One accepted connection (non-blocking fd): FastCGI, or the HTTP verify door when `http` is set. Owned by exactly one thread at a time:
/// the connection reader while it waits for a request or writes a pending answer, a worker
/// while it serves one; the hand-over goes through a lock (RequestQueue, the reader's returns).
final class FastCGIConnection: @unchecked Sendable {
    enum Phase { case fresh, partial, kept, busy, writing }

    let fd: Int32
    /// Accepted on the loopback TCP listener (served by the TCP worker pool).
    let tcp: Bool
    var parser: RequestParser
    /// The HTTP verify door's state (nil on a FastCGI connection).
    var http: HTTPDoorState?
    /// Bytes read past the end of the last complete request (parsed when it comes back).
    var leftover: [UInt8] = []
    var phase: Phase = .fresh
    /// When the reader drops it (monotonic µs): depends on the phase.
    var deadline: Int
    let acceptedAt: Int
    /// An answer not yet written (the peer's buffer was full), and whether to keep the
    /// connection once it is.
    var pending: [UInt8] = []
    var keepAfterWrite = false
    /// The connection reader that accepted it, and takes it back after a worker's answer
    /// (readers live as long as the process).
    unowned(unsafe) var owner: ConnectionReader?

    init(fd: Int32, tcp: Bool, parser: RequestParser, now: Int, deadline: Int) {
        self.fd = fd
        self.tcp = tcp
        self.parser = parser
        self.acceptedAt = now
        self.deadline = deadline
    }

    /// Writes what it can of `pending` without blocking. True when all of it is written;
    /// false when the rest must wait for EPOLLOUT; nil when the peer is gone.
    func flush() -> Bool? {
        while !pending.isEmpty {
            let n = pending.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, authgate_msg_nosignal()) }
            if n > 0 {
                pending.removeFirst(n)
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return false }
            return nil
        }
        return true
    }

    /// Closes it, first reading whatever the peer already sent (closing with unread bytes
    /// makes the kernel send a reset, which can destroy the answer before the peer reads it).
    func close() {
        var scratch = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<16 {
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 { break }
        }
        Glibc.close(fd)
    }
}

/// Per connection of the HTTP door: the head parser of the request being read (a fresh one per
/// request) and how many requests the connection carried.
struct HTTPDoorState {
    var parser: HTTPUpgradeParser
    var served = 0

    init(config: HTTPDoorConfig) {
        parser = Self.parser(config)
    }

    static func parser(_ config: HTTPDoorConfig) -> HTTPUpgradeParser {
        HTTPUpgradeParser(kind: .request, maxHeadSize: config.maxHeadSize, maxHeaders: config.maxHeaders)
    }
}
