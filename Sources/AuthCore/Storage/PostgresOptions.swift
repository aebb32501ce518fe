/// How this process talks to PostgreSQL (issue 24): the pool's budget, a transaction-mode pooler
/// in between, where `LISTEN` goes, and how durable a write must be before it is acknowledged.
public struct PostgresOptions: Sendable, Equatable {
    /// `AUTH_DB_POOL`: connections at most, opened on demand.
    public var poolSize: Int = 8
    /// `AUTH_DB_POOL_IDLE_SECONDS`: a pooled connection unused this long is closed (0: never), so
    /// an idle process holds no pooled connection at all (the LISTEN connection is not pooled).
    public var idleSeconds: Double = 30
    /// `AUTH_DB_POOLER=transaction`: a transaction-mode pooler (PgBouncer `pool_mode = transaction`)
    /// sits between: no named prepared statements (unnamed ones, PQexecParams), no session
    /// settings in the startup packet (the timeouts go with each write transaction; set them on
    /// the role for the rest, README "Several hosts").
    public var transactionPooler = false
    /// `AUTH_DB_LISTEN_URL`: the connection that LISTENs (nil: `AUTH_DB_URL`). Direct to
    /// PostgreSQL when `AUTH_DB_URL` names a transaction-mode pooler (LISTEN needs a session).
    public var listenURL: String?
    /// `AUTH_DB_SYNC_COMMIT`: `synchronous_commit` set (`SET LOCAL`) in every writing transaction,
    /// so a revocation is acknowledged only once durable on a synchronous standby, when the server
    /// names one (`synchronous_standby_names`); nil (`server`): the server's own setting.
    public var syncCommit: String? = "on"
    /// `AUTH_DB_SYNC_TIMEOUT_SECONDS`: how long such a COMMIT waits for the standby's confirmation;
    /// then the wait is cancelled and the write answered 503 (committed on the primary alone).
    public var syncTimeout: Double = 5

    public static let syncCommitLevels = ["on", "remote_apply", "remote_write", "local", "server"]

    public init() {}

    public init(environment env: [String: String]) throws {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let raw = value("AUTH_DB_POOL") {
            guard let n = Int(raw), n >= 0 else { throw ConfigError("AUTH_DB_POOL must be a non-negative integer, got '\(raw)'") }
            poolSize = max(1, n)
        }
        if let raw = value("AUTH_DB_POOL_IDLE_SECONDS") {
            guard let s = Double(raw), s.isFinite, s >= 0, s <= 86_400 else {
                throw ConfigError("AUTH_DB_POOL_IDLE_SECONDS must be a number of seconds in [0, 86400] (0: never close), got '\(raw)'")
            }
            idleSeconds = s
        }
        switch value("AUTH_DB_POOLER") ?? "none" {
        case "none": transactionPooler = false
        case "transaction": transactionPooler = true
        case let other: throw ConfigError("AUTH_DB_POOLER must be none or transaction (PgBouncer pool_mode = transaction), got '\(other)'")
        }
        listenURL = value("AUTH_DB_LISTEN_URL")
        if let url = listenURL, !PostgresURL.isPostgres(url) {
            throw ConfigError("AUTH_DB_LISTEN_URL must be a PostgreSQL URL or libpq keyword string, got '\(PostgresURL.redacted(url))'")
        }
        if transactionPooler && listenURL == nil {
            throw ConfigError("AUTH_DB_POOLER=transaction needs AUTH_DB_LISTEN_URL: LISTEN needs a session of its own, straight to PostgreSQL (a transaction-mode pooler drops it)")
        }
        let level = value("AUTH_DB_SYNC_COMMIT") ?? "on"
        guard Self.syncCommitLevels.contains(level) else {
            throw ConfigError("AUTH_DB_SYNC_COMMIT must be one of \(Self.syncCommitLevels.joined(separator: ", ")), got '\(level)'")
        }
        syncCommit = level == "server" ? nil : level
        if let raw = value("AUTH_DB_SYNC_TIMEOUT_SECONDS") {
            guard let t = Double(raw), t.isFinite, t > 0, t <= 600 else {
                throw ConfigError("AUTH_DB_SYNC_TIMEOUT_SECONDS must be a number of seconds in (0, 600], got '\(raw)'")
            }
            syncTimeout = t
        }
    }
}
