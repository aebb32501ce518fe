#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A value behind a pthread mutex: what `Synchronization.Mutex` does, in a form ThreadSanitizer
/// understands. On Linux, Swift 6's `Mutex` locks with futex calls inside the (uninstrumented)
/// runtime, so TSan sees no happens-before edge and reports every access it protects as a race
/// (measured: a 20-line program with `Mutex<Int>` and 4 threads reports races under
/// `-sanitize=thread`). TSan intercepts `pthread_mutex_*`, so `make test-tsan` checks the code
/// that matters (SnapshotCell, VerifyState, KeyRingStore) without suppressions. Uncontended
/// cost is the same (one atomic each way); no lock here is on the verify hot path.
public final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    public func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
