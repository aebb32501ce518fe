import AuthCrypto
import Foundation

/// Issue 23: invites (`authgate user invite`, `POST /api/v1/auth/invite/accept`) and the
/// tenants' `require_verified_email`.
extension MailRoutes {
    static let emailNotVerified = AuthError(status: 403, code: "email_not_verified",
                                                   message: "this organization requires a verified email address: use the link mailed to you")

    /// After the password check (so the answer tells nothing to someone without the password).
    func requireVerifiedEmailIfAsked(_ user: User, _ request: Request) throws(AuthError) {
        guard user.emailVerifiedAt == nil,
              let tenant = try store({ try db.tenants.byID(user.tenantID) }), tenant.requireVerifiedEmail else { return }
        _ = try? write { try db.users.resetFailures(userID: user.id) }
        audit("login_refused", tenantID: user.tenantID, actor: user.id, request: request, detail: "email not verified")
        throw Self.emailNotVerified
    }

    /// `{token, password}`: the invite consumed once, the password set, the address verified,
    /// then the profile's login answer (a session, as a login makes it).
    func acceptInvite(_ request: Request) throws(AuthError) -> Response {
        let (body, kind) = try BrowserBody.parse(request)
        let plainForm = kind == .form && !BrowserBody.answersJSON(request, kind)
        let rawToken = (try? body.string("token", maxBytes: 4096)) ?? nil
        do throws(AuthError) {
            guard let password = try body.string("password", maxBytes: Validation.maxPasswordLength), !password.isEmpty,
                  let rawToken, !rawToken.isEmpty else { throw AuthError.invalidRequest("missing token or password") }
            guard let token = AccountTokenCode.normalized(rawToken) else { throw Self.invalidLink }
            let hash = AccountTokenCode.hash(token)
            let now = Time.now()
            guard let live = try store({ try db.accountTokens.live(hash: hash, purpose: "invite", now: now) }),
                  let user = try store({ try db.users.byID(live.userID) }), user.status == "active" else { throw Self.invalidLink }
            if let problem = Validation.passwordProblem(password, email: user.email, current: nil, minLength: settings.minPasswordLength) {
                throw AuthError.weakPassword(problem)
            }
            let newHash = try hasher.make(password)
            let session: Session? = try write { () throws -> Session? in
                guard try db.accountTokens.consume(hash: hash, purpose: "invite", now: now) != nil,
                      let current = try db.users.byIDForUpdate(user.id), current.status == "active" else { return nil }
                try db.users.setPassword(userID: user.id, hash: newHash, mustChange: false, now: now)
                try db.users.markEmailVerified(userID: user.id, now: now)
                try recordAudit("invite_accepted", tenantID: user.tenantID, actor: user.id, request: request)
                if plainForm { return nil }
                return try db.sessions.create(userID: user.id, now: now,
                                              userAgent: String((request.header("user-agent") ?? "").prefix(256)),
                                              ip: request.remoteAddress)
            }
            if plainForm { return Response.seeOther("/auth/login?invited=1") }
            guard let session, let fresh = try store({ try db.users.byID(user.id) }) else { throw Self.invalidLink }
            return issuer.response(issuer.issue(user: fresh, session: session, counter: session.counter, now: now))
        } catch {
            if plainForm && error.status < 500 { return invitePage(request, error: error.code, token: rawToken ?? "", status: 400) }
            throw error
        }
    }
}

/// The invite itself, for the CLI (and tests): the user without a password (or an invited one
/// again: a resend replaces the link), the token, and the mail in the outbox, in one transaction.
public enum Invites {
    /// The password hash of an invited account until it accepts: matches no password.
    public static let invitedPasswordHash = "!invited"

    public struct Result: Sendable {
        public var user: User
        public var link: String
        public var code: String
        public var queued: Bool
    }

    public static func invite(db: Database, settings: Settings, tenantID: String, email: String, role: String,
                              mail: Bool) throws -> Result {
        guard let origin = settings.mail.publicURL ?? settings.browser.siteOrigin else {
            throw ConfigError("an invite link needs AUTH_PUBLIC_URL (or AUTH_SITE_ORIGIN)")
        }
        let token = AccountTokenCode.generate()
        let link = "\(origin)/auth/invite#token=\(token)"
        let now = Time.now()
        let user: User = try db.transaction {
            let user: User
            if let existing = try db.users.byEmail(tenantID: tenantID, email: email) {
                guard existing.passwordHash == invitedPasswordHash else {
                    throw ConfigError("\(email) already has an account with a password (not an open invite)")
                }
                user = existing
            } else {
                user = try db.users.create(tenantID: tenantID, email: email, passwordHash: invitedPasswordHash,
                                           role: role, now: now)
            }
            try db.accountTokens.create(hash: AccountTokenCode.hash(token), userID: user.id, purpose: "invite",
                                        now: now, ttl: settings.mail.inviteTTL)
            if mail {
                let days = max(1, settings.mail.inviteTTL / 86400)
                let body = """
                    You are invited to an account (\(email)) at \(origin).

                    Open this link to choose your password (it works once, for \(days) day(s)):

                    \(link)

                    Or open \(origin)/auth/invite and type this code:

                        \(AccountTokenCode.grouped(token))

                    If you did not expect this, ignore this mail.
                    """
                try db.outbox.enqueue(kind: "invite", recipient: email, subject: "Your invitation",
                                      message: MailMessage.render(from: settings.mail.from, to: email, subject: "Your invitation", body: body),
                                      now: now, nowMillis: Int64(Date().timeIntervalSince1970 * 1000))
            }
            _ = try db.audit.record(mail ? "invite_sent" : "invite_created", tenantID: tenantID, actor: user.id, at: now)
            return user
        }
        return Result(user: user, link: link, code: AccountTokenCode.grouped(token), queued: mail)
    }

    /// Kills the open invite link of the account (the account stays, without a password).
    public static func revoke(db: Database, userID: String) throws -> Bool {
        try db.transaction { try db.accountTokens.revoke(userID: userID, purpose: "invite") > 0 }
    }
}
