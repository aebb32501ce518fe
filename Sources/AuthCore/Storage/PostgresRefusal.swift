import AuthCrypto

/// Why PostgreSQL (or libpq, for a multi-host URL) refused a new connection, and how many times
/// it did in this process (`authgate_db_connect_refused_total{reason}`, `authgate doctor`).
/// libpq gives a failed connection attempt no SQLSTATE, only its message: the server's FATAL
/// text (in its `lc_messages`; Debian's default is English) and libpq's own.
public enum PostgresRefusal: String, CaseIterable, Sendable {
    /// SQLSTATE 53300: `max_connections` (or a role's or database's limit) reached.
    case tooManyClients = "too_many_clients"
    /// Every host of the URL answered, none read-write (`target_session_attrs=read-write`: a
    /// failover with no primary yet), or the server is in recovery.
    case noPrimary = "no_primary"
    /// SQLSTATE 57P03: starting up or shutting down.
    case notAcceptingNow = "not_accepting_now"
    /// Anything else: no server there, refused by pg_hba, a password, TLS, a timeout.
    case unreachable

    /// The SQLSTATE a refusal stands for.
    public var sqlstate: String {
        switch self {
        case .tooManyClients: "53300"
        case .noPrimary: "25006"
        case .notAcceptingNow: "57P03"
        case .unreachable: "08006"
        }
    }

    /// The reason libpq's `message` names (a multi-host URL joins one message per host: the
    /// first match in this order wins: a full server is the one a fix is needed for).
    public static func classify(_ message: String) -> PostgresRefusal {
        let m = message.lowercased()
        if m.contains("too many clients") || m.contains("too many connections")
            || m.contains("remaining connection slots are reserved") { return .tooManyClients }
        if m.contains("session is read-only") || m.contains("is in hot standby") || m.contains("in recovery mode")
            || m.contains("not yet accepting connections") { return .noPrimary }
        if m.contains("is starting up") || m.contains("is shutting down") || m.contains("not accepting connections") {
            return .notAcceptingNow
        }
        return .unreachable
    }

    private static let counts = Locked<[PostgresRefusal: Int]>([:])

    func count() { Self.counts.withLock { $0[self, default: 0] += 1 } }

    /// Refusals so far in this process, by reason.
    public static func totals() -> [(PostgresRefusal, Int)] {
        let now = counts.withLock { $0 }
        return allCases.map { ($0, now[$0] ?? 0) }
    }

    /// What a person should do about it (`authgate doctor`).
    public var advice: String {
        switch self {
        case .tooManyClients:
            "PostgreSQL is full (SQLSTATE 53300, too many clients): raise max_connections, lower AUTH_DB_POOL or AUTH_DB_POOL_IDLE_SECONDS, or put PgBouncer in front (README: Several hosts)"
        case .noPrimary: "no read-write server among the URL's hosts (a failover under way?): promote a standby"
        case .notAcceptingNow: "the server is starting up or shutting down"
        case .unreachable: "check AUTH_DB_URL, the server, pg_hba.conf and the password (~/.pgpass)"
        }
    }
}
