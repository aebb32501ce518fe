import AuthCrypto

/// The login, change-password and logout-confirmation pages (GET /auth/login, /auth/password,
/// /auth/logout): plain HTML forms that work without JavaScript (POST, then 303), a small
/// script that submits them with fetch and shows errors in place, no external resources.
extension BrowserRoutes {
    static func registerPages(_ r: inout Router) {
        r.add("GET", "/auth/login", handler(Self.loginPage))
        r.add("GET", "/auth/password", handler(Self.passwordPage))
        r.add("GET", "/auth/logout", handler(Self.logoutPage))
        r.add("GET", "/auth/assets/authgate.js", { _, _, _ throws(AuthError) in HTML.asset(PageAssets.script, "text/javascript") })
        r.add("GET", "/auth/assets/authgate.css", { _, _, _ throws(AuthError) in HTML.asset(PageAssets.style, "text/css") })
    }

    /// Fixed texts by error code: nothing from the query is ever echoed except a validated return_to.
    var loginMessages: [String: String] {
        let minutes = max(1, settings.lockoutSeconds / 60)
        return [
            "invalid_credentials": "Wrong email or password. After \(settings.lockoutThreshold) failed attempts an account is locked for \(minutes) minutes.",
            "rate_limited": "Too many sign-in attempts from your network. Wait a few seconds, then try again.",
            "unavailable": "The server is busy. Try again in a moment.",
            "invalid_request": "Enter your email address and your password.",
            "forbidden": "This sign-in form was sent from another site and was refused. Reload this page and try again.",
            "network": "The server cannot be reached. Check your connection and try again.",
            "cancelled": "The passkey request was cancelled or timed out.",
            "passkey_refused": "That passkey was not accepted. Try again, or sign in with your password.",
            "passkey_error": "Your browser could not use a passkey here.",
            "password_change_required": "This account must change its password: sign in with the password once.",
            "webauthn_not_configured": "Passkeys are not set up on this server.",
        ]
    }

    func loginPage(_ request: Request) -> Response {
        let back = ReturnTo.orFallback(Query.decode(request.rawQueryValues("return_to").first ?? ""))
        let code = String(request.rawQueryValues("error").first ?? "")
        let loggedOut = request.rawQueryValues("logged_out").first == "1"
        var notice = loggedOut ? #"<p id="notice" class="notice" role="status">You are signed out.</p>"# : ""
        if request.rawQueryValues("reset").first == "1" {
            notice = #"<p id="notice" class="notice" role="status">Your password was changed. Sign in with the new one.</p>"#
        } else if request.rawQueryValues("email_changed").first == "1" {
            notice = #"<p id="notice" class="notice" role="status">Your email address is confirmed. Sign in with it.</p>"#
        } else if request.rawQueryValues("invited").first == "1" {
            notice = #"<p id="notice" class="notice" role="status">Your password is set. Sign in with it.</p>"#
        }
        return HTML.page(title: "Sign in", body: """
            <h1>Sign in</h1>
            \(notice)
            \(HTML.messageBox(loginMessages, code: code))
            <form method="post" action="/api/v1/auth/session" data-authgate="login" novalidate>
              <input type="hidden" name="return_to" value="\(HTML.escape(back))">
              <label for="email">Email</label>
              <input id="email" name="email" type="email" autocomplete="\(settings.webauthn.isEnabled ? "username webauthn" : "username")" required autofocus>
              <label for="password">Password</label>
              <input id="password" name="password" type="password" autocomplete="current-password" required>
              <details><summary>Organization</summary>
                <label for="tenant_domain">Organization domain (optional)</label>
                <input id="tenant_domain" name="tenant_domain" autocomplete="organization" placeholder="example.com">
              </details>
              <button type="submit">Sign in</button>
            </form>
            \(passkeyLoginPart)
            <p><a href="/auth/forgot">Forgot your password?</a></p>
            """)
    }

    /// "Sign in with a passkey" (issue 22) while passkeys are configured; the email field also
    /// offers them in its autofill (conditional UI, `autocomplete="username webauthn"`).
    var passkeyLoginPart: String {
        guard settings.webauthn.isEnabled else { return "" }
        return """
            <p class="or">or</p>
            <button type="button" id="passkey-signin">Sign in with a passkey</button>
            \(Self.passkeyScriptTag)
            """
    }

    func passwordPage(_ request: Request) -> Response {
        let back = ReturnTo.orFallback(Query.decode(request.rawQueryValues("return_to").first ?? ""))
        let code = String(request.rawQueryValues("error").first ?? "")
        let messages = [
            "invalid_credentials": "The current password is wrong.",
            "weak_password": "Choose a new password of at least \(settings.minPasswordLength) characters, different from the current one and from your email.",
            "invalid_token": "Your session has ended. Sign in again.",
            "invalid_request": "Enter your current and your new password.",
            "rate_limited": "Too many attempts. Wait a few seconds, then try again.",
            "unavailable": "The server is busy. Try again in a moment.",
            "forbidden": "This form was sent from another site and was refused. Reload this page and try again.",
            "network": "The server cannot be reached. Check your connection and try again.",
        ]
        return HTML.page(title: "Change your password", body: """
            <h1>Change your password</h1>
            <p>Your password must be changed before you continue.</p>
            \(HTML.messageBox(messages, code: code))
            <form method="post" action="/api/v1/auth/session/password" data-authgate="password" novalidate>
              <input type="hidden" name="return_to" value="\(HTML.escape(back))">
              <label for="current_password">Current password</label>
              <input id="current_password" name="current_password" type="password" autocomplete="current-password" required autofocus>
              <label for="new_password">New password (at least \(settings.minPasswordLength) characters)</label>
              <input id="new_password" name="new_password" type="password" autocomplete="new-password" required minlength="\(settings.minPasswordLength)">
              <button type="submit">Change password</button>
            </form>
            """)
    }

    /// A GET changes nothing (a link or an `<img>` elsewhere cannot sign anyone out): it asks,
    /// and the button posts the logout, which the CSRF rule guards.
    func logoutPage(_ request: Request) -> Response {
        HTML.page(title: "Sign out", body: """
            <h1>Sign out?</h1>
            <form method="post" action="/api/v1/auth/session/logout">
              <button type="submit" autofocus>Sign out</button>
            </form>
            <p><a href="/">Cancel</a></p>
            """)
    }
}
