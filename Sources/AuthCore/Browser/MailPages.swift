import AuthCrypto

/// Issue 23's pages: ask for a reset link (/auth/forgot), set a new password with the mailed
/// link or code (/auth/reset), accept an invite (/auth/invite). Plain forms that work without
/// JavaScript (the code typed into the field); with it, the page script copies the token from
/// the link's fragment (never sent to a server, never in a log or a Referer) into the field.
/// Opening a page consumes nothing: only the form's POST does. `Referrer-Policy: no-referrer`.
extension MailRoutes {
    var linkMessages: [String: String] {
        [
            "invalid_link": "This link or code is invalid, was already used, or has expired. Ask for a new one.",
            "weak_password": "Choose a new password of at least \(settings.minPasswordLength) characters, different from your email.",
            "invalid_request": "Enter the code from the mail and a new password.",
            "rate_limited": "Too many attempts from your network. Wait a few seconds, then try again.",
            "unavailable": "The server is busy. Try again in a moment.",
            "network": "The server cannot be reached. Check your connection and try again.",
        ]
    }

    func forgotPage(_ request: Request) -> Response {
        let sent = request.rawQueryValues("sent").first == "1"
        let notice = sent ? #"<p id="notice" class="notice" role="status">If an account exists for that address, a mail with a reset link is on its way. It works once.</p>"# : ""
        return HTML.page(title: "Forgot your password", body: """
            <h1>Forgot your password?</h1>
            \(notice)
            \(HTML.messageBox(["invalid_request": "Enter your email address.", "rate_limited": linkMessages["rate_limited"]!,
                          "unavailable": linkMessages["unavailable"]!, "network": linkMessages["network"]!], code: ""))
            <form method="post" action="/api/v1/auth/password/forgot" novalidate>
              <label for="email">Email</label>
              <input id="email" name="email" type="email" autocomplete="username" required autofocus>
              <details><summary>Organization</summary>
                <label for="tenant_domain">Organization domain (optional)</label>
                <input id="tenant_domain" name="tenant_domain" autocomplete="organization" placeholder="example.com">
              </details>
              <button type="submit">Send me a reset link</button>
            </form>
            <p><a href="/auth/login">Back to sign in</a></p>
            """)
    }

    func resetPage(_ request: Request, error: String?, token: String, status: Int = 200) -> Response {
        var r = HTML.page(title: "Choose a new password", body: """
            <h1>Choose a new password</h1>
            \(HTML.messageBox(linkMessages, code: error ?? ""))
            <form method="post" action="/api/v1/auth/password/reset" data-authgate="reset" novalidate>
              <input type="hidden" name="return_to" value="/auth/login?reset=1">
              <label for="token">Code from the mail</label>
              <input id="token" name="token" autocomplete="one-time-code" spellcheck="false" required value="\(HTML.escape(token))">
              <label for="new_password">New password (at least \(settings.minPasswordLength) characters)</label>
              <input id="new_password" name="new_password" type="password" autocomplete="new-password" required minlength="\(settings.minPasswordLength)">
              <button type="submit">Set the new password</button>
            </form>
            """)
        r.status = status
        return r
    }

    func invitePage(_ request: Request, error: String?, token: String, status: Int = 200) -> Response {
        var r = HTML.page(title: "Accept your invitation", body: """
            <h1>Accept your invitation</h1>
            \(HTML.messageBox(linkMessages, code: error ?? ""))
            <form method="post" action="/api/v1/auth/invite/accept" data-authgate="invite" novalidate>
              <input type="hidden" name="return_to" value="/auth/login?invited=1">
              <label for="token">Code from the mail</label>
              <input id="token" name="token" autocomplete="one-time-code" spellcheck="false" required value="\(HTML.escape(token))">
              <label for="password">Your password (at least \(settings.minPasswordLength) characters)</label>
              <input id="password" name="password" type="password" autocomplete="new-password" required minlength="\(settings.minPasswordLength)">
              <button type="submit">Set my password</button>
            </form>
            """)
        r.status = status
        return r
    }
}
