import AuthCrypto

/// The browser side of the second factor (issue 21), without JavaScript: the code step after the
/// password (a form with the mfa_token hidden in it, "use a recovery code" folded beneath), and
/// the enrolment (GET /auth/mfa explains, its button posts; the next page shows the QR code as
/// inline SVG and the key as text; confirming with a code sets the level-2 cookies and shows the
/// recovery codes once).
extension BrowserRoutes {
    static func registerMFAPages(_ r: inout Router) {
        r.add("GET", "/auth/mfa", handler(Self.mfaStartPage))
        r.add("POST", "/auth/mfa", handler(Self.mfaEnrolPage))
        r.add("POST", "/api/v1/auth/session/mfa", handler(Self.sessionSecondFactor))
        r.add("POST", "/api/v1/auth/session/mfa/confirm", handler(Self.sessionConfirmFactor))
    }

    var codeMessages: [String: String] {
        let minutes = max(1, settings.lockoutSeconds / 60)
        return [
            "invalid_credentials": "That code is wrong or was already used. After \(settings.lockoutThreshold) failed attempts an account is locked for \(minutes) minutes.",
            "invalid_code": "That code does not match. Check the time on your phone and try the current code.",
            "invalid_token": "This sign-in has expired. Sign in again.",
            "invalid_request": "Enter the 6-digit code from your authenticator app, or a recovery code.",
            "rate_limited": "Too many attempts. Wait a few seconds, then try again.",
            "unavailable": "The server is busy. Try again in a moment.",
            "forbidden": "This form was sent from another site and was refused. Reload this page and try again.",
            "network": "The server cannot be reached. Check your connection and try again.",
        ]
    }

    /// The code step (the answer to the password form of an account with a factor).
    /// With a passkey among `kinds` (issue 22), a "Use your passkey" button above the form.
    func mfaCodePage(token: String, returnTo: String, error: String = "", kinds: [String] = ["totp", "recovery_code"]) -> Response {
        let passkey = kinds.contains("webauthn")
        let totp = kinds.contains("totp")
        var messages = codeMessages
        if passkey { messages.merge(passkeyMessages.filter { $0.key != "invalid_credentials" }) { a, _ in a } }
        let intro = !passkey ? "<p>Open your authenticator app and enter the 6-digit code for this account.</p>" : """
            <p>Use your passkey\(totp ? ", or enter the 6-digit code from your authenticator app" : ""); \
            a recovery code works too.</p>
            <button type="button" id="passkey-mfa">Use your passkey</button>
            \(Self.passkeyScriptTag)
            """
        return HTML.page(title: totp ? "Enter your code" : "Use your passkey", body: """
            <h1>\(totp ? "Enter your code" : "Use your passkey")</h1>
            \(intro)
            \(HTML.messageBox(messages, code: error))
            <form method="post" action="/api/v1/auth/session/mfa" data-authgate="mfa" novalidate>
              <input type="hidden" name="mfa_token" value="\(HTML.escape(token))">
              <input type="hidden" name="return_to" value="\(HTML.escape(returnTo))">
              <label for="code">Code</label>
              <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" maxlength="8" autofocus>
              <details id="use-recovery"><summary>Use a recovery code</summary>
                <label for="recovery_code">Recovery code</label>
                <input id="recovery_code" name="recovery_code" autocomplete="off" placeholder="xxxxx-xxxxx">
              </details>
              <button type="submit">Verify</button>
            </form>
            """)
    }

    /// `POST /api/v1/auth/session/mfa` (mfa_token, code | recovery_code, return_to): the browser's
    /// verify; sets the level-2 cookies. A wrong code shows the code step again (same token).
    func sessionSecondFactor(_ request: Request) throws(AuthError) -> Response {
        try worker.requireSameOrigin(request)
        var (body, kind) = try BrowserBody.parse(request)
        let json = BrowserBody.answersJSON(request, kind)
        let returnTo = ReturnTo.orFallback(try? body.string("return_to"))
        let token = (try? body.string("mfa_token", maxBytes: 256)) ?? nil
        // A form sends both fields, one empty: the filled one counts.
        if case var .object(pairs) = body.object {
            pairs.removeAll { ($0.0 == "code" || $0.0 == "recovery_code") && $0.1 == .string("") }
            body = Body(object: .object(pairs))
        }
        do throws(AuthError) {
            let (user, session, now) = try MFARoutes(worker: worker).verifySecondFactor(body, request)
            let tokens = issuer.issue(user: user, session: session, counter: session.counter, now: now)
            let cookies = worker.sessionCookies(tokens, session: session, now: now)
            let setCookies = [("Set-Cookie", cookies.access), ("Set-Cookie", cookies.refresh)]
            guard json else { return Response.seeOther(returnTo, setCookies) }
            var r = profile.respond(200, .object([
                ("user", profile.user(user, full: true)), ("expires_at", profile.timestamp(tokens.expiresAt)),
                ("redirect_to", .string(returnTo)),
            ]))
            r.headers += setCookies
            return r
        } catch {
            guard !json else { throw error }
            if error.code == "invalid_token" || token == nil {
                return Response.seeOther("/auth/login?error=invalid_credentials&return_to=\(ReturnTo.encode(returnTo))")
            }
            let kinds = (try? store { () throws -> [String]? in
                guard let userID = try db.mfa.challengeUser(digest: MFARoutes.digest(token ?? ""), now: Time.now()) else { return nil }
                return try MFARoutes(worker: worker).mfaKinds(userID: userID)
            }) ?? nil
            var r = mfaCodePage(token: token ?? "", returnTo: returnTo, error: error.code, kinds: kinds ?? ["totp", "recovery_code"])
            r.status = error.status == 429 ? 429 : 200
            return r
        }
    }

    /// `GET /auth/mfa`: where a level-1 browser session is sent by a location that requires
    /// level 2. Signed in: set up an authenticator (or sign in again with the code when one is
    /// set up); not signed in: the login page.
    func mfaStartPage(_ request: Request) throws(AuthError) -> Response {
        let back = ReturnTo.orFallback(Query.decode(request.rawQueryValues("return_to").first ?? ""))
        guard let p = try? auth.authenticate(token: worker.accessCookie(request)) else {
            return Response.seeOther("/auth/login?return_to=" + ReturnTo.encode("/auth/mfa?return_to=" + ReturnTo.encode(back)))
        }
        if try store({ try db.mfa.hasActiveFactor(userID: p.userID) }) {
            return HTML.page(title: "Second factor", body: """
                <h1>Sign in with your code</h1>
                <p>This page needs a sign-in with your authenticator code.</p>
                <p><a id="signin-again" href="/auth/login?return_to=\(HTML.escape(ReturnTo.encode(back)))">Sign in again</a></p>
                """)
        }
        return HTML.page(title: "Set up a second factor", body: """
            <h1>Set up a second factor</h1>
            <p>This page needs a second factor: a 6-digit code from an authenticator app on your phone
            (any TOTP app) in addition to your password\(settings.webauthn.isEnabled ? ", or a passkey" : "").</p>
            \(settings.webauthn.isEnabled ? #"<p><a id="account-passkey" href="/auth/account">Add a passkey on your account page</a></p>"# : "")
            <form method="post" action="/auth/mfa">
              <input type="hidden" name="return_to" value="\(HTML.escape(back))">
              <button type="submit" id="enrol">Set up an authenticator app</button>
            </form>
            """)
    }

    /// `POST /auth/mfa`: a new (pending) TOTP factor: the QR code, the key as text, the confirm form.
    func mfaEnrolPage(_ request: Request) throws(AuthError) -> Response {
        try worker.requireSameOrigin(request)
        let (body, _) = try BrowserBody.parse(request)
        let back = ReturnTo.orFallback(try? body.string("return_to"))
        guard let p = try? auth.authenticate(token: worker.accessCookie(request)) else {
            return Response.seeOther("/auth/login?return_to=" + ReturnTo.encode("/auth/mfa?return_to=" + ReturnTo.encode(back)))
        }
        let e = try MFARoutes(worker: worker).enrolTOTP(p, request)
        return enrolConfirmPage(factorID: e.factorID, secret: e.secret, uri: e.uri, returnTo: back)
    }

    func enrolConfirmPage(factorID: String, secret: String, uri: String, returnTo: String, error: String = "") -> Response {
        let grouped = stride(from: 0, to: secret.count, by: 4).map { i -> String in
            let start = secret.index(secret.startIndex, offsetBy: i)
            return String(secret[start..<(secret.index(start, offsetBy: 4, limitedBy: secret.endIndex) ?? secret.endIndex)])
        }.joined(separator: " ")
        return HTML.page(title: "Scan the QR code", body: """
            <h1>Scan the QR code</h1>
            <p>Scan it with your authenticator app, or type the key below into it.</p>
            \(QRCodeSVG.svg(uri) ?? "")
            <p>Key: <code id="totp-secret" data-secret="\(HTML.escape(secret))">\(HTML.escape(grouped))</code></p>
            \(HTML.messageBox(codeMessages, code: error))
            <form method="post" action="/api/v1/auth/session/mfa/confirm">
              <input type="hidden" name="factor_id" value="\(HTML.escape(factorID))">
              <input type="hidden" name="return_to" value="\(HTML.escape(returnTo))">
              <label for="code">Code shown by the app</label>
              <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="8" autofocus>
              <button type="submit" id="confirm">Confirm</button>
            </form>
            """)
    }

    /// `POST /api/v1/auth/session/mfa/confirm` (factor_id, code, return_to): activates the factor,
    /// sets the level-2 cookies (every other session was revoked) and shows the recovery codes once.
    func sessionConfirmFactor(_ request: Request) throws(AuthError) -> Response {
        try worker.requireSameOrigin(request)
        let (body, kind) = try BrowserBody.parse(request)
        let json = BrowserBody.answersJSON(request, kind)
        let returnTo = ReturnTo.orFallback(try? body.string("return_to"))
        guard let factorID = try body.string("factor_id", maxBytes: 64)?.lowercased(),
              let code = try body.string("code", maxBytes: 16) else { throw AuthError.invalidRequest("missing factor_id or code") }
        let p = try auth.authenticate(token: worker.accessCookie(request))
        let (tokens, codes): (IssuedTokens, [String])
        do {
            (tokens, codes) = try MFARoutes(worker: worker).confirmTOTP(p, factorID: factorID, code: code, request)
        } catch where !json && error.code == "invalid_code" {
            // The same factor, its key shown again (read back from the sealed row), and the message.
            guard let f = try store({ try db.mfa.factor(id: factorID) }), f.userID == p.userID,
                  var secret = try? SecretBox.open(f.secret, context: f.id, ring: try MFARoutes(worker: worker).secretsRing()) else { throw error }
            defer { Crypto.wipe(&secret) }
            let issuer = settings.mfaIssuer ?? MFARoutes.hostName(request) ?? settings.issuer
            return enrolConfirmPage(factorID: factorID, secret: Base32.encode(secret),
                                    uri: TOTP.uri(secret: secret, issuer: issuer, account: p.claims.email),
                                    returnTo: returnTo, error: error.code)
        }
        let now = Time.now()
        guard let session = try store({ try db.sessions.byID(sessionID(of: tokens)) }) else { throw AuthError.invalidToken() }
        let cookies = worker.sessionCookies(tokens, session: session, now: now)
        let setCookies = [("Set-Cookie", cookies.access), ("Set-Cookie", cookies.refresh)]
        if json {
            var r = profile.respond(200, .object([("recovery_codes", .array(codes.map { .string($0) })),
                                                  ("redirect_to", .string(returnTo))]))
            r.headers += setCookies
            return r
        }
        var r = HTML.page(title: "Recovery codes", body: """
            <h1>Save your recovery codes</h1>
            <p>Each one signs you in once if you lose your phone. They are shown only now: print them or
            keep them in a password manager.</p>
            <ul id="recovery-codes">
            \(codes.map { "<li><code>\(HTML.escape($0))</code></li>" }.joined(separator: "\n"))
            </ul>
            <p><a id="continue" href="\(HTML.escape(returnTo))">Continue</a></p>
            """)
        r.headers += setCookies
        return r
    }
}
