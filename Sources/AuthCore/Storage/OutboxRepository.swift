/// One message of the outbox. `message` (the rendered RFC 5322 text, with its link) is nil once
/// the row is sent: a sent row keeps the metadata only.
public struct OutboxMessage: Sendable, Equatable {
    public var id: Int64
    public var kind: String
    public var recipient: String
    public var subject: String
    public var message: String?
    public var status: String
    public var attempts: Int
    public var nextAttemptMillis: Int64
    public var createdAt: Int64
    public var sentAt: Int64?
    public var lastError: String?

    static let columns = "id, kind, recipient, subject, message, status, attempts, next_attempt_ms, created_at, sent_at, last_error"

    init(row: Row) {
        id = row.int(0)
        kind = row.text(1)
        recipient = row.text(2)
        subject = row.text(3)
        message = row.optionalText(4)
        status = row.text(5)
        attempts = Int(row.int(6))
        nextAttemptMillis = row.int(7)
        createdAt = row.int(8)
        sentAt = row.optionalInt(9)
        lastError = row.optionalText(10)
    }
}

/// What `authgate mail status` and the metrics show.
public struct OutboxSummary: Sendable, Equatable {
    public var pending = 0
    public var sent = 0
    public var dead = 0
    /// Seconds since the oldest pending message was written (0: none pending).
    public var oldestPendingSeconds: Int64 = 0
}

/// The durable outbox on both stores. A flow enqueues in the transaction that creates its token;
/// senders claim due rows one at a time: PostgreSQL `FOR UPDATE SKIP LOCKED` (hosts never wait on
/// each other's claims), SQLite's write transaction; a claim moves `next_attempt_ms` forward by
/// the lease, so a sender that dies mid-delivery leaves the row to be retried after it.
public struct OutboxRepository {
    let connection: Connection

    @discardableResult
    public func enqueue(kind: String, recipient: String, subject: String, message: String,
                        now: Int64, nowMillis: Int64) throws -> Int64 {
        guard let id = try connection.queryFirst("""
            INSERT INTO mail_outbox(kind, recipient, subject, message, next_attempt_ms, created_at)
            VALUES (?, ?, ?, ?, ?, ?) RETURNING id
            """, [.text(kind), .text(recipient), .text(subject), .text(message), .int(nowMillis), .int(now)], { $0.int(0) })
        else { throw StorageError.notFound("outbox row") }
        return id
    }

    /// Removes a row written in the same transaction (the forgot route's equal work for no account).
    public func discard(id: Int64) throws {
        try connection.execute("DELETE FROM mail_outbox WHERE id = ?", [.int(id)])
    }

    /// Claims the oldest due pending message (nil: none due), leasing it for `leaseMillis`.
    public func claim(nowMillis: Int64, leaseMillis: Int64) throws -> OutboxMessage? {
        try connection.transaction(immediate: true) {
            let lock = connection.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
            guard let row = try connection.queryFirst("""
                SELECT \(OutboxMessage.columns) FROM mail_outbox
                WHERE status = 'pending' AND next_attempt_ms <= ? ORDER BY next_attempt_ms, id LIMIT 1
                """ + lock, [.int(nowMillis)], OutboxMessage.init) else { return nil }
            try connection.execute("UPDATE mail_outbox SET next_attempt_ms = ? WHERE id = ?",
                                   [.int(nowMillis + leaseMillis), .int(row.id)])
            return row
        }
    }

    /// Delivered: the rendered message (and its link) is erased, the metadata stays.
    public func markSent(id: Int64, now: Int64) throws {
        try connection.execute("""
            UPDATE mail_outbox SET status = 'sent', message = NULL, sent_at = ?, attempts = attempts + 1, last_error = NULL
            WHERE id = ?
            """, [.int(now), .int(id)])
    }

    /// A failed attempt: retried at `retryAtMillis`, or dead (`dead`).
    public func markFailed(id: Int64, error: String, dead: Bool, retryAtMillis: Int64) throws {
        try connection.execute("""
            UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?, status = ?, next_attempt_ms = ?
            WHERE id = ? AND status = 'pending'
            """, [.text(String(error.prefix(300))), .text(dead ? "dead" : "pending"), .int(retryAtMillis), .int(id)])
    }

    /// Dead messages (or one) back to pending, due now, with a fresh count; their rendered text
    /// must still be there (`authgate mail retry`). Returns how many.
    @discardableResult
    public func retryDead(id: Int64?, nowMillis: Int64) throws -> Int {
        var sql = "UPDATE mail_outbox SET status = 'pending', attempts = 0, next_attempt_ms = ? WHERE status = 'dead' AND message IS NOT NULL"
        var args: [SQLValue] = [.int(nowMillis)]
        if let id { sql += " AND id = ?"; args.append(.int(id)) }
        return try connection.execute(sql, args)
    }

    public func byID(_ id: Int64) throws -> OutboxMessage? {
        try connection.queryFirst("SELECT \(OutboxMessage.columns) FROM mail_outbox WHERE id = ?", [.int(id)], OutboxMessage.init)
    }

    /// Newest first.
    public func recent(limit: Int) throws -> [OutboxMessage] {
        try connection.query("SELECT \(OutboxMessage.columns) FROM mail_outbox ORDER BY id DESC LIMIT ?",
                             [.int(Int64(limit))], OutboxMessage.init)
    }

    public func summary(now: Int64) throws -> OutboxSummary {
        var s = OutboxSummary()
        try connection.forEachRow("SELECT status, count(*), min(created_at) FROM mail_outbox GROUP BY status") { row in
            let n = Int(row.int(1))
            switch row.text(0) {
            case "pending":
                s.pending = n
                s.oldestPendingSeconds = max(0, now - row.int(2))
            case "sent": s.sent = n
            default: s.dead = n
            }
        }
        return s
    }

    /// Maintenance: sent rows' metadata older than `before` goes; a dead row's rendered text
    /// (its link expired long ago) is erased after the same time.
    public func prune(before: Int64) throws {
        try connection.execute("DELETE FROM mail_outbox WHERE status = 'sent' AND sent_at < ?", [.int(before)])
        try connection.execute("UPDATE mail_outbox SET message = NULL WHERE status = 'dead' AND created_at < ?", [.int(before)])
    }
}
