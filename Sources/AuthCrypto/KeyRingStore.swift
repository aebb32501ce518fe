#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The process-wide key ring, re-read when the file changes (e.g. after `authgate keys rotate`).
/// Reading `current` is a mutex-guarded copy; the file is stat'ed at most once per second, and a
/// changed file that does not parse leaves the previous ring in place.
public final class KeyRingStore: Sendable {
    private struct State {
        var ring: KeyRing
        var identity: FileIO.Identity?
        var checkedAt: Int64
        /// Why the file on disk is not the ring in use (unreadable, bad mode, bad content); nil when it is.
        var problem: String?
    }

    public let path: String
    private let state: Locked<State>
    /// Bumped (under the mutex) whenever `state.ring` is replaced.
    private let generation = Atomic<Int>(0)

    /// Called (outside no lock order of importance, under the store's mutex) when a changed file
    /// cannot be loaded or a problem clears: the processes log it loudly.
    private let onProblem: (@Sendable (String?) -> Void)?

    public init(path: String, onProblem: (@Sendable (String?) -> Void)? = nil) throws {
        self.path = path
        self.onProblem = onProblem
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

    /// Forces a stat now (tests). `reload(force: true)` re-reads the file even when it looks
    /// unchanged (SIGHUP); returns the problem, if any.
    @discardableResult
    public func reload(force: Bool = false) -> String? {
        state.withLock { state in
            if force { state.identity = nil }
            reloadIfChanged(&state)
            return state.problem
        }
    }

    /// Nil while the ring in use is the file on disk; else why not (health, doctor).
    public var problem: String? {
        _ = current
        return state.withLock { $0.problem }
    }

    /// The kid that signs now.
    public var signingKid: String { current.signing.kid }

    private func reloadIfChanged(_ state: inout State) {
        let identity = FileIO.identity(path: path)
        if identity == nil {
            // Gone or unreadable directory: say so once, keep signing with the ring in memory.
            let why = "key ring \(path) cannot be read (\(String(cString: strerror(errno)))); still using the ring loaded before (signing kid \(state.ring.signing.kid))"
            if state.problem == nil { state.problem = why; onProblem?(why) }
            state.identity = nil   // so the file is loaded again as soon as it can be stat'ed
            return
        }
        guard identity != state.identity else { return }
        // Remember the identity even when parsing fails, so a broken file is not re-read every second.
        state.identity = identity
        do {
            let ring = try KeyRing.load(path: path)
            state.ring = ring
            generation.add(1, ordering: .releasing)
            if state.problem != nil { state.problem = nil; onProblem?(nil) }
        } catch {
            let why = "key ring \(path) changed but cannot be loaded: \(error); still signing with kid \(state.ring.signing.kid)"
            state.problem = why
            onProblem?(why)
        }
    }
}
