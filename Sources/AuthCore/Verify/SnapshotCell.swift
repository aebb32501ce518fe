import AuthCrypto
import Synchronization

/// One reader's announcement: the generation it may be reading, 0 when it reads nothing.
/// Each reader thread owns one; only the writer scans them.
final class ReaderSlot: Sendable {
    let active = Atomic<Int>(0)
}

/// The current snapshot of a process, read without a lock and without touching a shared
/// reference count: an atomic pointer, swapped by the one writer, and epoch-based reclamation
/// (a reader announces the generation it saw before loading the pointer; a replaced snapshot
/// is released only once no reader announced a generation older than its replacement).
/// Memory: the current snapshot plus, briefly, the ones readers were still inside.
final class SnapshotCell: @unchecked Sendable {
    private let pointer = Atomic<UnsafeMutableRawPointer?>(nil)
    private let generation = Atomic<Int>(1)
    /// Writer side, under `lock`: registered slots and replaced snapshots awaiting release.
    private let lock = Locked<(slots: [ReaderSlot], retired: [(generation: Int, snapshot: UnsafeMutableRawPointer)])>(([], []))

    init(_ initial: VerifySnapshot) {
        pointer.store(Unmanaged.passRetained(initial).toOpaque(), ordering: .sequentiallyConsistent)
    }

    deinit {
        if let p = pointer.load(ordering: .sequentiallyConsistent) { Unmanaged<VerifySnapshot>.fromOpaque(p).release() }
        lock.withLock { state in
            for r in state.retired { Unmanaged<VerifySnapshot>.fromOpaque(r.snapshot).release() }
        }
    }

    func register() -> ReaderSlot {
        let slot = ReaderSlot()
        lock.withLock { $0.slots.append(slot) }
        return slot
    }

    func unregister(_ slot: ReaderSlot) {
        lock.withLock { state in state.slots.removeAll { $0 === slot } }
    }

    /// Runs `body` on the current snapshot. Lock-free: two stores to the reader's own slot and
    /// two loads; `body` must not keep the snapshot past its return.
    @inline(__always)
    func read<R>(_ slot: ReaderSlot, _ body: (VerifySnapshot) -> R) -> R {
        slot.active.store(generation.load(ordering: .sequentiallyConsistent), ordering: .sequentiallyConsistent)
        defer { slot.active.store(0, ordering: .releasing) }
        let p = pointer.load(ordering: .sequentiallyConsistent)!
        return Unmanaged<VerifySnapshot>.fromOpaque(p)._withUnsafeGuaranteedRef(body)
    }

    /// The current snapshot, for the writer (which alone replaces it).
    var current: VerifySnapshot {
        Unmanaged<VerifySnapshot>.fromOpaque(pointer.load(ordering: .sequentiallyConsistent)!).takeUnretainedValue()
    }

    /// Replaces the snapshot (one writer at a time: the caller serializes) and releases every
    /// replaced snapshot no reader can still be inside.
    func publish(_ snapshot: VerifySnapshot) {
        let new = Unmanaged.passRetained(snapshot).toOpaque()
        let old = pointer.exchange(new, ordering: .sequentiallyConsistent)
        let tag = generation.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue
        lock.withLock { state in
            if let old { state.retired.append((tag, old)) }
            var oldest = Int.max
            for slot in state.slots {
                let g = slot.active.load(ordering: .sequentiallyConsistent)
                if g != 0 { oldest = min(oldest, g) }
            }
            // A reader that announced generation g may hold any snapshot replaced after g.
            state.retired.removeAll { entry in
                guard entry.generation <= oldest else { return false }
                Unmanaged<VerifySnapshot>.fromOpaque(entry.snapshot).release()
                return true
            }
        }
    }
}
