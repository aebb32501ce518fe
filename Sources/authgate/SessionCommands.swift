import AuthCore
import AuthCrypto

/// `session list|revoke`.
enum SessionCommands {
    static let commands = [
        Command(words: ["session", "list"], options: ["tenant", "email"],
                synopsis: "session list --tenant D --email E", run: list),
        Command(words: ["session", "revoke"], options: ["user", "session"], flags: ["all"],
                synopsis: "session revoke --user ID | --session ID | --all", run: revoke),
    ]

    static func list(_ ctx: Context) throws {
        let (_, user) = try ctx.user()
        let sessions = try ctx.db().sessions.listLive(userID: user.id, now: Time.now(), maxAge: ctx.settings.sessionMax)
        if ctx.json {
            Output.json(.array(sessions.map { s in
                .object([
                    ("id", .string(s.id)), ("user_id", .string(s.userID)), ("created_at", .int(s.createdAt)),
                    ("refreshed_at", .int(s.refreshedAt)), ("user_agent", .string(s.userAgent)), ("ip", .string(s.ip)),
                ])
            }))
        } else {
            Output.table(["ID", "CREATED", "REFRESHED", "IP", "USER_AGENT"], sessions.map {
                [$0.id, timeText($0.createdAt), timeText($0.refreshedAt), $0.ip, $0.userAgent]
            })
        }
    }

    static func revoke(_ ctx: Context) throws {
        let userID = ctx.args.optional("user")
        let sessionID = ctx.args.optional("session")
        let all = ctx.args.has("all")
        guard [userID != nil, sessionID != nil, all].filter({ $0 }).count == 1 else {
            throw CLIError.usage("give exactly one of --user ID, --session ID, --all")
        }
        let now = Time.now()
        let count = try ctx.atomically { db in try revoke(ctx, db, userID: userID, sessionID: sessionID, now: now) }
        if ctx.json {
            Output.json(.object([("revoked", .int(Int64(count)))]))
        } else {
            Output.line("revoked \(count) session(s)")
        }
    }

    /// The revocation and its audit row (one transaction: see `Context.atomically`).
    static func revoke(_ ctx: Context, _ db: Database, userID: String?, sessionID: String?, now: Int64) throws -> Int {
        var count = 0
        if let sessionID {
            let id = sessionID.lowercased()
            guard let session = try db.sessions.byID(id) else { throw CLIError.failure("no session \(id)") }
            let tenantID = try db.users.byID(session.userID)?.tenantID
            if session.revokedAt == nil {
                try db.sessions.revoke(id: id, reason: "cli", now: now)
                count = 1
            }
            try ctx.audit("session_revoked", tenantID: tenantID, detail: "session \(id)")
        } else if let userID {
            let id = userID.lowercased()
            guard let user = try db.users.byID(id) else { throw CLIError.failure("no user \(id)") }
            count = try db.sessions.revokeAll(userID: user.id, reason: "cli", now: now, except: nil)
            try ctx.audit("sessions_revoked", tenantID: user.tenantID, detail: "user \(user.id) \(user.email): \(count)")
        } else {
            count = try db.sessions.revokeEverything(reason: "cli", now: now)
            try ctx.audit("sessions_revoked", tenantID: nil, detail: "all: \(count)")
        }
        return count
    }
}
