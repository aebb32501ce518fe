/// What `authgate doctor` reads from a PostgreSQL server about its connection budget and
/// replication (issue 24). Nil on SQLite or when the server does not answer.
extension Database {
    /// Backends connected now (every role and database, as pg_stat_activity shows them to this
    /// role) and `max_connections`.
    public func serverConnections() -> (used: Int, max: Int)? {
        guard isPostgres else { return nil }
        return try? connection.queryFirst("""
            SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
                   current_setting('max_connections')::int
            """) { (Int($0.int(0)), Int($0.int(1))) }
    }

    /// `synchronous_standby_names` ("" when no standby is synchronous: a commit is durable on this
    /// server alone, and a failover can lose what was acknowledged).
    public func synchronousStandbyNames() -> String? {
        guard isPostgres else { return nil }
        return try? connection.queryFirst("SELECT current_setting('synchronous_standby_names')") { $0.text(0) }
    }
}
