public struct AuditEvent: Sendable, Equatable {
    public var id: Int64
    public var at: Int64
    public var tenantID: String?
    public var actor: String?
    public var event: String
    public var ip: String?
    public var detail: String?

    static let columns = "id, at, tenant_id, actor, event, ip, detail"

    init(row: Row) {
        id = row.int(0)
        at = row.int(1)
        tenantID = row.optionalText(2)
        actor = row.optionalText(3)
        event = row.text(4)
        ip = row.optionalText(5)
        detail = row.optionalText(6)
    }
}

public struct AuditRepository {
    let connection: Connection

    @discardableResult
    public func record(_ event: String, tenantID: String? = nil, actor: String? = nil, ip: String? = nil,
                       detail: String? = nil, at: Int64) throws -> Int64 {
        try connection.queryFirst(
            "INSERT INTO audit_events(at, tenant_id, actor, event, ip, detail) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            [.int(at), .text(tenantID), .text(actor), .text(event), .text(ip), .text(detail)]) { $0.int(0) } ?? 0
    }

    /// Newest first; `tenantID` nil = every tenant; `since` inclusive.
    public func list(tenantID: String? = nil, since: Int64? = nil, limit: Int = 100) throws -> [AuditEvent] {
        try connection.query("""
            SELECT \(AuditEvent.columns) FROM audit_events
            WHERE (CAST(?1 AS TEXT) IS NULL OR tenant_id = ?1) AND at >= ?2
            ORDER BY at DESC, id DESC LIMIT ?3
            """, [.text(tenantID), .int(since ?? Int64.min), .int(Int64(max(0, limit)))], AuditEvent.init)
    }

    /// Deletes events older than `before`; returns how many.
    @discardableResult
    public func prune(before: Int64) throws -> Int {
        try connection.execute("DELETE FROM audit_events WHERE at < ?", [.int(before)])
    }
}
