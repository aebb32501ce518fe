/// All the revoked sessions but the most recent: the compact tables (20 bytes an entry, see
/// RevokedTable), one per shard of the key space (the top `shardBits` bits of a key's order),
/// and the rare odd ids as strings. Immutable; a merge replaces one shard at a time, so the
/// memory it needs beside the tables is one shard's (1/64th), never a second copy of them all.
final class RevokedBase: @unchecked Sendable {
    static let shardBits = 6
    static let shardCount = 1 << shardBits

    let shards: [RevokedTable]
    /// The same references, for lookups without retain/release and without a bounds check.
    private let raw: UnsafeMutablePointer<Unmanaged<RevokedTable>>
    let others: [String: Int64]
    let count: Int

    static let empty = RevokedBase(shards: Array(repeating: .empty, count: shardCount), others: [:])

    init(shards: [RevokedTable], others: [String: Int64]) {
        precondition(shards.count == Self.shardCount)
        self.shards = shards
        self.others = others
        raw = .allocate(capacity: Self.shardCount)
        var n = others.count
        for (i, t) in shards.enumerated() {
            raw[i] = Unmanaged.passUnretained(t)
            n += t.count
        }
        count = n
    }

    deinit { raw.deallocate() }

    @inline(__always)
    static func shard(_ k: TableKey) -> Int { Int(truncatingIfNeeded: k.order &>> UInt64(64 - shardBits)) }

    @inline(__always)
    func contains(_ k: TableKey) -> Bool {
        raw[Self.shard(k)]._withUnsafeGuaranteedRef { $0.contains(k) }
    }

    /// Bytes the tables hold (their own accounting).
    var memoryBytes: Int { shards.reduce(0) { $0 + $1.memoryBytes } }

    /// `shards` plus `recent`, minus `removed` and those revoked before `cutoff`, shard by shard:
    /// each a linear merge into a new table, after which `step` gets the shards as they are (the
    /// caller publishes them, `recent` still beside them, so the replaced table is released at
    /// once). Static, and the shards passed `inout`: nothing here holds the old tables but the
    /// one being merged. Returns the odd ids the result keeps.
    static func fold(_ shards: inout [RevokedTable], others: [String: Int64], recent: RevokedSessions,
                     removed: Set<String>, cutoff: Int64, step: ([RevokedTable]) -> Void) -> [String: Int64] {
        var added: [(TableKey, UInt32)] = []
        added.reserveCapacity(recent.keys.count)
        for (k, at) in recent.keys where at >= cutoff { added.append((TableKey(k), RevokedEntry.seconds(at))) }
        added.sort { $0.0 < $1.0 }
        var gone: [Set<TableKey>] = Array(repeating: [], count: shardCount)
        var o = others.filter { $0.value >= cutoff }
        for (key, at) in recent.others where at >= cutoff { o[key] = max(at, o[key] ?? at) }
        for sid in removed {
            if let k = SessionKey(sid) { gone[shard(TableKey(k))].insert(TableKey(k)) } else { o[sid] = nil }
        }
        var j = 0
        for i in 0..<shardCount {
            let from = j
            while j < added.count && shard(added[j].0) == i { j += 1 }
            shards[i] = shards[i].merging(added[from..<j], removed: gone[i], cutoff: cutoff)
            if i < shardCount - 1 { step(shards) }
        }
        return o
    }
}
