public struct Tenant: Sendable, Equatable {
    public var id: String
    public var name: String
    public var domain: String
    public var isPlatform: Bool
    public var createdAt: Int64
    /// Issue 23: logins of users whose address is not verified are refused (`email_not_verified`).
    public var requireVerifiedEmail: Bool

    static let columns = "id, name, domain, is_platform, created_at, require_verified_email"

    init(row: Row) {
        id = row.text(0)
        name = row.text(1)
        domain = row.text(2)
        isPlatform = row.bool(3)
        createdAt = row.int(4)
        requireVerifiedEmail = row.bool(5)
    }
}

public struct TenantRepository {
    let connection: Connection

    /// Issue 23: the tenant's `require_verified_email`; false for an unknown tenant.
    @discardableResult
    public func setRequireVerifiedEmail(tenantID: String, _ on: Bool) throws -> Bool {
        try connection.execute("UPDATE tenants SET require_verified_email = ? WHERE id = ?", [.bool(on), .text(tenantID)]) > 0
    }

    /// Throws a StorageError with `isUniqueViolation` when the domain (any case) exists,
    /// or when a second platform tenant is created.
    public func create(name: String, domain: String, isPlatform: Bool = false, now: Int64) throws -> Tenant {
        let sql = "INSERT INTO tenants(id, name, domain, is_platform, created_at) VALUES (?, ?, ?, ?, ?) RETURNING \(Tenant.columns)"
        let args: [SQLValue] = [.text(StorageIDs.random()), .text(name), .text(domain), .bool(isPlatform), .int(now)]
        guard let tenant = try connection.queryFirst(sql, args, Tenant.init) else { throw StorageError.notFound("tenant") }
        return tenant
    }

    /// Case-insensitive.
    public func byDomain(_ domain: String) throws -> Tenant? {
        try connection.queryFirst("SELECT \(Tenant.columns) FROM tenants WHERE domain = ?", [.text(domain)], Tenant.init)
    }

    public func byID(_ id: String) throws -> Tenant? {
        try connection.queryFirst("SELECT \(Tenant.columns) FROM tenants WHERE id = ?", [.text(id)], Tenant.init)
    }

    /// Oldest first.
    public func list() throws -> [Tenant] {
        try connection.query("SELECT \(Tenant.columns) FROM tenants ORDER BY created_at, rowid", [], Tenant.init)
    }

    /// The reserved platform tenant (at most one exists).
    public func platform() throws -> Tenant? {
        try connection.queryFirst("SELECT \(Tenant.columns) FROM tenants WHERE is_platform = 1", [], Tenant.init)
    }
}
