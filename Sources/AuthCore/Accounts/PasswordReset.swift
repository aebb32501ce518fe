import AuthCrypto
import Foundation

/// Issue 23: forgotten passwords. `POST /api/v1/auth/password/forgot` answers the same 202,
/// with the same body and the same work, whether the account exists, is locked, disabled or
/// not there; `POST /api/v1/auth/password/reset` consumes the mailed token once.
struct MailRoutes: RequestScoped {
    let worker: Worker

    static func register(_ r: inout Router) {
        r.add("POST", "/api/v1/auth/password/forgot", handler(Self.forgotPassword))
        r.add("POST", "/api/v1/auth/password/reset", handler(Self.resetPassword))
        r.add("POST", "/api/v1/auth/invite/accept", handler(Self.acceptInvite))
        r.add("GET", "/auth/forgot", handler(Self.forgotPage))
        r.add("GET", "/auth/reset", { w, req, _ throws(AuthError) in MailRoutes(worker: w).resetPage(req, error: nil, token: "") })
        r.add("GET", "/auth/invite", { w, req, _ throws(AuthError) in MailRoutes(worker: w).invitePage(req, error: nil, token: "") })
        registerEmailChange(&r)
    }

    /// A reset or invite link, its token or code is wrong, used, replaced or expired (400).
    static let invalidLink = AuthError(status: 400, code: "invalid_link", message: "the link or code is invalid, used or expired")
    static let forgotAccepted = JSON.object([("message", .string("if the account exists, a reset link is on its way"))])

    /// The origin links point to: AUTH_PUBLIC_URL, else AUTH_SITE_ORIGIN, else https:// + Host.
    func publicOrigin(_ request: Request?) -> String? {
        settings.mail.publicURL ?? Origins(settings.browser).siteOrigin(host: request?.header("host"))
    }

    func forgotPassword(_ request: Request) throws(AuthError) -> Response {
        let (body, kind) = try BrowserBody.parse(request)
        guard let rawEmail = try body.string("email", maxBytes: 1024), !rawEmail.trimmingASCIISpaces().isEmpty else {
            throw AuthError.invalidRequest("missing email")
        }
        let tenantDomain = try body.string("tenant_domain", maxBytes: 253)
        guard let origin = publicOrigin(request) else { throw AuthError.invalidRequest("no Host to build the link from") }
        let candidates = try LoginRoutes(worker: worker).loginCandidates(email: rawEmail, tenantDomain: tenantDomain)
        // Locked accounts get the mail too (a reset clears the lock); disabled ones never do.
        let eligible = candidates.filter { $0.status == "active" }
        let now = Time.now()
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        // The same work on every path: a token made, hashed and its mail rendered, then one write
        // transaction with the same statements; without an account it writes a token row and an
        // outbox row that belong to no one and deletes them again, in the transaction that writes
        // the audit row.
        var prepared: [(user: User?, hash: String, message: String)] = []
        for user in eligible.isEmpty ? [nil] : eligible.map(Optional.some) {
            let token = AccountTokenCode.generate()
            let to = user?.email ?? Validation.normalizedEmail(rawEmail) ?? "nobody@invalid"
            let message = MailMessage.render(from: settings.mail.from, to: to, subject: "Reset your password",
                                             body: resetMailBody(origin: origin, email: to, token: token))
            prepared.append((user, AccountTokenCode.hash(token), message))
        }
        try write {
            for p in prepared {
                if let user = p.user {
                    try db.accountTokens.create(hash: p.hash, userID: user.id, purpose: "reset", now: now, ttl: settings.mail.resetTTL)
                    try db.outbox.enqueue(kind: "reset", recipient: user.email, subject: "Reset your password",
                                          message: p.message, now: now, nowMillis: nowMillis)
                    try recordAudit("password_reset_requested", tenantID: user.tenantID, actor: user.id, request: request)
                } else {
                    // The same statements for no account: a token row of no user and an outbox
                    // row, both deleted again before the commit (never visible to anyone).
                    let nobody = StorageIDs.random()
                    try db.accountTokens.create(hash: p.hash, userID: nobody, purpose: "reset", now: now, ttl: settings.mail.resetTTL)
                    let id = try db.outbox.enqueue(kind: "reset", recipient: "nobody@invalid", subject: "Reset your password",
                                                   message: p.message, now: now, nowMillis: nowMillis)
                    try db.outbox.discard(id: id)
                    try db.accountTokens.revoke(userID: nobody, purpose: nil)
                    try recordAudit("password_reset_requested", tenantID: nil, actor: nil, request: request,
                                    detail: candidates.isEmpty ? "unknown account" : "account disabled")
                }
            }
        }
        // No poke of the sender here: a sender waking right after this answer would make the
        // answers of existing accounts measurably slower. It looks every second instead.
        if kind == .form && !BrowserBody.answersJSON(request, kind) { return Response.seeOther("/auth/forgot?sent=1") }
        return profile.respond(202, Self.forgotAccepted)
    }

    func resetMailBody(origin: String, email: String, token: String) -> String {
        let minutes = max(1, settings.mail.resetTTL / 60)
        return """
            Someone (hopefully you) asked to reset the password of \(email) at \(origin).

            Open this link to choose a new password (it works once, for \(minutes) minutes):

            \(origin)/auth/reset#token=\(token)

            Or open \(origin)/auth/reset and type this code:

                \(AccountTokenCode.grouped(token))

            If you did not ask for this, ignore this mail: your password stays as it is.
            """
    }

    /// `{token, new_password}`: the policy, then one transaction: the token consumed (a
    /// compare-and-swap: once, on any host), the password set, the lockout cleared, every
    /// session revoked, the audit row. A second factor stays: the next login still asks for it.
    func resetPassword(_ request: Request) throws(AuthError) -> Response {
        let (body, kind) = try BrowserBody.parse(request)
        let plainForm = kind == .form && !BrowserBody.answersJSON(request, kind)
        let rawToken = (try? body.string("token", maxBytes: 4096)) ?? nil
        do throws(AuthError) {
            guard let new = try body.string("new_password", maxBytes: Validation.maxPasswordLength), !new.isEmpty,
                  let rawToken, !rawToken.isEmpty else { throw AuthError.invalidRequest("missing token or new_password") }
            guard let token = AccountTokenCode.normalized(rawToken) else { throw Self.invalidLink }
            let hash = AccountTokenCode.hash(token)
            let now = Time.now()
            guard let live = try store({ try db.accountTokens.live(hash: hash, purpose: "reset", now: now) }),
                  let user = try store({ try db.users.byID(live.userID) }), user.status == "active" else { throw Self.invalidLink }
            if let problem = Validation.passwordProblem(new, email: user.email, current: nil, minLength: settings.minPasswordLength) {
                throw AuthError.weakPassword(problem)
            }
            let newHash = try hasher.make(new)
            app.testHooks.afterTokenCheck?(user.id)
            let done: Bool = try write {
                guard try db.accountTokens.consume(hash: hash, purpose: "reset", now: now) != nil,
                      let current = try db.users.byIDForUpdate(user.id), current.status == "active" else { return false }
                try db.users.setPassword(userID: user.id, hash: newHash, mustChange: false, now: now)
                try db.users.unlock(userID: user.id)
                try db.users.markEmailVerified(userID: user.id, now: now)
                _ = try db.sessions.revokeAll(userID: user.id, reason: "password_reset", now: now)
                try recordAudit("password_reset", tenantID: user.tenantID, actor: user.id, request: request)
                return true
            }
            guard done else { throw Self.invalidLink }
        } catch {
            if plainForm && error.status < 500 { return resetPage(request, error: error.code, token: rawToken ?? "", status: 400) }
            throw error
        }
        if plainForm { return Response.seeOther("/auth/login?reset=1") }
        return profile.respond(200, APIProfile.successTrue)
    }
}
