#if canImport(Glibc)
import CEpoll
import Glibc
#endif

/// A failed system call: its name and errno. Thrown by `syscall`.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    public var call: String
    public var errno: Int32

    public init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call): \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// Runs a system call, retrying on EINTR; a negative result throws with the call's name.
@inline(__always)
@discardableResult
func syscall<T: FixedWidthInteger>(_ name: @autoclosure () -> String, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let err = Glibc.errno
        if err == EINTR { continue }
        throw SystemError(name(), errno: err)
    }
}

/// The result of a non-blocking read or write.
enum IOResult: Equatable {
    case done(Int)      // bytes moved (0 on read means end of stream)
    case wouldBlock
    case failed(Int32)
}

/// recv(2)/send(2) without throwing: EAGAIN is a normal answer on a non-blocking socket.
/// Sockets only: recv skips read(2)'s generic file layer (vfs_read, rw_verify_area).
enum NonBlocking {
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        while true {
            let n = Glibc.recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return .done(n) }
            let err = Glibc.errno
            if err == EINTR { continue }
            if err == EAGAIN || err == EWOULDBLOCK { return .wouldBlock }
            return .failed(err)
        }
    }

    static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> IOResult {
        if buffer.isEmpty { return .done(0) }
        while true {
            let n = Glibc.send(fd, buffer.baseAddress, buffer.count, authgate_msg_nosignal())
            if n >= 0 { return .done(n) }
            let err = Glibc.errno
            if err == EINTR { continue }
            if err == EAGAIN || err == EWOULDBLOCK { return .wouldBlock }
            return .failed(err)
        }
    }
}

/// Wall clock in milliseconds (token `exp` is wall-clock seconds).
func wallMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// Monotonic milliseconds, for timeouts.
func monoMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
