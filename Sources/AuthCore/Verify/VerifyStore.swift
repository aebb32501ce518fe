/// The one seam through which the verify path sees storage. The verify state (VerifyState)
/// asks a store for everything once (`loadAll`), then only for what changed after its
/// watermark (`changes`); a cheap `changeMarker()` tells it whether asking is worth it at all.
/// SQLite implements it with a trigger-written change log and the WAL-index header; a second
/// backend (PostgreSQL with LISTEN/NOTIFY) implements the same three calls. Never called on
/// the request path of a verify: only by the refresher, or after a write this process made.
/// Calls are serialized by the state (one at a time), so an implementation needs no lock.
public protocol VerifyStore: AnyObject {
    /// A cheap token that changes whenever anything may have been committed (nil when the
    /// store cannot tell cheaply: then `changes` is asked every time).
    func changeMarker() -> VerifyChangeMarker?
    /// Everything the state holds, consistent as of one watermark: sessions revoked at or after
    /// `revokedSince`, users that must change their password, users disabled at or after
    /// `disabledSince` (by `updated_at`), live API keys and nodes.
    func loadAll(revokedSince: Int64, disabledSince: Int64) throws -> VerifyLoad
    /// What changed after `watermark`, oldest first, at most `limit` changes; `.lost` when the
    /// log no longer holds every change after it (pruned, or a different database).
    func changes(after watermark: Int64, limit: Int, disabledSince: Int64) throws -> VerifyDelta
    /// True when a read may wait on the network (PostgreSQL): then a verify that finds the state
    /// stale refuses at once instead of refreshing it itself, and only the refresher reads.
    var mayBlock: Bool { get }
}

extension VerifyStore {
    public var mayBlock: Bool { false }
}

/// An opaque, comparable "state of the store" (SQLite: the WAL-index header).
public struct VerifyChangeMarker: Equatable, Sendable {
    var words: [UInt64]
    public init(_ words: [UInt64]) { self.words = words }
}

/// What a user's state means for their tokens; nil in `VerifyUserChange.check` = no block.
public struct VerifyUserChange: Sendable, Equatable {
    public var userID: String
    /// `.userDisabled`, `.passwordChangeRequired`, or nil (active, or the user is gone: its
    /// sessions are revoked tombstones, so its tokens read `.revoked` anyway).
    public var check: SessionCheck?
    public init(userID: String, check: SessionCheck?) {
        self.userID = userID
        self.check = check
    }
}

public struct VerifyLoad: Sendable {
    public var watermark: Int64
    /// The revoked sessions, as read into the compact table's builder.
    public var revoked: RevokedRows
    public var blockedUsers: [VerifyUserChange]
    public var apiKeys: [String: APIKeyIdentity]
    public var nodes: [String: NodeIdentity]
    public init(watermark: Int64, revoked: RevokedRows, blockedUsers: [VerifyUserChange],
                apiKeys: [String: APIKeyIdentity], nodes: [String: NodeIdentity]) {
        self.watermark = watermark
        self.revoked = revoked
        self.blockedUsers = blockedUsers
        self.apiKeys = apiKeys
        self.nodes = nodes
    }

    /// From (session id, revoked_at) pairs (tests, small stores).
    public init(watermark: Int64, revokedSessions: [(String, Int64)], blockedUsers: [VerifyUserChange],
                apiKeys: [String: APIKeyIdentity], nodes: [String: NodeIdentity]) {
        let rows = RevokedRows(capacity: revokedSessions.count)
        for (sid, at) in revokedSessions {
            var id = sid
            id.withUTF8 { rows.append(utf8: $0, revokedAt: at) }
        }
        self.init(watermark: watermark, revoked: rows, blockedUsers: blockedUsers, apiKeys: apiKeys, nodes: nodes)
    }
}

/// Revoked sessions as a store reads them, row by row, straight into the compact tables'
/// builders (one per shard, 20 bytes a row, no String); an id that is not a lowercase UUID (none
/// made by Authgate) is kept as a string beside them. One use: `finish` hands the memory to the
/// tables.
public final class RevokedRows: @unchecked Sendable {
    private let builders: [RevokedTableBuilder]
    private(set) var others: [String: Int64] = [:]

    /// `capacity`: the rows expected (a count read first), so each shard's memory is mapped once
    /// (keys are spread evenly over the shards; a shard that gets more grows by one copy of itself).
    public init(capacity: Int) {
        let per = capacity / RevokedBase.shardCount + capacity / (RevokedBase.shardCount * 16) + 16
        builders = (0..<RevokedBase.shardCount).map { _ in RevokedTableBuilder(capacity: per) }
    }

    public var count: Int { builders.reduce(others.count) { $0 + $1.count } }

    /// One row: the id column's bytes and revoked_at.
    public func append(utf8 id: UnsafeBufferPointer<UInt8>, revokedAt: Int64) {
        if let k = SessionKey(utf8: id) {
            let t = TableKey(k)
            builders[RevokedBase.shard(t)].appendSorted(RevokedEntry(t, at: RevokedEntry.seconds(revokedAt)))
        } else {
            let sid = String(decoding: id, as: UTF8.self)
            others[sid] = max(revokedAt, others[sid] ?? revokedAt)
        }
    }

    /// The base of a snapshot: each shard sorted in place, entries revoked before `cutoff` dropped.
    func finish(cutoff: Int64) -> RevokedBase {
        RevokedBase(shards: builders.map { $0.finish(sorted: false, cutoff: cutoff, skip: RevokedBase.shardBits) },
                    others: others.filter { $0.value >= cutoff })
    }
}

public enum VerifyDelta: Sendable {
    /// The changes after the watermark are no longer all there: rebuild with `loadAll`.
    case lost
    /// `keys`: the live API keys and nodes, when any of them changed (they are few: the
    /// whole live set is re-read, never the revoked ones).
    case changes(watermark: Int64, revokedSessions: [(String, Int64)], users: [VerifyUserChange],
                 keys: (apiKeys: [String: APIKeyIdentity], nodes: [String: NodeIdentity])?)
}
