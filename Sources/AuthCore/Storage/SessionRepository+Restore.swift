extension SessionRepository {
    /// Ids of the sessions not revoked (live or merely expired): what a restore compares.
    public func unrevokedIDs() throws -> Set<String> {
        Set(try connection.query("SELECT id FROM sessions WHERE revoked_at IS NULL") { $0.text(0) })
    }
}
