import AuthCrypto
import Foundation

/// Issue 23: changing one's email. `POST /api/v1/auth/me/email {new_email, password}` (the
/// password checked as a password change checks it, counted toward the lockout) mails a link to
/// the new address and a notice to the old one; the address changes only when the link's token
/// is posted to `POST /api/v1/auth/email/verify {token}` (from /auth/verify-email).
extension MailRoutes {
    static func registerEmailChange(_ r: inout Router) {
        r.add("POST", "/api/v1/auth/me/email", handler(Self.requestEmailChange))
        r.add("POST", "/api/v1/auth/email/verify", handler(Self.verifyEmailChange))
        r.add("GET", "/auth/verify-email", { w, req, _ throws(AuthError) in MailRoutes(worker: w).verifyEmailPage(error: nil, token: "") })
    }

    static let emailTaken = AuthError(status: 409, code: "email_taken", message: "another account of this organization has that address")
    static let emailChangeAccepted = JSON.object([("message", .string("a verification link was sent to the new address"))])

    func requestEmailChange(_ request: Request) throws(AuthError) -> Response {
        let p = try auth.authenticate(request)
        let body = try Body(request)
        guard let rawNew = try body.string("new_email", maxBytes: 1024), let password = try body.string("password", maxBytes: Validation.maxPasswordLength),
              !password.isEmpty else { throw AuthError.invalidRequest("missing new_email or password") }
        guard let newEmail = Validation.normalizedEmail(rawNew), MailMessage.isPlainAddress(newEmail) else {
            throw AuthError.invalidRequest("new_email is not an email address")
        }
        guard let user = try store({ try db.users.byID(p.userID) }) else { throw AuthError.invalidToken("session revoked") }
        try auth.requireSecondFactorIfEnrolled(p)
        guard let origin = publicOrigin(request) else { throw AuthError.invalidRequest("no Host to build the link from") }
        let now = Time.now()
        let counted = try store {
            try db.users.recordFailure(userID: user.id, now: now, threshold: settings.lockoutThreshold, lockSeconds: settings.lockoutSeconds)
        }
        guard counted.failedAttempts <= settings.lockoutThreshold, try hasher.check(password, against: user.passwordHash) else {
            audit("email_change_failed", tenantID: user.tenantID, actor: user.id, request: request)
            throw AuthError.invalidCredentials
        }
        let token = AccountTokenCode.generate()
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        try write {
            try db.users.resetFailures(userID: user.id)
            // A taken address gets no link (the answer is the same): the verify step checks again.
            if newEmail != user.email.lowercased(), try db.users.byEmail(tenantID: user.tenantID, email: newEmail) == nil {
                try db.accountTokens.create(hash: AccountTokenCode.hash(token), userID: user.id, purpose: "email", newEmail: newEmail,
                                            now: now, ttl: settings.mail.emailChangeTTL)
                let hours = max(1, settings.mail.emailChangeTTL / 3600)
                let verify = """
                    Someone (hopefully you) asked to use \(newEmail) for the account \(user.email) at \(origin).

                    Open this link to confirm the new address (it works once, for \(hours) hour(s)):

                    \(origin)/auth/verify-email#token=\(token)

                    Or open \(origin)/auth/verify-email and type this code:

                        \(AccountTokenCode.grouped(token))

                    If you did not ask for this, ignore this mail.
                    """
                try db.outbox.enqueue(kind: "email_verify", recipient: newEmail, subject: "Confirm your new email address",
                                      message: MailMessage.render(from: settings.mail.from, to: newEmail,
                                                                  subject: "Confirm your new email address", body: verify),
                                      now: now, nowMillis: nowMillis)
            }
            let notice = """
                Someone signed in to your account at \(origin) asked to change its address from \(user.email) to \(newEmail).

                The address changes only when the link mailed to the new address is opened. If this was not you,
                change your password now: \(origin)/auth/forgot
                """
            try db.outbox.enqueue(kind: "email_notice", recipient: user.email, subject: "Your email address is being changed",
                                  message: MailMessage.render(from: settings.mail.from, to: user.email,
                                                              subject: "Your email address is being changed", body: notice),
                                  now: now, nowMillis: nowMillis)
            try recordAudit("email_change_requested", tenantID: user.tenantID, actor: user.id, request: request)
        }
        app.mail.poke()
        return profile.respond(202, Self.emailChangeAccepted)
    }

    func verifyEmailChange(_ request: Request) throws(AuthError) -> Response {
        let (body, kind) = try BrowserBody.parse(request)
        let plainForm = kind == .form && !BrowserBody.answersJSON(request, kind)
        let rawToken = (try? body.string("token", maxBytes: 4096)) ?? nil
        var changedTo = ""
        do throws(AuthError) {
            guard let rawToken, !rawToken.isEmpty else { throw AuthError.invalidRequest("missing token") }
            guard let token = AccountTokenCode.normalized(rawToken) else { throw Self.invalidLink }
            let hash = AccountTokenCode.hash(token)
            let now = Time.now()
            let outcome: String? = try write { () throws -> String? in
                guard let used = try db.accountTokens.consume(hash: hash, purpose: "email", now: now), let newEmail = used.newEmail,
                      let user = try db.users.byIDForUpdate(used.userID), user.status == "active" else { return nil }
                if let other = try db.users.byEmail(tenantID: user.tenantID, email: newEmail), other.id != user.id { return "" }
                _ = try db.users.changeEmail(userID: user.id, to: newEmail, now: now)
                try recordAudit("email_changed", tenantID: user.tenantID, actor: user.id, request: request, detail: "\(user.email) -> \(newEmail)")
                return newEmail
            }
            guard let outcome else { throw Self.invalidLink }
            guard !outcome.isEmpty else { throw Self.emailTaken }
            changedTo = outcome
        } catch {
            if plainForm && error.status < 500 { return verifyEmailPage(error: error.code, token: rawToken ?? "", status: error.status) }
            throw error
        }
        if plainForm {
            return HTML.page(title: "Email address confirmed", body: """
                <h1>Email address confirmed</h1>
                <p id="notice" class="notice" role="status">Your account's address is now \(HTML.escape(changedTo)).</p>
                <p><a href="/auth/login">Sign in</a></p>
                """)
        }
        return profile.respond(200, APIProfile.successTrue)
    }

    func verifyEmailPage(error: String?, token: String, status: Int = 200) -> Response {
        var messages = linkMessages
        messages["email_taken"] = "Another account of your organization uses that address now."
        messages["invalid_request"] = "Enter the code from the mail."
        var r = HTML.page(title: "Confirm your new email address", body: """
            <h1>Confirm your new email address</h1>
            \(HTML.messageBox(messages, code: error ?? ""))
            <form method="post" action="/api/v1/auth/email/verify" data-authgate="verify-email" novalidate>
              <input type="hidden" name="return_to" value="/auth/login?email_changed=1">
              <label for="token">Code from the mail</label>
              <input id="token" name="token" autocomplete="one-time-code" spellcheck="false" required value="\(HTML.escape(token))">
              <button type="submit">Confirm</button>
            </form>
            """)
        r.status = status
        return r
    }
}
