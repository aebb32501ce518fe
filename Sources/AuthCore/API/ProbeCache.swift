import AuthCrypto
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `/api/v1/ready` and `/api/v1/health` are public and un-throttled (review finding 15): their
/// database work (a write transaction, a `SELECT 1`) runs at most once a second per process,
/// whatever the request rate; every other request gets the last answer. While one thread checks,
/// the others answer from the previous result instead of queueing behind it (a database stuck
/// on its busy handler must not pin every responder thread). What failed, with paths, uid and
/// errno text, goes to the log when the outcome changes, never into the public answer.
public final class ProbeCache: Sendable {
    public enum Probe: Int, Sendable { case ready = 0, health = 1 }

    public struct Outcome: Sendable, Equatable {
        public var ok: Bool
        /// Public, stable words (`database`, `key_ring`, `verify_state`): no detail.
        public var failing: [String]
        /// The details, for the log only.
        public var details: [String]
    }

    /// How long an outcome answers for its probe.
    public static let maxAgeNanos: Int64 = 1_000_000_000

    private let last = Locked<[(outcome: Outcome, at: Int64)?]>([nil, nil])
    private let checking = Locked<[Bool]>([false, false])
    private let checks = Atomic<Int>(0)

    public init() {}

    /// Probes that actually did their checks (database work) since start.
    public var checksRun: Int { checks.load(ordering: .relaxed) }

    /// The outcome of `probe`: the cached one while under a second old (or while another thread
    /// is checking), else `check()` run by this thread. `log` gets the details when they change.
    func outcome(_ probe: Probe, log: Logger, check: () -> Outcome) -> Outcome {
        let i = probe.rawValue
        let now = Self.monotonicNanos()
        let previous = last.withLock { $0[i] }
        if let previous, now - previous.at < Self.maxAgeNanos { return previous.outcome }
        let mine = checking.withLock { busy -> Bool in
            if busy[i] { return false }
            busy[i] = true
            return true
        }
        // Another thread is checking: its predecessor's answer. Only at the very first request
        // of a process is there none, and then this thread checks too.
        if !mine, let previous { return previous.outcome }
        defer { if mine { checking.withLock { $0[i] = false } } }
        checks.add(1, ordering: .relaxed)
        let fresh = check()
        last.withLock { $0[i] = (fresh, Self.monotonicNanos()) }
        if fresh.details != previous?.outcome.details {
            let name = probe == .ready ? "readiness" : "health"
            if fresh.details.isEmpty {
                if previous != nil { log.info("\(name): ok again") }
            } else {
                log.warning("\(name): \(fresh.details.joined(separator: "; "))")
            }
        }
        return fresh
    }

    static func monotonicNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
