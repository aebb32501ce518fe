#if canImport(Glibc)
import Glibc
#endif

/// A session id's place in the compact table: `order` = a bijective mix of both halves (so the
/// top bits are spread evenly whatever the ids look like: the bucket index below relies on it)
/// and the low half. (order, lo) determines (hi, lo), so equal entries mean equal ids.
struct TableKey: Hashable, Sendable {
    let order: UInt64
    let lo: UInt64

    @inline(__always)
    init(_ k: SessionKey) {
        order = TableKey.mix(k.hi ^ TableKey.mix(k.lo))
        lo = k.lo
    }

    /// MurmurHash3's 64-bit finalizer: a bijection.
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z &>> 33)) &* 0xff51afd7ed558ccd
        z = (z ^ (z &>> 33)) &* 0xc4ceb9fe1a85ec53
        return z ^ (z &>> 33)
    }

    @inline(__always)
    static func < (a: TableKey, b: TableKey) -> Bool { a.order != b.order ? a.order < b.order : a.lo < b.lo }
}

/// One revoked session: 20 bytes (five 32-bit words, so no padding): the key and revoked_at in
/// seconds (unsigned 32 bits: until 2106).
struct RevokedEntry {
    var o1: UInt32, o0: UInt32, l1: UInt32, l0: UInt32
    var at: UInt32

    @inline(__always)
    init(_ k: TableKey, at: UInt32) {
        o1 = UInt32(truncatingIfNeeded: k.order &>> 32)
        o0 = UInt32(truncatingIfNeeded: k.order)
        l1 = UInt32(truncatingIfNeeded: k.lo &>> 32)
        l0 = UInt32(truncatingIfNeeded: k.lo)
        self.at = at
    }

    @inline(__always) var order: UInt64 { UInt64(o1) &<< 32 | UInt64(o0) }
    @inline(__always) var lo: UInt64 { UInt64(l1) &<< 32 | UInt64(l0) }
    @inline(__always) var key: TableKey { TableKey(order: order, lo: lo) }

    /// revoked_at as stored: clamped to 0...UInt32.max (a value past 2106 stays until then).
    @inline(__always)
    static func seconds(_ t: Int64) -> UInt32 { UInt32(clamping: t) }
}

extension TableKey {
    init(order: UInt64, lo: UInt64) {
        self.order = order
        self.lo = lo
    }
}

/// Anonymous memory of its own (mmap), so a replaced table's pages go back to the system at
/// once instead of staying in malloc's arenas: the resident size follows what is held.
final class TableMemory: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    private(set) var bytes: Int
    static let page = Int(sysconf(Int32(_SC_PAGESIZE)))

    init(bytes requested: Int) {
        let size = max(Self.page, (requested + Self.page - 1) / Self.page * Self.page)
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != UnsafeMutableRawPointer(bitPattern: -1) else {
            fatalError("verify state: cannot map \(size) bytes for the revoked sessions (errno \(errno))")
        }
        base = p
        bytes = size
    }

    /// Gives the pages past `used` back (the table ended smaller than reserved).
    func trim(to used: Int) {
        let keep = max(Self.page, (used + Self.page - 1) / Self.page * Self.page)
        guard keep < bytes else { return }
        munmap(base + keep, bytes - keep)
        bytes = keep
    }

    deinit { munmap(base, bytes) }
}

/// The revoked sessions of a verify state: a sorted array of 20-byte entries in memory of its
/// own, plus a bucket index on the top bits of the key (about 8 entries a bucket, 0.5 byte an
/// entry), so a lookup is two reads of the index and a binary search of a few entries; no
/// String, no per-entry allocation. Immutable once built: a change builds a new table by one
/// linear merge (the old one stays readable meanwhile, and is unmapped when released).
final class RevokedTable: @unchecked Sendable {
    private let memory: TableMemory?
    let entries: UnsafeMutablePointer<RevokedEntry>
    let count: Int
    private let index: UnsafeMutablePointer<UInt32>
    private let indexCount: Int
    private let shift: UInt64
    private let bits: Int
    /// Top bits every entry shares (a shard's number): the bucket index looks past them.
    private let skip: UInt64

    static let empty = RevokedTable()

    private init() {
        memory = nil
        entries = UnsafeMutablePointer(bitPattern: MemoryLayout<RevokedEntry>.alignment)!
        count = 0
        index = UnsafeMutablePointer<UInt32>.allocate(capacity: 2)
        index[0] = 0
        index[1] = 0
        indexCount = 2
        shift = 0
        bits = 0
        skip = 0
    }

    /// `memory` holds `count` sorted, distinct entries whose keys share their top `skip` bits.
    fileprivate init(memory: TableMemory, count: Int, skip: Int) {
        memory.trim(to: count * MemoryLayout<RevokedEntry>.stride)
        self.memory = memory
        entries = memory.base.assumingMemoryBound(to: RevokedEntry.self)
        self.count = count
        self.skip = UInt64(skip)
        var b = 0
        while (1 << (b + 1)) * 8 <= count && b < 64 - skip { b += 1 }
        bits = b
        shift = UInt64(64 - b)
        let buckets = 1 << b
        indexCount = buckets + 1
        index = UnsafeMutablePointer<UInt32>.allocate(capacity: indexCount)
        var i = 0
        for bucket in 0...buckets {
            while i < count && (bucket == buckets || bucketOf(entries[i].order) < bucket) { i += 1 }
            index[bucket] = UInt32(i)
        }
    }

    deinit { index.deallocate() }

    @inline(__always)
    private func bucketOf(_ order: UInt64) -> Int {
        bits == 0 ? 0 : Int(truncatingIfNeeded: (order &<< skip) &>> shift)
    }

    /// Bytes held: entries (page-rounded, their own mapping) and index (the structure's own
    /// accounting).
    var memoryBytes: Int { (memory?.bytes ?? 0) + indexCount * MemoryLayout<UInt32>.stride }

    @inline(__always)
    func contains(_ k: TableKey) -> Bool { find(k) != nil }

    /// revoked_at of `k`, nil when absent.
    @inline(__always)
    func find(_ k: TableKey) -> UInt32? {
        if count == 0 { return nil }
        let b = bucketOf(k.order)
        var lo = Int(index[b]), hi = Int(index[b + 1])
        while lo < hi {
            let m = (lo &+ hi) &>> 1
            let e = entries[m]
            let o = e.order
            if o == k.order {
                let l = e.lo
                if l == k.lo { return e.at }
                if l < k.lo { lo = m &+ 1 } else { hi = m }
            } else if o < k.order {
                lo = m &+ 1
            } else {
                hi = m
            }
        }
        return nil
    }

    /// These entries and `added` (sorted, distinct), the later revoked_at where both hold a key,
    /// without those in `removed` and those revoked before `cutoff`: one linear pass into a new
    /// table; never more than the two tables in memory.
    func merging(_ added: ArraySlice<(TableKey, UInt32)>, removed: Set<TableKey>, cutoff: Int64) -> RevokedTable {
        let floor = RevokedEntry.seconds(cutoff)
        let b = RevokedTableBuilder(capacity: count + added.count)
        var i = 0, j = added.startIndex
        while i < count || j < added.endIndex {
            var e: RevokedEntry
            if j == added.endIndex || (i < count && entries[i].key < added[j].0) {
                e = entries[i]; i += 1
            } else if i == count || added[j].0 < entries[i].key {
                e = RevokedEntry(added[j].0, at: added[j].1); j += 1
            } else {
                e = entries[i]; e.at = max(e.at, added[j].1); i += 1; j += 1
            }
            if e.at < floor || (!removed.isEmpty && removed.contains(e.key)) { continue }
            b.appendSorted(e)
        }
        return b.finish(sorted: true, cutoff: cutoff, skip: Int(skip))
    }
}

/// Builds a `RevokedTable` from rows as they are read (no String per row): append, then
/// `finish` sorts in place, folds duplicates (the later revoked_at wins) and drops entries
/// revoked before the cutoff.
final class RevokedTableBuilder: @unchecked Sendable {
    private var memory: TableMemory
    private var capacity: Int
    private(set) var count = 0
    private var p: UnsafeMutablePointer<RevokedEntry>

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        memory = TableMemory(bytes: self.capacity * MemoryLayout<RevokedEntry>.stride)
        p = memory.base.assumingMemoryBound(to: RevokedEntry.self)
    }

    func append(_ k: SessionKey, revokedAt: Int64) {
        appendSorted(RevokedEntry(TableKey(k), at: RevokedEntry.seconds(revokedAt)))
    }

    /// Appends as is (the caller keeps the order when it passes `sorted: true` to `finish`).
    @inline(__always)
    func appendSorted(_ e: RevokedEntry) {
        if count == capacity { grow() }
        p[count] = e
        count += 1
    }

    /// More rows than reserved (the count read before them moved): one copy, 1.5 times larger.
    private func grow() {
        let bigger = TableMemory(bytes: (capacity + capacity / 2) * MemoryLayout<RevokedEntry>.stride)
        bigger.base.copyMemory(from: memory.base, byteCount: count * MemoryLayout<RevokedEntry>.stride)
        memory = bigger
        capacity = bigger.bytes / MemoryLayout<RevokedEntry>.stride
        p = memory.base.assumingMemoryBound(to: RevokedEntry.self)
    }

    func finish(sorted: Bool, cutoff: Int64, skip: Int = 0) -> RevokedTable {
        if !sorted && count > 1 { Self.quicksort(p, 0, count - 1) }
        let floor = RevokedEntry.seconds(cutoff)
        var n = 0
        for i in 0..<count {
            let e = p[i]
            if n > 0 && p[n - 1].o1 == e.o1 && p[n - 1].o0 == e.o0 && p[n - 1].l1 == e.l1 && p[n - 1].l0 == e.l0 {
                p[n - 1].at = max(p[n - 1].at, e.at)
                continue
            }
            if n > 0 && p[n - 1].at < floor { n -= 1 }
            p[n] = e
            n += 1
        }
        if n > 0 && p[n - 1].at < floor { n -= 1 }
        if n == 0 { return .empty }
        return RevokedTable(memory: memory, count: n, skip: skip)
    }

    @inline(__always)
    private static func less(_ a: RevokedEntry, _ b: RevokedEntry) -> Bool {
        if a.o1 != b.o1 { return a.o1 < b.o1 }
        if a.o0 != b.o0 { return a.o0 < b.o0 }
        if a.l1 != b.l1 { return a.l1 < b.l1 }
        return a.l0 < b.l0
    }

    /// In place (no buffer: a 1,000,000-entry table is sorted in its own 20 MB), median of
    /// three, the smaller side first so the stack stays logarithmic; insertion sort below 16.
    private static func quicksort(_ a: UnsafeMutablePointer<RevokedEntry>, _ first: Int, _ last: Int) {
        var lo = first, hi = last
        while hi - lo > 16 {
            let mid = lo + (hi - lo) / 2
            if less(a[mid], a[lo]) { a.swapAt(lo, mid) }
            if less(a[hi], a[lo]) { a.swapAt(lo, hi) }
            if less(a[hi], a[mid]) { a.swapAt(mid, hi) }
            let pivot = a[mid]
            var i = lo, j = hi
            while i <= j {
                while less(a[i], pivot) { i += 1 }
                while less(pivot, a[j]) { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if j - lo < hi - i { quicksort(a, lo, j); lo = i } else { quicksort(a, i, hi); hi = j }
        }
        if hi > lo {
            for k in (lo + 1)...hi {
                let x = a[k]
                var m = k - 1
                while m >= lo && less(x, a[m]) { a[m + 1] = a[m]; m -= 1 }
                a[m + 1] = x
            }
        }
    }
}

private extension UnsafeMutablePointer where Pointee == RevokedEntry {
    @inline(__always)
    func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]
        self[i] = self[j]
        self[j] = t
    }
}
