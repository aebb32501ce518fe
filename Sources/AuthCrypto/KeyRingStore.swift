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
    private let state: Mutex<State>

    public init(path: String) throws {
        self.path = path
        let identity = FileIO.identity(path: path)
        let ring = try KeyRing.load(path: path)
        state = Mutex(State(ring: ring, identity: identity, checkedAt: FileIO.monotonicSeconds()))
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

    /// Forces a stat now (tests, SIGHUP).
    public func reload() {
        state.withLock { reloadIfChanged(&$0) }
    }

    private func reloadIfChanged(_ state: inout State) {
        let identity = FileIO.identity(path: path)
        guard identity != state.identity, identity != nil else { return }
        // Remember the identity even when parsing fails, so a broken file is not re-read every second.
        state.identity = identity
        if let ring = try? KeyRing.load(path: path) { state.ring = ring }
    }
}
