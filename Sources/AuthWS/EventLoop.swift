import CEpoll
#if canImport(Glibc)
import Glibc
#endif

/// One epoll instance plus an eventfd (wake-ups from other threads), a timerfd (the tick) and an
/// optional signalfd (SIGTERM/SIGINT). Level-triggered; the owner keeps interest masks in sync.
/// Used from one thread only, except `wake()`.
final class EventLoop {
    static let readable = UInt32(EPOLLIN.rawValue)
    static let writable = UInt32(EPOLLOUT.rawValue)
    static let hangup = UInt32(EPOLLHUP.rawValue) | UInt32(EPOLLERR.rawValue)

    let epfd: Int32
    let wakeFD: Int32
    let timerFD: Int32
    private(set) var signalFD: Int32 = -1
    private let events: UnsafeMutableRawPointer
    private let capacity = 1024

    init(tickMillis: Int) throws(SystemError) {
        epfd = try syscall("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        wakeFD = try syscall("eventfd") { eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }
        let tfd = try syscall("timerfd_create") {
            timerfd_create(CLOCK_MONOTONIC, Int32(TFD_NONBLOCK | TFD_CLOEXEC))
        }
        timerFD = tfd
        var spec = itimerspec()
        spec.it_interval.tv_sec = tickMillis / 1000
        spec.it_interval.tv_nsec = (tickMillis % 1000) * 1_000_000
        spec.it_value = spec.it_interval
        try syscall("timerfd_settime") { timerfd_settime(tfd, 0, &spec, nil) }
        events = UnsafeMutableRawPointer.allocate(byteCount: authgate_epoll_event_size() * capacity, alignment: 8)
        try add(wakeFD, Self.readable)
        try add(timerFD, Self.readable)
    }

    deinit {
        events.deallocate()
        close(epfd)
        close(wakeFD)
        close(timerFD)
        if signalFD >= 0 { close(signalFD) }
    }

    /// Blocks SIGTERM/SIGINT/SIGHUP on this thread and delivers them through the loop instead.
    func watchTerminationSignals() throws(SystemError) {
        signalFD = try syscall("signalfd") { authgate_signalfd_term_hup() }
        try add(signalFD, Self.readable)
    }

    func add(_ fd: Int32, _ mask: UInt32) throws(SystemError) {
        try syscall("epoll_ctl(ADD)") { authgate_epoll_ctl(epfd, EPOLL_CTL_ADD, fd, mask, UInt64(UInt32(bitPattern: fd))) }
    }

    func modify(_ fd: Int32, _ mask: UInt32) {
        _ = try? syscall("epoll_ctl(MOD)") { authgate_epoll_ctl(epfd, EPOLL_CTL_MOD, fd, mask, UInt64(UInt32(bitPattern: fd))) }
    }

    func remove(_ fd: Int32) {
        _ = authgate_epoll_ctl(epfd, EPOLL_CTL_DEL, fd, 0, 0)
    }

    /// Thread-safe: interrupts `wait`.
    func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Reads and discards the counter of an eventfd/timerfd (one read takes all of it), or one
    /// pending signal of the signalfd (level-triggered: any further one is reported again).
    /// No allocation and no extra read just to see EAGAIN.
    func drain(_ fd: Int32) {
        withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { buf in
            _ = read(fd, buf.baseAddress, 128)
        }
    }

    /// Waits for events (up to `timeoutMillis`, -1 forever) and calls `body(fd, mask)` for each.
    func wait(timeoutMillis: Int32, _ body: (Int32, UInt32) -> Void) {
        let n = authgate_epoll_wait(epfd, events, Int32(capacity), timeoutMillis)
        guard n > 0 else { return }
        for i in 0..<Int(n) {
            let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: authgate_epoll_event_data(events, Int32(i))))
            body(fd, authgate_epoll_event_mask(events, Int32(i)))
        }
    }
}
