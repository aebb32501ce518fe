public struct Node: Sendable, Equatable {
    public var id: String
    public var tenantID: String
    public var name: String
    public var keyHash: String
    public var createdAt: Int64
    public var revokedAt: Int64?

    static let columns = "id, tenant_id, name, api_key_hash, created_at, revoked_at"

    init(row: Row) {
        id = row.text(0)
        tenantID = row.text(1)
        name = row.text(2)
        keyHash = row.text(3)
        createdAt = row.int(4)
        revokedAt = row.optionalInt(5)
    }
}

public struct NodeRepository {
    let connection: Connection

    /// Throws `isNotFound` for an unknown tenant, `isUniqueViolation` for a known digest.
    /// Logged in verify_changes (the verify state applies it).
    public func create(tenantID: String, name: String, keyHash: String, now: Int64) throws -> Node {
        let sql = "INSERT INTO nodes(id, tenant_id, name, api_key_hash, created_at) VALUES (?, ?, ?, ?, ?) RETURNING \(Node.columns)"
        let args: [SQLValue] = [.text(StorageIDs.random()), .text(tenantID), .text(name), .text(keyHash), .int(now)]
        guard let node = try connection.queryFirst(sql, args, Node.init) else { throw StorageError.notFound("node") }
        return node
    }

    /// Every node of the tenant, revoked ones included, oldest first.
    public func list(tenantID: String) throws -> [Node] {
        try connection.query("SELECT \(Node.columns) FROM nodes WHERE tenant_id = ? ORDER BY created_at, rowid",
                             [.text(tenantID)], Node.init)
    }

    public func byHash(_ keyHash: String) throws -> Node? {
        try connection.queryFirst("SELECT \(Node.columns) FROM nodes WHERE api_key_hash = ?", [.text(keyHash)], Node.init)
    }

    public func byID(_ id: String) throws -> Node? {
        try connection.queryFirst("SELECT \(Node.columns) FROM nodes WHERE id = ?", [.text(id)], Node.init)
    }

    @discardableResult
    public func revoke(id: String, now: Int64) throws -> Bool {
        try connection.execute("UPDATE nodes SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                               [.int(now), .text(id)]) > 0
    }
}
