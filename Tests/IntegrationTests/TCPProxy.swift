import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A TCP relay on 127.0.0.1 in front of another local port, which a test can cut: `cut()` ends
/// every relayed connection and closes new ones at once (a network partition of one host), until
/// `restore()`. One thread accepts; one thread per connection relays both ways with poll().
final class TCPProxy: @unchecked Sendable {
    let port: Int
    private let targetPort: Int
    private let listenFD: Int32
    private let lock = NSLock()
    private var isCut = false
    private var stopped = false
    private var connections: [Int32] = []   // every relayed fd, both sides
    private let acceptorDone = DispatchSemaphore(value: 0)

    init(to targetPort: Int) throws {
        self.targetPort = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SupportError("proxy socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = TCPProxy.loopback(port: 0)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            close(fd)
            throw SupportError("proxy bind/listen: errno \(errno)")
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        listenFD = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        let acceptor = Thread { [self] in
            defer { acceptorDone.signal() }
            acceptLoop()
        }
        acceptor.start()
    }

    deinit { stop() }

    /// Ends every relayed connection now; new ones are closed as soon as they are accepted.
    func cut() {
        // shutdown wakes the relays' poll(); each relay closes its own fds (after taking them out
        // of `connections` under this lock: every fd listed here is still ours).
        lock.withLock {
            isCut = true
            for fd in connections { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    func restore() { lock.withLock { isCut = false } }

    /// Stops accepting and ends every connection; waits for the acceptor (bounded).
    func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        cut()
        shutdown(listenFD, Int32(SHUT_RDWR))
        _ = acceptorDone.wait(timeout: .now() + 5)
        close(listenFD)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listenFD, nil, nil)
            if client >= 0 { _ = fcntl(client, F_SETFD, FD_CLOEXEC) }
            if client < 0 {
                if errno == EINTR { continue }
                return   // shut down
            }
            let refuse = lock.withLock { isCut || stopped }
            if refuse {
                close(client)
                continue
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var addr = TCPProxy.loopback(port: targetPort)
            let connected = upstream >= 0 && withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            } == 0
            guard connected else {
                close(client)
                if upstream >= 0 { close(upstream) }
                continue
            }
            lock.withLock { connections += [client, upstream] }
            let relayThread = Thread { [self] in relay(client, upstream) }
            relayThread.start()
        }
    }

    private func relay(_ a: Int32, _ b: Int32) {
        defer {
            lock.withLock { connections.removeAll { $0 == a || $0 == b } }
            close(a)
            close(b)
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var fds = [pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0)]
        while true {
            let n = poll(&fds, 2, 100)
            if n < 0 && errno == EINTR { continue }
            if n < 0 || lock.withLock({ isCut }) { return }
            for i in 0..<2 where fds[i].revents != 0 {
                let from = fds[i].fd, to = fds[1 - i].fd
                let got = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
                if got <= 0 { return }
                var sent = 0
                while sent < got {
                    let w = buffer.withUnsafeBytes { send(to, $0.baseAddress! + sent, got - sent, Int32(MSG_NOSIGNAL)) }
                    if w <= 0 { return }
                    sent += w
                }
            }
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return addr
    }
}
