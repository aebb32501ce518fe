/// The PostgreSQL side of the verify seam: one connection of its own that `LISTEN`s on
/// `authgate_verify` (the change-log triggers `pg_notify` in the writing transaction, so the
/// notification arrives after the commit, on every host). The change marker is the number of
/// notifications seen and the connection's generation, so a poll with nothing committed costs
/// a non-blocking read of the socket and no round trip; at most every `heartbeatSeconds` the
/// marker is withheld and the log is read anyway, which proves the server still answers (a
/// silently dead link then makes the state stale within AUTH_STATE_MAX_STALE_SECONDS and
/// verify fails closed). After a reconnect, the generation moves and the state reads every
/// change after its watermark: notifications sent while away are lost, the log is not.
public final class PostgresVerifyStore: VerifyStore {
    static let channel = "authgate_verify"
    let connection: PostgresConnection
    private let heartbeat: Double
    private var notifications: UInt64 = 0
    private var lastRoundTrip: Double = 0

    public init(url: String, heartbeatSeconds: Double = 0.25) throws {
        connection = try PostgresConnection(url: url, onConnect: ["LISTEN \(Self.channel)"])
        heartbeat = heartbeatSeconds
    }

    /// Reads that may wait on the network: a verify never runs one itself.
    public var mayBlock: Bool { true }

    public func changeMarker() -> VerifyChangeMarker? {
        guard let n = connection.drainNotifications() else { return nil }
        notifications &+= UInt64(n)
        if PostgresConnection.monotonic() - lastRoundTrip >= heartbeat { return nil }
        return VerifyChangeMarker([connection.generation, notifications])
    }

    public func loadAll(revokedSince: Int64, disabledSince: Int64) throws -> VerifyLoad {
        let started = PostgresConnection.monotonic()
        let load = try VerifyChangeLog.loadAll(connection, revokedSince: revokedSince, disabledSince: disabledSince)
        lastRoundTrip = started
        return load
    }

    public func changes(after watermark: Int64, limit: Int, disabledSince: Int64) throws -> VerifyDelta {
        let started = PostgresConnection.monotonic()
        let delta = try VerifyChangeLog.changes(connection, after: watermark, limit: limit, disabledSince: disabledSince)
        lastRoundTrip = started
        return delta
    }
}
