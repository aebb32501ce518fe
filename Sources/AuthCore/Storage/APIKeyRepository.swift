public struct APIKey: Sendable, Equatable {
    public var id: String
    public var projectID: String
    public var tenantID: String
    public var name: String
    public var prefix: String
    public var keyHash: String
    public var createdAt: Int64
    public var lastUsedAt: Int64?
    public var revokedAt: Int64?

    static let columns = "id, project_id, tenant_id, name, prefix, key_hash, created_at, last_used_at, revoked_at"

    init(row: Row) {
        id = row.text(0)
        projectID = row.text(1)
        tenantID = row.text(2)
        name = row.text(3)
        prefix = row.text(4)
        keyHash = row.text(5)
        createdAt = row.int(6)
        lastUsedAt = row.optionalInt(7)
        revokedAt = row.optionalInt(8)
    }
}

public struct APIKeyRepository {
    let connection: Connection

    /// The tenant is copied from the project. Throws `isNotFound` when the project does
    /// not exist, `isUniqueViolation` when the digest exists. Logged in verify_changes (the verify state applies it).
    public func create(projectID: String, name: String, prefix: String, keyHash: String, now: Int64) throws -> APIKey {
        let sql = """
            INSERT INTO api_keys(id, project_id, tenant_id, name, prefix, key_hash, created_at)
            SELECT ?, id, tenant_id, ?, ?, ?, ? FROM projects WHERE id = ?
            RETURNING \(APIKey.columns)
            """
        let args: [SQLValue] = [.text(StorageIDs.random()), .text(name), .text(prefix), .text(keyHash), .int(now), .text(projectID)]
        guard let key = try connection.queryFirst(sql, args, APIKey.init) else { throw StorageError.notFound("project") }
        return key
    }

    /// Every key of the project, revoked ones included (check `revokedAt`), oldest first.
    public func list(projectID: String) throws -> [APIKey] {
        try connection.query("SELECT \(APIKey.columns) FROM api_keys WHERE project_id = ? ORDER BY created_at, rowid",
                             [.text(projectID)], APIKey.init)
    }

    /// By hex SHA-256 digest, revoked or not.
    public func byHash(_ keyHash: String) throws -> APIKey? {
        try connection.queryFirst("SELECT \(APIKey.columns) FROM api_keys WHERE key_hash = ?", [.text(keyHash)], APIKey.init)
    }

    public func byID(_ id: String) throws -> APIKey? {
        try connection.queryFirst("SELECT \(APIKey.columns) FROM api_keys WHERE id = ?", [.text(id)], APIKey.init)
    }

    /// True when a live key was revoked now (an already revoked key keeps its first date).
    @discardableResult
    public func revoke(id: String, now: Int64) throws -> Bool {
        try connection.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                               [.int(now), .text(id)]) > 0
    }

    /// Batched last_used_at update (one transaction); not logged in verify_changes.
    public func touch(ids: [String], at: Int64) throws {
        guard !ids.isEmpty else { return }
        try connection.transaction(immediate: true) {
            for id in ids {
                try connection.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                                       [.int(at), .text(id), .int(at)])
            }
        }
    }
}
