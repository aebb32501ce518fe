import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a program run to completion printed, and how it ended.
public struct ChildOutput: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var lines: [String] { stdout.split(separator: "\n").map(String.init) }
}

extension Child {
    /// Runs `path args` to completion with `stdin` fed from a file, stdout and stderr captured in
    /// files (no pipe can fill or hang), within `timeout` seconds: past it the child is killed and
    /// this throws `WaitTimeout` naming the program.
    public static func run(_ path: String, _ args: [String], environment: [String: String]? = nil,
                           stdin: String? = nil, timeout: Double = 60) throws -> ChildOutput {
        let scratch = try TempDir("authgate-run")
        if let stdin { try stdin.write(toFile: scratch.path + "/in", atomically: false, encoding: .utf8) }
        let child = try spawn(path, args, environment: environment,
                              stdin: stdin == nil ? "/dev/null" : scratch.path + "/in",
                              stdout: scratch.path + "/out", stderr: scratch.path + "/err")
        let status = try child.wait(timeout: timeout, for: "\(child.name) \(args.prefix(3).joined(separator: " ")) to finish")
        return ChildOutput(status: status, stdout: scratch.read("out"), stderr: scratch.read("err"))
    }
}

/// A fresh private directory (mkdtemp under $TMPDIR or /tmp, mode 0700), removed with the object
/// unless AUTHGATE_KEEP_STACK is set.
public final class TempDir: @unchecked Sendable {
    public let path: String

    public init(_ prefix: String, parent: String? = nil) throws {
        let base = parent ?? (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp")
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SupportError("mkdtemp \(base)/\(prefix): \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
    }

    deinit {
        if ProcessInfo.processInfo.environment["AUTHGATE_KEEP_STACK"] == nil {
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// A file's text, "" when it is not there.
    public func read(_ name: String) -> String {
        (try? String(contentsOfFile: path + "/" + name, encoding: .utf8)) ?? ""
    }
}

/// Polls `condition` until it holds; throws `WaitTimeout("… waiting for <what>")` at the deadline.
public func waitFor(_ what: String, timeout: Double = 10, every pause: useconds_t = 10_000,
                    _ condition: () throws -> Bool) throws {
    let deadline = Deadline(timeout)
    while true {
        if try condition() { return }
        if deadline.passed { throw WaitTimeout("gave up after \(timeout) s waiting for \(what)") }
        usleep(pause)
    }
}

extension DispatchSemaphore {
    /// `wait()` with a deadline that names what it waited for.
    public func wait(seconds: Double, for what: String) throws {
        if wait(timeout: .now() + seconds) == .timedOut {
            throw WaitTimeout("gave up after \(seconds) s waiting for \(what)")
        }
    }
}

/// Per-index results of `onThreads`.
public final class ThreadResults<T>: @unchecked Sendable {
    let lock = NSLock()
    var items: [Result<T, any Error>?]
    init(_ n: Int) { items = Array(repeating: nil, count: n) }
}

/// Runs `body(i)` for i in 0..<n, each on its own OS thread; all threads are started first and
/// released together by one barrier (so their work overlaps). Results come back in index order;
/// a thread still running after `timeout` seconds makes this throw.
public func onThreads<T: Sendable>(_ n: Int, timeout: Double = 120,
                                   _ body: @escaping @Sendable (Int) throws -> T) throws -> [Result<T, any Error>] {
    let results = ThreadResults<T>(n)
    let ready = DispatchSemaphore(value: 0)
    let go = DispatchSemaphore(value: 0)
    let done = DispatchSemaphore(value: 0)
    for i in 0..<n {
        let thread = Thread {
            ready.signal()
            go.wait()
            let r = Result { try body(i) }
            results.lock.withLock { results.items[i] = r }
            done.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    do {
        // Released even when a thread failed to start, so none of them blocks forever.
        defer { for _ in 0..<n { go.signal() } }
        for i in 0..<n { try ready.wait(seconds: 30, for: "thread \(i) of \(n) to start") }
    }
    let deadline = Deadline(timeout)
    for i in 0..<n { try done.wait(seconds: max(0.001, deadline.remaining), for: "\(n - i) of \(n) threads to finish") }
    return results.lock.withLock { results.items.map { $0! } }
}

/// The products of this build: next to the running test binary, else `AUTHGATE_BIN_DIR`, else
/// the package's `.build/debug`.
public enum Binaries {
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static func path(_ name: String) -> String? {
        var dirs: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            dirs.append(URL(fileURLWithPath: exe).deletingLastPathComponent().path)
        }
        if let env = ProcessInfo.processInfo.environment["AUTHGATE_BIN_DIR"] { dirs.append(env) }
        dirs.append(repositoryRoot + "/.build/debug")
        return dirs.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public static func require(_ name: String) throws -> String {
        guard let p = path(name) else { throw SupportError("\(name) is not built (looked next to the test binary and in .build/debug)") }
        return p
    }
}

/// Resident set size of a process in KiB; throws when it cannot be read (a missing measurement
/// must fail the test, never read as 0).
public func residentKiB(pid: pid_t) throws -> Int {
    let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        if let v = Int(line.split(separator: " ").dropFirst().first ?? "") { return v }
    }
    throw SupportError("no VmRSS in /proc/\(pid)/status")
}

/// Raises this process's open-file soft limit to its hard limit (tests holding 1,000+ sockets).
public func raiseFileLimit() {
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
}
