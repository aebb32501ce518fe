import AuthCrypto

/// The account page (`GET /auth/account`, issue 22): the user's second factors (passkeys with a
/// delete button each, the authenticator app), adding a passkey (`passkey-name`, `passkey-add`)
/// or an authenticator app (the TOTP enrolment of /auth/mfa), and the active sessions (device,
/// created, last used, this one marked) with a revoke button each, on `GET/DELETE
/// /api/v1/auth/sessions`. The browser's passwordless route `POST /api/v1/auth/session/passkey`.
extension BrowserRoutes {
    static func registerPasskeyPages(_ r: inout Router) {
        r.add("GET", "/auth/account", handler(Self.accountPage))
        r.add("POST", "/api/v1/auth/session/passkey", handler(Self.sessionPasskey))
        r.add("GET", "/auth/assets/passkeys.js", { _, _, _ throws(AuthError) in HTML.asset(PasskeyAssets.script, "text/javascript") })
    }

    var passkeyMessages: [String: String] {
        [
            "invalid_credentials": "That passkey was not accepted. Try again, or sign in with your password.",
            "passkey_refused": "That passkey was not accepted. Try again, or sign in with your password.",
            "webauthn_not_configured": "Passkeys are not set up on this server.",
            "webauthn_rejected": "The passkey could not be registered. Try again.",
            "already_registered": "This passkey is already registered.",
            "limit_reached": "This account has the most passkeys it can have. Delete one first.",
            "mfa_required": "Sign in with your second factor first, then try again.",
            "password_change_required": "This account must change its password: sign in with the password once.",
            "cancelled": "The passkey request was cancelled or timed out.",
            "passkey_error": "Your browser could not use a passkey here.",
            "invalid_token": "Your session has ended. Sign in again.",
            "rate_limited": "Too many attempts. Wait a few seconds, then try again.",
            "unavailable": "The server is busy. Try again in a moment.",
            "forbidden": "This request was sent from another site and was refused. Reload this page and try again.",
            "network": "The server cannot be reached. Check your connection and try again.",
        ]
    }

    /// The passkey script, for the pages that use it.
    static let passkeyScriptTag = #"<script src="/auth/assets/passkeys.js" defer></script>"#

    func accountPage(_ request: Request) throws(AuthError) -> Response {
        guard let p = try? auth.authenticate(token: worker.accessCookie(request)) else {
            return Response.seeOther("/auth/login?return_to=" + ReturnTo.encode("/auth/account"))
        }
        let (factors, passkeys, left) = try store {
            (try db.mfa.activeFactors(userID: p.userID), try db.webauthn.credentials(userID: p.userID),
             try db.mfa.remainingRecoveryCodes(userID: p.userID))
        }
        func when(_ t: Int64?) -> String { t.map(Time.rfc3339) ?? "never" }
        let rows = passkeys.map { c in
            """
            <li class="factor" data-kind="webauthn" data-id="\(HTML.escape(c.id))"><strong>\(HTML.escape(c.name))</strong> (passkey\
            \(c.backupEligible ? ", synced" : "")), added \(when(c.createdAt)), last used \(when(c.lastUsedAt))
              <button type="button" class="delete" data-passkey-delete="\(HTML.escape(c.id))">Delete</button></li>
            """
        } + factors.map { f in
            """
            <li class="factor" data-kind="totp" data-id="\(HTML.escape(f.id))"><strong>Authenticator app</strong>, added \(when(f.createdAt)), \
            last used \(when(f.lastUsedAt))</li>
            """
        }
        let level = p.claims.aal >= 2 ? "with a second factor" : "with your password only"
        let passkeyPart = settings.webauthn.isEnabled ? """
            <h2>Add a passkey</h2>
            <label for="passkey-name">Name (e.g. the device)</label>
            <input id="passkey-name" name="passkey-name" maxlength="64" placeholder="Laptop">
            <button type="button" id="passkey-add">Add a passkey</button>
            """ : #"<p id="passkeys-off">Passkeys are not set up on this server.</p>"#
        return HTML.page(title: "Your account", body: """
            <h1>Your account</h1>
            <p>Signed in as <strong id="account-email">\(HTML.escape(p.claims.email))</strong>, \(level).</p>
            \(HTML.messageBox(passkeyMessages, code: ""))
            <div id="recovery-box" class="notice" hidden>
              <p>Save your recovery codes: each one signs you in once if you lose your passkey. They are shown only now.</p>
              <ul id="new-recovery-codes"></ul>
            </div>
            <h2>Second factors</h2>
            <ul id="factors">
            \(rows.isEmpty ? #"<li id="no-factors">None yet.</li>"# : rows.joined(separator: "\n"))
            </ul>
            <p>Recovery codes left: <span id="recovery-left">\(left)</span></p>
            \(passkeyPart)
            <form method="post" action="/auth/mfa">
              <input type="hidden" name="return_to" value="/auth/account">
              <button type="submit" id="totp-add">Set up an authenticator app</button>
            </form>
            <h2>Where you are signed in</h2>
            <ul id="sessions"><li>Loading…</li></ul>
            <p><a href="/auth/logout">Sign out</a></p>
            \(Self.passkeyScriptTag)
            """)
    }

    /// `POST /api/v1/auth/session/passkey {credential, return_to}` (JSON, from the login page's
    /// script): passwordless, answered with the session cookies.
    func sessionPasskey(_ request: Request) throws(AuthError) -> Response {
        try worker.requireSameOrigin(request)
        let (body, _) = try BrowserBody.parse(request)
        let returnTo = ReturnTo.orFallback(try? body.string("return_to"))
        let (user, session, now) = try PasskeyRoutes(worker: worker).passkeySignIn(body.object["credential"], request)
        let tokens = issuer.issue(user: user, session: session, counter: session.counter, now: now)
        let cookies = worker.sessionCookies(tokens, session: session, now: now)
        var r = profile.respond(200, .object([
            ("user", profile.user(user, full: true)), ("expires_at", profile.timestamp(tokens.expiresAt)),
            ("redirect_to", .string(returnTo)),
        ]))
        r.headers += [("Set-Cookie", cookies.access), ("Set-Cookie", cookies.refresh)]
        return r
    }
}
