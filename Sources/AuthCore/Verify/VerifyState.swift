/// What the verify path knows about a session beyond its token.
public enum SessionCheck: Sendable, Equatable {
    case ok, revoked, userDisabled, passwordChangeRequired
}

public struct APIKeyIdentity: Sendable, Equatable {
    public var keyID: String
    public var projectID: String
    public var tenantID: String
}

public struct NodeIdentity: Sendable, Equatable {
    public var nodeID: String
    public var tenantID: String
    public var name: String
}

/// The verification state held in memory by one thread (each worker, the WS companion):
/// revoked session ids, blocked users, live API keys and nodes by hex digest.
/// Lookups are plain Set/Dictionary reads; `refreshIfChanged()` reloads only when the
/// database's verify_epoch moved, which every relevant write bumps (see Migrations.v1).
public final class VerifyState {
    public let db: Database

    private var revokedSessions: Set<String> = []
    private var blockedUsers: [String: SessionCheck] = [:]
    private var apiKeys: [String: APIKeyIdentity] = [:]
    private var nodes: [String: NodeIdentity] = [:]

    private var seenDataVersion: Int64 = .min
    private var seenTotalChanges: Int64 = .min
    public private(set) var epoch: Int64 = .min
    /// The last reload failure, if the state in memory may be stale.
    public private(set) var lastError: StorageError?

    public init(db: Database) {
        self.db = db
        refreshIfChanged()
    }

    /// Cheap when nothing changed: `PRAGMA data_version` (moves on commits by other
    /// connections, the CLI's included) and this connection's own change count; only when
    /// one moved is verify_epoch read, and only when that moved is everything reloaded.
    public func refreshIfChanged() {
        // Nothing committed since the last full check (wal-index header unchanged): done,
        // without a read transaction. The header is read BEFORE the full check, so a commit
        // racing with it changes the header again and the next call checks.
        let header = watch.header()
        if lastError == nil, WALChangeWatch.same(header, seenHeader) { return }
        refreshFromDatabase()
        seenHeader = lastError == nil ? header : nil
    }

    private lazy var watch = WALChangeWatch(handle: db.connection.handle)
    private var seenHeader: WALChangeWatch.Header?

    private func refreshFromDatabase() {
        let dataVersion = db.dataVersion()
        let totalChanges = db.totalChanges()
        guard dataVersion != seenDataVersion || totalChanges != seenTotalChanges || lastError != nil else { return }
        seenDataVersion = dataVersion
        seenTotalChanges = totalChanges
        if db.verifyEpoch() == epoch, lastError == nil { return }
        do {
            try reload()
            lastError = nil
        } catch let error as StorageError {
            lastError = error  // keep the previous state; retried on the next call
        } catch {
            lastError = StorageError(code: .misuse, message: "\(error)")
        }
    }

    /// Reloads everything now, in one read transaction (a consistent snapshot).
    public func reload() throws {
        let connection = db.connection
        try connection.transaction(immediate: false) {
            let epoch = try connection.queryFirst("SELECT value FROM meta WHERE key = 'verify_epoch'") { $0.int(0) } ?? 0
            var revoked = Set<String>()
            revoked.reserveCapacity(revokedSessions.count)
            try connection.forEachRow("SELECT id FROM sessions WHERE revoked_at IS NOT NULL") { row in
                revoked.insert(row.text(0))
            }
            var blocked: [String: SessionCheck] = [:]
            try connection.forEachRow("""
                SELECT id, status <> 'active' FROM users
                WHERE status <> 'active' OR must_change_password <> 0
                """) { row in
                blocked[row.text(0)] = row.bool(1) ? .userDisabled : .passwordChangeRequired
            }
            var keys: [String: APIKeyIdentity] = [:]
            try connection.forEachRow("""
                SELECT key_hash, id, project_id, tenant_id FROM api_keys WHERE revoked_at IS NULL
                """) { row in
                keys[row.text(0)] = APIKeyIdentity(keyID: row.text(1), projectID: row.text(2), tenantID: row.text(3))
            }
            var liveNodes: [String: NodeIdentity] = [:]
            try connection.forEachRow("""
                SELECT api_key_hash, id, tenant_id, name FROM nodes WHERE revoked_at IS NULL
                """) { row in
                liveNodes[row.text(0)] = NodeIdentity(nodeID: row.text(1), tenantID: row.text(2), name: row.text(3))
            }
            self.revokedSessions = revoked
            self.blockedUsers = blocked
            self.apiKeys = keys
            self.nodes = liveNodes
            self.epoch = epoch
        }
    }

    /// Revocation wins over the user's state. A deleted user's sessions are revoked
    /// tombstones, so they read `.revoked`.
    public func sessionCheck(sid: String, userID: String) -> SessionCheck {
        if revokedSessions.contains(sid) { return .revoked }
        return blockedUsers[userID] ?? .ok
    }

    /// Live keys only, by hex SHA-256 digest of the raw key.
    public func apiKey(digest: String) -> APIKeyIdentity? { apiKeys[digest] }

    /// Live nodes only, by hex SHA-256 digest of the raw key.
    public func node(digest: String) -> NodeIdentity? { nodes[digest] }
}
