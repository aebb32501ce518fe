/// A session id as 128 bits when it is a lowercase UUID (every id Authgate makes): 16 bytes
/// per revoked session instead of a 36-character heap string.
struct SessionKey: Hashable, Sendable {
    let hi: UInt64
    let lo: UInt64

    /// nil for anything but `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in lowercase hex.
    init?(_ id: String) {
        var text = id
        guard let k = text.withUTF8({ SessionKey(utf8: $0) }) else { return nil }
        self = k
    }

    /// The same from the bytes of a column, without making a String.
    @inline(__always)
    init?(utf8 b: UnsafeBufferPointer<UInt8>) {
        guard b.count == 36, b[8] == UInt8(ascii: "-"), b[13] == UInt8(ascii: "-"), b[18] == UInt8(ascii: "-"),
              b[23] == UInt8(ascii: "-") else { return nil }
        // Each digit's value, or 0xFF for anything but 0-9 a-f (OR-ed into `bad`): the dashes
        // checked once, no switch per byte (that walk was 0.9k instructions of an allowed verify).
        @inline(__always) func digit(_ c: UInt8) -> UInt8 {
            let d = c &- UInt8(ascii: "0"), l = c &- UInt8(ascii: "a")
            return d < 10 ? d : (l < 6 ? l &+ 10 : 0xFF)
        }
        var hi: UInt64 = 0, lo: UInt64 = 0, bad: UInt8 = 0
        for i in 0..<18 where i != 8 && i != 13 {
            let v = digit(b[i])
            bad |= v
            hi = hi << 4 | UInt64(v & 0x0F)
        }
        for i in 19..<36 where i != 23 {
            let v = digit(b[i])
            bad |= v
            lo = lo << 4 | UInt64(v & 0x0F)
        }
        guard bad < 16 else { return nil }
        self.hi = hi
        self.lo = lo
    }
}

/// Recently revoked sessions (a few thousand at most) with their revoked_at: the small set a
/// change copies. Immutable; shared between snapshots.
final class RevokedSessions: Sendable {
    let keys: [SessionKey: Int64]
    /// Ids that are not lowercase UUIDs (none made by Authgate), kept as exact strings.
    let others: [String: Int64]

    static let empty = RevokedSessions(keys: [:], others: [:])

    init(keys: [SessionKey: Int64], others: [String: Int64]) {
        self.keys = keys
        self.others = others
    }

    var count: Int { keys.count + others.count }

    func contains(_ sid: String) -> Bool {
        if let k = SessionKey(sid) { return keys[k] != nil }
        return others[sid] != nil
    }

    /// These entries plus `added`, minus `removed` and those revoked before `cutoff`.
    func merging(_ added: RevokedSessions, removed: Set<String> = [], cutoff: Int64) -> RevokedSessions {
        var k = keys.filter { $0.value >= cutoff }
        var o = others.filter { $0.value >= cutoff }
        k.reserveCapacity(k.count + added.keys.count)
        for (key, at) in added.keys where at >= cutoff { k[key] = max(at, k[key] ?? at) }
        for (key, at) in added.others where at >= cutoff { o[key] = max(at, o[key] ?? at) }
        for sid in removed {
            if let key = SessionKey(sid) { k[key] = nil } else { o[sid] = nil }
        }
        return RevokedSessions(keys: k, others: o)
    }
}

/// Everything a verify consults, immutable. A new snapshot shares the large `base` with the one
/// before and copies only the small `recent` set, so applying a change costs what the change is,
/// not what the state holds; `recent` is merged into a new `base` when it grows past
/// `recentLimit` and at each compaction (which also drops expired entries).
final class VerifySnapshot: Sendable {
    static let recentLimit = 4096

    let base: RevokedBase
    let recent: RevokedSessions
    let blockedUsers: [String: SessionCheck]
    let apiKeys: [String: APIKeyIdentity]
    let nodes: [String: NodeIdentity]
    /// The store's watermark these contents are current to.
    let watermark: Int64

    init(base: RevokedBase, recent: RevokedSessions, blockedUsers: [String: SessionCheck],
         apiKeys: [String: APIKeyIdentity], nodes: [String: NodeIdentity], watermark: Int64) {
        self.base = base
        self.recent = recent
        self.blockedUsers = blockedUsers
        self.apiKeys = apiKeys
        self.nodes = nodes
        self.watermark = watermark
    }

    static let empty = VerifySnapshot(base: .empty, recent: .empty, blockedUsers: [:], apiKeys: [:], nodes: [:],
                                      watermark: -1)

    var revokedCount: Int { base.count + recent.count }

    func isRevoked(_ sid: String) -> Bool { isRevoked(key: SessionKey(sid), sid: sid) }

    /// `key`: `SessionKey(sid)`.
    func isRevoked(key: SessionKey?, sid: String) -> Bool {
        if let k = key {
            return (!recent.keys.isEmpty && recent.keys[k] != nil) || base.contains(TableKey(k))
        }
        return recent.others[sid] != nil || base.others[sid] != nil
    }

    /// Revocation wins over the user's state.
    func sessionCheck(sid: String, userID: String) -> SessionCheck {
        sessionCheck(key: SessionKey(sid), sid: sid, userID: userID)
    }

    func sessionCheck(key: SessionKey?, sid: String, userID: String) -> SessionCheck {
        if isRevoked(key: key, sid: sid) { return .revoked }
        if blockedUsers.isEmpty { return .ok }
        return blockedUsers[userID] ?? .ok
    }
}

/// Builds the `RevokedSessions` for a list of (id, revoked_at), without those revoked before
/// `cutoff`; `Int64.min` as revoked_at means "no longer revoked" (returned in `removed`).
func revokedSessions(_ rows: [(String, Int64)], cutoff: Int64) -> (RevokedSessions, removed: Set<String>) {
    var keys: [SessionKey: Int64] = [:]
    var others: [String: Int64] = [:]
    var removed: Set<String> = []
    keys.reserveCapacity(rows.count)
    for (sid, revokedAt) in rows {
        if revokedAt == Int64.min { removed.insert(sid); continue }
        guard revokedAt >= cutoff else { continue }
        if let k = SessionKey(sid) { keys[k] = max(revokedAt, keys[k] ?? revokedAt) }
        else { others[sid] = max(revokedAt, others[sid] ?? revokedAt) }
    }
    return (RevokedSessions(keys: keys, others: others), removed)
}
