import AuthCrypto
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What the log says while the store is full or failing: the first failure of a burst in full
/// (what failed, the statement, the database's message), then at most one summary line every
/// `interval` seconds ("N more in the last X s"), then one line when a write succeeds again.
/// A full disk under load is thousands of failing requests a second: one line each would fill
/// the journal too, and bury the first, most useful, line. Shared by every worker of a process.
public final class StorageFailureLog: Sendable {
    struct State {
        var failing = false
        var burstStart = 0.0
        var lastLine = 0.0
        var total = 0
        var pending = 0
        var pendingKinds: [String: Int] = [:]
    }
    private let state = Locked(State())
    /// Read without the lock by every successful write: nothing to do unless a burst is open.
    private let failing = Atomic<Bool>(false)
    let interval: Double

    public init(interval: Double = 5) { self.interval = interval }

    /// One failure (`kind`: StorageError.Failure's raw value; `what`: the error, never a secret).
    /// Returns the line it logged, if any.
    @discardableResult
    public func note(kind: String, what: String, log: Logger, now: Double = StorageFailureLog.monotonic()) -> String? {
        let line: String? = state.withLock { s in
            s.total += 1
            if !s.failing {
                s.failing = true
                s.burstStart = now
                s.lastLine = now
                s.pending = 0
                s.pendingKinds = [:]
                failing.store(true, ordering: .relaxed)
                return "storage unavailable (\(kind)): \(what); answering 503 storage_unavailable; "
                    + "further failures are summarised at most every \(Int(interval)) s"
            }
            s.pending += 1
            s.pendingKinds[kind, default: 0] += 1
            guard now - s.lastLine >= interval else { return nil }
            let text = "storage still unavailable: \(s.pending) more failure(s) in the last "
                + String(format: "%.1f", now - s.lastLine) + " s (\(Self.kinds(s.pendingKinds))); latest: \(what)"
            s.lastLine = now
            s.pending = 0
            s.pendingKinds = [:]
            return text
        }
        if let line { log.error(line) }
        return line
    }

    /// A write committed: closes an open burst with one line (returned).
    @discardableResult
    public func recovered(log: Logger, now: Double = StorageFailureLog.monotonic()) -> String? {
        guard failing.load(ordering: .relaxed) else { return nil }
        let line: String? = state.withLock { s in
            guard s.failing else { return nil }
            s.failing = false
            failing.store(false, ordering: .relaxed)
            let text = "storage writable again after \(s.total) failure(s) in "
                + String(format: "%.1f", now - s.burstStart) + " s"
                + (s.pending > 0 ? " (\(s.pending) since the last line: \(Self.kinds(s.pendingKinds)))" : "")
            s.total = 0
            s.pending = 0
            s.pendingKinds = [:]
            return text
        }
        if let line { log.info(line) }
        return line
    }

    public var isFailing: Bool { failing.load(ordering: .relaxed) }

    static func kinds(_ counts: [String: Int]) -> String {
        counts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
    }

    public static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
