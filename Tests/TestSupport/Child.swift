import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A failed wait: what was waited for, on what, and for how long. Tests fail with it.
public struct WaitTimeout: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Test support that could not do its job (spawn, temp dir, a binary, a measurement).
public struct SupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A child process a test starts, without Foundation's `Process` (whose wait for the exit was
/// seen blocking forever on a child that had already exited, a zombie nobody reaped): `posix_spawn` with stdin, stdout
/// and stderr redirected to files, every other descriptor closed in the child, signals reset,
/// and reaped by this object alone with `waitpid(pid, WNOHANG)` against a deadline.
public final class Child: @unchecked Sendable {
    public let pid: pid_t
    /// The program's file name, for messages.
    public let name: String
    public let path: String
    public let arguments: [String]
    public let environment: [String: String]
    private let lock = NSLock()
    private var rawStatus: Int32?

    private init(pid: pid_t, path: String, arguments: [String], environment: [String: String]) {
        self.pid = pid
        self.path = path
        self.name = (path as NSString).lastPathComponent
        self.arguments = arguments
        self.environment = environment
    }

    /// Starts `path args` with stdin read from `stdin` and stdout/stderr appended to files
    /// (created 0644 when missing). `processGroup`: the child leads a new process group, so
    /// `signalGroup` reaches everything it starts. `descriptors`: parent fds the child gets as
    /// the given child fds (e.g. `[0: sock, 1: sock]` for a socketpair end), instead of the files.
    public static func spawn(_ path: String, _ args: [String], environment: [String: String]? = nil,
                             stdin: String = "/dev/null", stdout: String = "/dev/null", stderr: String = "/dev/null",
                             descriptors: [Int32: Int32] = [:], processGroup: Bool = false) throws -> Child {
        let env = environment ?? ProcessInfo.processInfo.environment
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if stderr == stdout {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        }
        for (childFD, parentFD) in descriptors.sorted(by: { $0.key < $1.key }) {
            posix_spawn_file_actions_adddup2(&actions, parentFD, childFD)
        }
        // Descriptors other threads of the test process hold (sockets, pipes) must not leak
        // into the child: a leaked write end keeps a peer from ever seeing EOF.
        if let closeFrom = Child.addCloseFrom { _ = closeFrom(&actions, 3) }

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if processGroup { flags |= Int32(POSIX_SPAWN_SETPGROUP) }
        posix_spawnattr_setflags(&attr, Int16(flags))
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attr, &all)
        if processGroup { posix_spawnattr_setpgroup(&attr, 0) }

        let argv = ([path] + args).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, envp)
        guard rc == 0 else {
            throw SupportError("posix_spawn \(path): \(String(cString: strerror(rc)))")
        }
        return Child(pid: pid, path: path, arguments: args, environment: env)
    }

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34+), not in Swift's Glibc module.
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    nonisolated(unsafe) private static let addCloseFrom: CloseFrom? = {
        guard let handle = dlopen(nil, RTLD_NOW),
              let symbol = dlsym(handle, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    /// Reaps the child if it has exited; true while it runs.
    public var isRunning: Bool { lock.withLock { reapLocked(block: false) } == nil }

    /// Exit code, or 128 + signal number when a signal ended it; nil while running.
    public var terminationStatus: Int32? {
        lock.withLock { reapLocked(block: false) }.map(Child.decode)
    }

    /// True when a signal ended the child (`terminationStatus` is then 128 + the signal).
    public var wasSignaled: Bool {
        guard let raw = lock.withLock({ reapLocked(block: false) }) else { return false }
        return raw & 0x7f != 0 && raw & 0x7f != 0x7f
    }

    private func reapLocked(block: Bool) -> Int32? {
        if let rawStatus { return rawStatus }
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, block ? 0 : WNOHANG)
            if r == pid { rawStatus = status; return status }
            if r == -1 && errno == EINTR { continue }
            // ECHILD would mean someone else reaped it: treat it as gone, with an odd status.
            if r == -1 { rawStatus = 0x7f00; return rawStatus }
            return nil
        }
    }

    private static func decode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        if signal == 0 { return (raw >> 8) & 0xff }
        return 128 + signal
    }

    public func signal(_ sig: Int32) {
        if isRunning { kill(pid, sig) }
    }

    /// Signals the child's process group (spawned with `processGroup: true`).
    public func signalGroup(_ sig: Int32) {
        if isRunning { kill(-pid, sig) }
    }

    /// Waits for the child to exit. When `timeout` passes first, it is killed (SIGKILL), reaped,
    /// and this throws, naming the child and `what` the test waited for.
    @discardableResult
    public func wait(timeout: Double, for what: String) throws -> Int32 {
        if let status = pollExit(timeout: timeout) { return status }
        kill(pid, SIGKILL)
        _ = pollExit(timeout: 10)
        throw WaitTimeout("\(name) (pid \(pid)) still running after \(timeout) s waiting for \(what): killed")
    }

    /// SIGTERM, up to `grace` seconds to exit, then SIGKILL; always reaped (returns its status).
    @discardableResult
    public func stop(grace: Double = 3, signal sig: Int32 = SIGTERM) -> Int32 {
        if let status = terminationStatus { return status }
        kill(pid, sig)
        if let status = pollExit(timeout: grace) { return status }
        kill(pid, SIGKILL)
        // SIGKILL cannot be ignored: the kernel makes it a zombie promptly, and waitpid blocks
        // only until then.
        return Child.decode(lock.withLock { reapLocked(block: true) } ?? 0x7f00)
    }

    /// Polls for the exit for at most `timeout` seconds (1 ms, growing to 20 ms, between polls).
    private func pollExit(timeout: Double) -> Int32? {
        let deadline = Deadline(timeout)
        var pause: useconds_t = 1_000
        while true {
            if let status = terminationStatus { return status }
            if deadline.passed { return nil }
            usleep(pause)
            pause = min(pause * 2, 20_000)
        }
    }
}

/// A point in time a wait must not pass (monotonic clock).
public struct Deadline: Sendable {
    private let end: UInt64
    public init(_ seconds: Double) { end = Deadline.now() + UInt64(max(0, seconds) * 1e9) }
    public var passed: Bool { Deadline.now() >= end }
    public var remaining: Double { passed ? 0 : Double(end - Deadline.now()) / 1e9 }
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
