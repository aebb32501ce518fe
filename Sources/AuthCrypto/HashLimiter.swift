import Dispatch
import Synchronization

public struct HashLimiterBusy: Error {
    public init() {}
}

/// Bounds concurrent password hashing (each scrypt holds ~32 MiB and a core for ~100 ms):
/// at most `concurrency` bodies run at once, at most `queue` callers wait for a slot, and any
/// caller beyond that is refused at once with `HashLimiterBusy` (the API answers 503).
public final class HashLimiter: Sendable {
    private let slots: DispatchSemaphore
    private let admitted = Atomic<Int>(0)
    private let capacity: Int

    public init(concurrency: Int, queue: Int) {
        precondition(concurrency > 0 && queue >= 0)
        slots = DispatchSemaphore(value: concurrency)
        capacity = concurrency + queue
    }

    /// Callers currently running or waiting.
    public var pending: Int { admitted.load(ordering: .relaxed) }

    public func run<T>(_ body: () throws -> T) throws -> T {
        let position = admitted.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue
        defer { admitted.wrappingSubtract(1, ordering: .acquiringAndReleasing) }
        guard position <= capacity else { throw HashLimiterBusy() }
        slots.wait()
        defer { slots.signal() }
        return try body()
    }
}
