import AuthCore
import AuthCrypto
import Foundation

/// Issue 23: `mail status|retry|test` (the outbox and the transport) and `user invite|invite-revoke`,
/// `tenant require-verified-email`. No command prints a stored message or a token, except
/// `user invite --print-link` (the admin asked for the link to hand over).
enum MailCommands {
    static let commands = [
        Command(words: ["mail", "status"], options: ["limit"], synopsis: "mail status [--limit N]   (queue, sent, dead, the last messages' metadata)", run: status),
        Command(words: ["mail", "retry"], options: ["id"], synopsis: "mail retry [--id N]   (dead messages back to the queue)", run: retry),
        Command(words: ["mail", "test"], options: ["to"], synopsis: "mail test --to ADDR   (sends a test mail now, through the configured transport)", run: test),
        Command(words: ["user", "invite"], options: ["tenant", "email", "role"], flags: ["print-link"],
                synopsis: "user invite --tenant D --email E --role R [--print-link]   (again: a new link replaces the old)", run: invite),
        Command(words: ["user", "invite-revoke"], options: ["tenant", "email"],
                synopsis: "user invite-revoke --tenant D --email E", run: inviteRevoke),
        Command(words: ["tenant", "require-verified-email"], options: ["tenant"], positional: "on|off",
                synopsis: "tenant require-verified-email --tenant D on|off", run: requireVerified),
    ]

    static func status(_ ctx: Context) throws {
        let db = try ctx.db()
        let s = try db.outbox.summary(now: Time.now())
        let rows = try db.outbox.recent(limit: try ctx.args.int("limit") ?? 10)
        if ctx.json {
            Output.json(.object([
                ("transport", .string(ctx.settings.mail.transportDescription)),
                ("pending", .int(Int64(s.pending))), ("sent", .int(Int64(s.sent))), ("dead", .int(Int64(s.dead))),
                ("oldest_pending_seconds", .int(s.oldestPendingSeconds)),
                ("messages", .array(rows.map { r in
                    .object([("id", .int(r.id)), ("kind", .string(r.kind)), ("to", .string(r.recipient)),
                             ("status", .string(r.status)), ("attempts", .int(Int64(r.attempts))),
                             ("created_at", .int(r.createdAt)), ("sent_at", .opt(r.sentAt)), ("last_error", .opt(r.lastError))])
                })),
            ]))
            return
        }
        Output.line("transport: \(ctx.settings.mail.transportDescription)")
        Output.line("pending \(s.pending), sent \(s.sent), dead \(s.dead), oldest pending \(s.oldestPendingSeconds) s")
        Output.table(["ID", "KIND", "TO", "STATUS", "ATTEMPTS", "CREATED", "LAST_ERROR"], rows.map {
            [String($0.id), $0.kind, $0.recipient, $0.status, String($0.attempts), timeText($0.createdAt), Output.oneLine($0.lastError ?? "-")]
        })
    }

    static func retry(_ ctx: Context) throws {
        let id = try ctx.args.int("id").map(Int64.init)
        let n = try ctx.atomically { db in
            let n = try db.outbox.retryDead(id: id, nowMillis: Int64(Date().timeIntervalSince1970 * 1000))
            try ctx.audit("mail_retried", tenantID: nil, detail: "\(n) message(s)")
            return n
        }
        if ctx.json { Output.json(.object([("requeued", .int(Int64(n)))])) } else { Output.line("\(n) message(s) back in the queue") }
    }

    /// Delivers a test message now (not through the queue), and says what the transport answered.
    static func test(_ ctx: Context) throws {
        let to = try ctx.args.required("to")
        guard MailMessage.isPlainAddress(to) else { throw CLIError.failure("--to must be one address like a@example.com") }
        guard let transport = ctx.settings.mail.makeTransport() else {
            throw CLIError.failure("no mail transport: set AUTH_MAIL_SENDMAIL or AUTH_SMTP_URL")
        }
        let message = MailMessage.render(from: ctx.settings.mail.from, to: to, subject: "Authgate test mail",
                                         body: "This is a test of Authgate's mail transport (\(ctx.settings.mail.transportDescription)).")
        switch transport.deliver(from: ctx.settings.mail.from, to: to, message: message) {
        case .sent:
            if ctx.json { Output.json(.object([("sent", .bool(true))])) } else { Output.line("sent to \(to) through \(ctx.settings.mail.transportDescription)") }
        case let .temporary(detail):
            throw CLIError.failure("not sent (temporary failure, the outbox would retry): \(detail)")
        case let .permanent(detail):
            throw CLIError.failure("not sent (refused): \(detail)")
        }
    }

    static func invite(_ ctx: Context) throws {
        let tenant = try ctx.tenant()
        let email = try ctx.validEmail()
        let role = try UserCommands.validRole(ctx, in: tenant)
        let printLink = ctx.args.has("print-link")
        if !printLink && ctx.settings.mail.transport == nil {
            throw CLIError.failure("no mail transport (AUTH_MAIL_SENDMAIL or AUTH_SMTP_URL): use --print-link to hand the link over yourself")
        }
        let result: Invites.Result
        do {
            result = try Invites.invite(db: try ctx.db(), settings: ctx.settings, tenantID: tenant.id, email: email, role: role, mail: !printLink)
        } catch let error as ConfigError {
            throw CLIError.failure(error.description)
        } catch let error as StorageError where error.isConstraint {
            throw CLIError.failure("a user with email \(email) already exists in tenant \(tenant.domain)")
        }
        if ctx.json {
            var object: [(String, JSON)] = [("id", .string(result.user.id)), ("email", .string(email)), ("mailed", .bool(result.queued))]
            if printLink { object += [("link", .string(result.link)), ("code", .string(result.code))] }
            Output.json(.object(object))
        } else if printLink {
            Output.line(result.link)
            Output.line("code: \(result.code)")
        } else {
            Output.line("invite for \(email) queued (see authgate mail status)")
        }
    }

    static func inviteRevoke(_ ctx: Context) throws {
        let (tenant, user) = try ctx.user()
        let revoked = try Invites.revoke(db: try ctx.db(), userID: user.id)
        try ctx.audit("invite_revoked", tenantID: tenant.id, detail: "\(user.id) \(user.email)")
        if ctx.json { Output.json(.object([("revoked", .bool(revoked))])) } else { Output.line(revoked ? "invite of \(user.email) revoked" : "no open invite for \(user.email)") }
    }

    static func requireVerified(_ ctx: Context) throws {
        let tenant = try ctx.tenant()
        guard let value = ctx.args.optional("on|off"), value == "on" || value == "off" else { throw CLIError.usage("say on or off") }
        try ctx.atomically { db in
            try db.tenants.setRequireVerifiedEmail(tenantID: tenant.id, value == "on")
            try ctx.audit("tenant_require_verified_email", tenantID: tenant.id, detail: value)
        }
        if ctx.json { Output.json(.object([("require_verified_email", .bool(value == "on"))])) } else { Output.line("\(tenant.domain): require_verified_email \(value)") }
    }
}
