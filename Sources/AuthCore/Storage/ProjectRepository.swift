public struct Project: Sendable, Equatable {
    public var id: String
    public var tenantID: String
    public var name: String
    public var createdAt: Int64

    static let columns = "id, tenant_id, name, created_at"

    init(row: Row) {
        id = row.text(0)
        tenantID = row.text(1)
        name = row.text(2)
        createdAt = row.int(3)
    }
}

public struct ProjectRepository {
    let connection: Connection

    /// Throws a StorageError with `isNotFound` when the tenant does not exist.
    public func create(tenantID: String, name: String, now: Int64) throws -> Project {
        let sql = "INSERT INTO projects(id, tenant_id, name, created_at) VALUES (?, ?, ?, ?) RETURNING \(Project.columns)"
        let args: [SQLValue] = [.text(StorageIDs.random()), .text(tenantID), .text(name), .int(now)]
        guard let project = try connection.queryFirst(sql, args, Project.init) else { throw StorageError.notFound("project") }
        return project
    }

    public func byID(_ id: String) throws -> Project? {
        try connection.queryFirst("SELECT \(Project.columns) FROM projects WHERE id = ?", [.text(id)], Project.init)
    }

    /// Oldest first.
    public func list(tenantID: String) throws -> [Project] {
        try connection.query("SELECT \(Project.columns) FROM projects WHERE tenant_id = ? ORDER BY created_at, rowid",
                             [.text(tenantID)], Project.init)
    }
}
