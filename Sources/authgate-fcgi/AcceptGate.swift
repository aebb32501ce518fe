import AuthCore
import CEpoll
import Glibc

extension Listener {
    /// A socket passed by systemd or a launcher. Its file belongs to whoever bound it, so
    /// `removeFile()` never unlinks it (device/inode 0 match no file).
    static func adopt(_ inherited: InheritedSocket) -> Listener {
        Listener(fd: inherited.fd, path: inherited.path, device: 0, inode: 0)
    }
}

/// Accepting on a socket another process also holds (systemd, a launcher, the successor after
/// a restart). Stopping must not `shutdown()` it: that would break it for the successor too,
/// and the connections waiting in its backlog are exactly the ones the successor must answer.
/// So the listening fd is made non-blocking and each worker waits for it on its own epoll set
/// (`EPOLLEXCLUSIVE`: one worker woken per connection) together with a stop pipe; once the stop
/// pipe is readable no worker calls `accept()` again, and whatever is queued stays queued.
final class AcceptGate: Sendable {
    let listenFD: Int32
    private let stopRead: Int32
    private let stopWrite: Int32

    init(listenFD: Int32) throws(StartupError) {
        self.listenFD = listenFD
        guard authgate_set_nonblocking(listenFD) == 0 else { throw StartupError("O_NONBLOCK on the inherited socket: \(errnoText())") }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw StartupError("pipe: \(errnoText())") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        stopRead = fds[0]
        stopWrite = fds[1]
    }

    /// This thread's epoll set (listening fd exclusive, stop pipe shared), or -1.
    func makeWaiter() -> Int32 {
        let ep = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard ep >= 0 else { return -1 }
        let exclusive = UInt32(1) << 28   // EPOLLEXCLUSIVE
        if authgate_epoll_ctl(ep, EPOLL_CTL_ADD, listenFD, UInt32(EPOLLIN.rawValue) | exclusive, 0) != 0
            || authgate_epoll_ctl(ep, EPOLL_CTL_ADD, stopRead, UInt32(EPOLLIN.rawValue), 1) != 0 {
            Glibc.close(ep)
            return -1
        }
        return ep
    }

    /// Blocks until a connection may be waiting (true) or the gate is closed (false).
    func waitForConnection(_ waiter: Int32) -> Bool {
        let size = authgate_epoll_event_size()
        return withUnsafeTemporaryAllocation(byteCount: size * 2, alignment: 8) { buf in
            while true {
                let n = authgate_epoll_wait(waiter, buf.baseAddress, 2, -1)
                if n < 0 { if errno == EINTR { continue }; return false }
                for i in 0..<Int(n) where authgate_epoll_event_data(buf.baseAddress, Int32(i)) == 1 { return false }
                if n > 0 { return true }
            }
        }
    }

    /// No worker accepts after this (queued connections stay for the next process).
    func close() {
        var one: UInt8 = 1
        _ = write(stopWrite, &one, 1)
    }
}
