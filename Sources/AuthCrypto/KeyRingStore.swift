import Synchronization

/// The process-wide key ring, re-read when the file changes (e.g. after `authgate keys rotate`).
/// Reading `current` is a mutex-guarded copy; the file is stat'ed at most once per second, and a
/// changed file that does not parse leaves the previous ring in place.
public final class KeyRingStore: Sendable {
    private struct State {
        var ring: KeyRing
        var identity: FileIO.Identity?
        var checkedAt: Int64
    }

    public let path: String
    private let state: Locked<State>
    /// Bumped (under the mutex) whenever `state.ring` is replaced.
    private let generation = Atomic<Int>(0)

    public init(path: String) throws {
        self.path = path
        let identity = FileIO.identity(path: path)
        let ring = try KeyRing.load(path: path)
        state = Locked(State(ring: ring, identity: identity, checkedAt: FileIO.monotonicSeconds()))
    }

    public var current: KeyRing {
        let now = FileIO.monotonicSeconds()
        return state.withLock { state in
            if now != state.checkedAt {
                state.checkedAt = now
                reloadIfChanged(&state)
            }
            return state.ring
        }
    }

    /// A thread's copy of `current` for one monotonic second (see `current(cache:)`).
    public struct Snapshot {
        fileprivate var second: Int64 = .min
        fileprivate var generation = -1
        fileprivate var ring: KeyRing?
        public init() {}
    }

    /// The same ring `current` returns, without taking the process-wide mutex when this
    /// thread already read it during the current second and no reload happened since: `current`
    /// would not re-stat within that second either. (Profiled: the shared mutex made every
    /// verify thread contend on a futex.) The cache is per thread (e.g. one per worker).
    public func current(cache: inout Snapshot) -> KeyRing {
        let now = FileIO.monotonicSeconds()
        if now == cache.second, let ring = cache.ring, generation.load(ordering: .acquiring) == cache.generation {
            return ring
        }
        let (ring, gen) = state.withLock { state in
            if now != state.checkedAt {
                state.checkedAt = now
                reloadIfChanged(&state)
            }
            return (state.ring, generation.load(ordering: .relaxed))
        }
        cache.second = now
        cache.generation = gen
        cache.ring = ring
        return ring
    }

    /// Forces a stat now (tests, SIGHUP).
    public func reload() {
        state.withLock { reloadIfChanged(&$0) }
    }

    private func reloadIfChanged(_ state: inout State) {
        let identity = FileIO.identity(path: path)
        guard identity != state.identity, identity != nil else { return }
        // Remember the identity even when parsing fails, so a broken file is not re-read every second.
        state.identity = identity
        if let ring = try? KeyRing.load(path: path) {
            state.ring = ring
            generation.add(1, ordering: .releasing)
        }
    }
}
