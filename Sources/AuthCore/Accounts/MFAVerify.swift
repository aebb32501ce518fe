import AuthCrypto

/// The second step of a login for an account with a second factor: the single-use `mfa_token`
/// the password step hands out (5 minutes, stored as a digest, bound to the user), and
/// `POST /api/v1/auth/mfa/verify` that turns it plus a code (or a passkey's assertion,
/// WebAuthnLogin.swift) into the profile's login answer.
struct MFAChallenge {
    let token: String
    let expiresAt: Int64
    let kinds: [String]
    let user: User
}

extension MFARoutes {
    static let mfaTokenSeconds: Int64 = 300

    /// The kinds a login may continue with ("totp", "recovery_code"), nil when the user has no
    /// active factor (the login is the one-step login of before).
    func mfaKinds(userID: String) throws -> [String]? {
        guard try db.mfa.hasActiveFactor(userID: userID) else { return nil }
        // Passkeys (issue 22) are offered while the relying party is configured.
        let totp = try !db.mfa.activeFactors(userID: userID).isEmpty
        let passkeys = try db.webauthn.credentials(userID: userID)
        let passkey = settings.webauthn.isEnabled && !passkeys.isEmpty
        return (totp ? ["totp"] : []) + (passkey ? ["webauthn"] : []) + ["recovery_code"]
    }

    /// Inside the login's write transaction.
    func createChallenge(user: User, kinds: [String], now: Int64) throws -> MFAChallenge {
        let token = "mfa_" + Base64URL.encode(Crypto.randomBytes(32))
        let expires = now + Self.mfaTokenSeconds
        try db.mfa.createChallenge(digest: Self.digest(token), userID: user.id, now: now, expiresAt: expires)
        return MFAChallenge(token: token, expiresAt: expires, kinds: kinds, user: user)
    }

    static func digest(_ secret: String) -> String { Crypto.hex(Crypto.sha256(Array(secret.utf8))) }

    /// `200` with `mfa_required`, the token and the factor kinds, in the profile's envelope; no
    /// access or refresh token (nothing here passes `/auth/me` or the gate).
    func mfaRequiredResponse(_ c: MFAChallenge) -> Response {
        profile.respond(200, .object([
            ("mfa_required", .bool(true)), ("mfa_token", .string(c.token)),
            ("factors", .array(c.kinds.map { .string($0) })),
            ("expires_at", profile.timestamp(c.expiresAt)),
        ]))
    }

    func mfaVerify(_ request: Request) throws(AuthError) -> Response {
        let (user, session, now) = try verifySecondFactor(try Body(request), request)
        return issuer.response(issuer.issue(user: user, session: session, counter: session.counter, now: now))
    }

    /// The opening of every second-factor step (a code, a recovery code, a passkey): the
    /// mfa_token's user, whose failure count moves before anything is checked (a success resets
    /// it), refused as locked once over the threshold or no longer active. Returns the user's id
    /// and its row after the count.
    func countSecondFactorAttempt(digest: String, now: Int64, _ request: Request) throws(AuthError) -> (userID: String, counted: User) {
        guard let userID = try store({ try db.mfa.challengeUser(digest: digest, now: now) }) else {
            throw AuthError.invalidToken("invalid or expired mfa_token")
        }
        let counted = try write {
            try db.users.recordFailure(userID: userID, now: now, threshold: settings.lockoutThreshold,
                                       lockSeconds: settings.lockoutSeconds)
        }
        guard counted.failedAttempts <= settings.lockoutThreshold, counted.status == "active" else {
            audit("mfa_failed", tenantID: counted.tenantID, actor: userID, request: request, detail: "locked or disabled")
            throw AuthError.invalidCredentials.noting(.locked)
        }
        return (userID, counted)
    }

    /// The checks of the code step (API and browser): the challenge is live; the attempt is
    /// counted before the code is checked (wrong codes lock the account at AUTH_LOCKOUT_THRESHOLD
    /// with the login's generic `invalid_credentials`); then one transaction uses the challenge,
    /// consumes the TOTP step (or the recovery code) by compare-and-swap, resets the count and
    /// makes the level-2 session: of concurrent submissions of one code, exactly one succeeds.
    func verifySecondFactor(_ body: Body, _ request: Request) throws(AuthError) -> (User, Session, Int64) {
        guard let token = try body.string("mfa_token", maxBytes: 256), !token.isEmpty else {
            throw AuthError.invalidRequest("missing mfa_token")
        }
        if let passkey = body.object["webauthn"], passkey != .null {
            return try PasskeyRoutes(worker: worker).verifyPasskeySecondFactor(token: token, passkey, request)
        }
        let code = try body.string("code", maxBytes: 64).map { $0.filter { $0 != " " } }
        let recovery = try body.string("recovery_code", maxBytes: 64).map(Self.normalizedRecoveryCode)
        guard (code == nil) != (recovery == nil), !(code ?? recovery ?? "").isEmpty else {
            throw AuthError.invalidRequest("send code or recovery_code")
        }
        let now = Time.now()
        let digest = Self.digest(token)
        let (userID, counted) = try countSecondFactorAttempt(digest: digest, now: now, request)
        // Which factor and step the code matches (outside the transaction: no crypto under the lock).
        var matched: (factorID: String, step: Int64)?
        var recoveryDigest: String?
        if let code {
            let ring = try secretsRing()
            let factors = try store { try db.mfa.activeFactors(userID: userID) }
            for f in factors where f.kind == "totp" {
                var secret: [UInt8]
                do { secret = try SecretBox.open(f.secret, context: f.id, ring: ring) } catch {
                    app.log.error("mfa: factor \(f.id) cannot be opened: \(error)")
                    continue
                }
                defer { Crypto.wipe(&secret) }
                if let step = TOTP.matchingStep(secret: secret, code: code, now: now, after: f.lastStep) {
                    matched = (f.id, step)
                    break
                }
            }
        } else if let recovery {
            recoveryDigest = Self.digest(recovery)
        }
        let method = code != nil ? "totp" : "recovery code"
        app.testHooks.afterCodeCheck?(userID)
        let session: Session? = try write { () throws -> Session? in
            guard let user = try db.users.byIDForUpdate(userID), user.status == "active" else { return nil }
            if let matched {
                guard try db.mfa.consumeStep(id: matched.factorID, step: matched.step, now: now) else { return nil }
            } else if let recoveryDigest {
                guard try db.mfa.useRecoveryCode(userID: userID, digest: recoveryDigest, now: now) else { return nil }
            } else {
                return nil
            }
            // The challenge last: a code consumed above rolls back with it when the token was
            // used meanwhile (the error below), so a losing racer burns nothing.
            guard try db.mfa.consumeChallenge(digest: digest, now: now) else {
                throw AuthError.invalidToken("invalid or expired mfa_token")
            }
            try db.users.resetFailures(userID: userID)
            let session = try db.sessions.create(userID: userID, now: now,
                                                 userAgent: String((request.header("user-agent") ?? "").prefix(256)),
                                                 ip: request.remoteAddress, aal: 2, amr: ["pwd", "otp"])
            try recordAudit("login_succeeded", tenantID: user.tenantID, actor: userID, request: request,
                            detail: "second factor: \(method)")
            return session
        }
        guard let session, let user = try store({ try db.users.byID(userID) }) else {
            audit("mfa_failed", tenantID: counted.tenantID, actor: userID, request: request, detail: "wrong or used \(method)")
            throw counted.failedAttempts == settings.lockoutThreshold
                ? AuthError.invalidCredentials.noting(.lockout) : AuthError.invalidCredentials
        }
        return (user, session, now)
    }

    /// The ring of AUTH_SECRETS_FILE, or 503 when the deployment has none.
    func secretsRing() throws(AuthError) -> KeyRing {
        guard let secrets = app.secrets else {
            var e = AuthError.unavailable(retryAfter: 60)
            e.message = "second factors are not configured (no AUTH_SECRETS_FILE)"
            e.cause = "no secrets file at \(settings.secretsFile)"
            throw e
        }
        return secrets.current
    }

    /// Recovery codes are compared lower case without dashes or spaces.
    static func normalizedRecoveryCode(_ s: String) -> String {
        String(s.lowercased().filter { $0 != "-" && $0 != " " })
    }
}
