import AuthCrypto
import AuthWebAuthn

/// Signing in with a passkey (issue 22): as the second factor after the password (the
/// `mfa_token` of the password step binds the ceremony), and passwordless with a discoverable
/// credential. Every refusal after the input checks is the login's generic 401
/// `invalid_credentials`; the audit row says why.
extension PasskeyRoutes {
    /// `POST /api/v1/auth/mfa/webauthn/options {mfa_token}` → `{publicKey: PublicKeyCredentialRequestOptions}`.
    func webauthnMFAOptions(_ request: Request) throws(AuthError) -> Response {
        let rp = try relyingParty()
        let body = try Body(request)
        guard let token = try body.string("mfa_token", maxBytes: 256), !token.isEmpty else {
            throw AuthError.invalidRequest("missing mfa_token")
        }
        let digest = MFARoutes.digest(token)
        let now = Time.now()
        guard let userID = try store({ try db.mfa.challengeUser(digest: digest, now: now) }) else {
            throw AuthError.invalidToken("invalid or expired mfa_token")
        }
        let creds = try store { try db.webauthn.credentials(userID: userID) }
        guard !creds.isEmpty else {
            throw AuthError(status: 400, code: "invalid_request", message: "this account has no passkey")
        }
        let challenge = try mintCeremonyChallenge(purpose: "mfa", userID: userID, mfaDigest: digest)
        return profile.respond(200, .object([("publicKey", .object([
            ("challenge", .string(challenge)), ("rpId", .string(rp.rpID)), ("timeout", .int(Self.webauthnChallengeSeconds * 1000)),
            ("userVerification", .string("preferred")),
            ("allowCredentials", .array(creds.map { c in
                .object([("type", .string("public-key")), ("id", .string(c.credentialID)),
                         ("transports", .array(c.transports.map { .string($0) }))])
            })),
        ]))]))
    }

    /// `POST /api/v1/auth/passkey/options` → `{publicKey}` for a discoverable credential (no email).
    func passkeyOptions(_ request: Request) throws(AuthError) -> Response {
        let rp = try relyingParty()
        let challenge = try mintCeremonyChallenge(purpose: "passkey", userID: nil, mfaDigest: nil)
        return profile.respond(200, .object([("publicKey", .object([
            ("challenge", .string(challenge)), ("rpId", .string(rp.rpID)), ("timeout", .int(Self.webauthnChallengeSeconds * 1000)),
            ("userVerification", .string("preferred")), ("allowCredentials", .array([])),
        ]))]))
    }

    /// `POST /api/v1/auth/passkey/login {credential}` → the profile's login answer.
    func passkeyLogin(_ request: Request) throws(AuthError) -> Response {
        let (user, session, now) = try passkeySignIn(try Body(request).object["credential"], request)
        return issuer.response(issuer.issue(user: user, session: session, counter: session.counter, now: now))
    }

    /// One assertion checked against a stored credential: the core's verification, then the
    /// counter rule (a regression is refused and audited). Returns nil with the reason on refusal.
    func checkAssertion(_ r: PasskeyResponse, _ c: WebAuthnCredential, rp: WebAuthnRelyingParty, request: Request,
                        tenantID: String) -> (AssertionResult?, String) {
        guard let key = Base64URL.decode(c.publicKey) else { return (nil, "stored key unreadable") }
        let result: AssertionResult
        do {
            result = try WebAuthn.verifyAssertion(clientDataJSON: r.clientDataJSON, authenticatorData: r.authenticatorData,
                                                  signature: r.signature, expectedChallenge: r.challenge, rp: rp,
                                                  cosePublicKey: key, storedSignCount: UInt32(clamping: c.signCount),
                                                  requireUserVerification: false)
        } catch {
            if error.code.contains("sign_count") || error.code.contains("counter") {
                audit("webauthn_sign_count_regressed", tenantID: tenantID, actor: c.userID, request: request,
                      detail: "passkey \(c.id) stored \(c.signCount): \(error.code)")
            }
            return (nil, error.code)
        }
        if result.signCountRegressed {
            audit("webauthn_sign_count_regressed", tenantID: tenantID, actor: c.userID, request: request,
                  detail: "passkey \(c.id) stored \(c.signCount), presented \(result.newSignCount)")
            return (nil, "sign count went backwards")
        }
        return (result, "")
    }

    /// The passkey step after the password (`/mfa/verify` and the browser's `/session/mfa` with
    /// `webauthn`): the attempt counts toward the lockout first, as a code does; the ceremony
    /// challenge is taken (whatever follows, it is used) and must be bound to this mfa_token;
    /// then one transaction moves the counter (compare-and-swap), uses the mfa_token and makes
    /// the level-2 session.
    func verifyPasskeySecondFactor(token: String, _ json: JSON?, _ request: Request) throws(AuthError) -> (User, Session, Int64) {
        let rp = try relyingParty()
        let response = try PasskeyResponse(json, registration: false)
        let now = Time.now()
        let digest = MFARoutes.digest(token)
        let (userID, counted) = try MFARoutes(worker: worker).countSecondFactorAttempt(digest: digest, now: now, request)
        var reason = ""
        var session: Session?
        let binding = try takeCeremonyChallenge(response, purpose: "mfa")
        let credential = try store { try db.webauthn.credential(credentialID: response.credentialID) }
        if binding == nil || binding?.mfaDigest != digest {
            reason = "unknown, used or expired passkey challenge"
        } else if let credential, credential.userID == userID {
            let (result, why) = checkAssertion(response, credential, rp: rp, request: request, tenantID: counted.tenantID)
            reason = why
            if let result {
                let amr = ["pwd", Self.keyMethod(backupEligible: result.flags.backupEligible)]
                session = try write { () throws -> Session? in
                    guard let user = try db.users.byIDForUpdate(userID), user.status == "active" else { return nil }
                    guard try db.webauthn.recordUse(id: credential.id, seen: credential.signCount,
                                                    newCount: Int64(result.newSignCount), backupState: result.flags.backupState,
                                                    now: now) else { return nil }
                    guard try db.mfa.consumeChallenge(digest: digest, now: now) else {
                        throw AuthError.invalidToken("invalid or expired mfa_token")
                    }
                    try db.users.resetFailures(userID: userID)
                    let s = try db.sessions.create(userID: userID, now: now,
                                                   userAgent: String((request.header("user-agent") ?? "").prefix(256)),
                                                   ip: request.remoteAddress, aal: 2, amr: amr)
                    try recordAudit("login_succeeded", tenantID: user.tenantID, actor: userID, request: request,
                                    detail: "second factor: passkey \(credential.id)")
                    return s
                }
                if session == nil { reason = "passkey used concurrently or account disabled" }
            }
        } else {
            reason = "unknown passkey"
        }
        guard let session, let user = try store({ try db.users.byID(userID) }) else {
            audit("mfa_failed", tenantID: counted.tenantID, actor: userID, request: request, detail: "passkey: \(reason)")
            throw counted.failedAttempts == settings.lockoutThreshold
                ? AuthError.invalidCredentials.noting(.lockout) : AuthError.invalidCredentials
        }
        return (user, session, now)
    }

    /// Passwordless: the credential names the user. Refused (401 `invalid_credentials`) for a
    /// disabled or locked account; 403 `password_change_required` when the account must change
    /// its password (the change needs the current one: sign in with it once). With user
    /// verification the session is level 2 (`amr` [hwk|swk, "mfa"]), without it level 1 ([hwk|swk]).
    func passkeySignIn(_ json: JSON?, _ request: Request) throws(AuthError) -> (User, Session, Int64) {
        let rp = try relyingParty()
        let response = try PasskeyResponse(json, registration: false)
        let now = Time.now()
        let binding = try takeCeremonyChallenge(response, purpose: "passkey")
        let credential = try store { try db.webauthn.credential(credentialID: response.credentialID) }
        func refuse(_ why: String, _ user: User?) -> AuthError {
            audit("login_failed", tenantID: user?.tenantID, actor: user?.id, request: request, detail: "passkey: \(why)")
            return AuthError.invalidCredentials
        }
        guard binding != nil else { throw refuse("unknown, used or expired passkey challenge", nil) }
        guard let credential, let user = try store({ try db.users.byID(credential.userID) }) else {
            throw refuse("unknown passkey", nil)
        }
        if let handle = response.userHandle {
            guard Base64URL.encode(handle) == (try store { try db.webauthn.userHandle(userID: user.id) }) else {
                throw refuse("user handle does not match the passkey", user)
            }
        }
        guard user.status == "active", !user.isLocked(now: now) else { throw refuse("account disabled or locked", user) }
        let (result, why) = checkAssertion(response, credential, rp: rp, request: request, tenantID: user.tenantID)
        guard let result else { throw refuse(why, user) }
        guard !user.mustChangePassword else {
            audit("login_failed", tenantID: user.tenantID, actor: user.id, request: request, detail: "passkey: password change required")
            var e = AuthError.passwordChangeRequired
            e.message = "this account must change its password: sign in with the password once"
            throw e
        }
        let key = Self.keyMethod(backupEligible: result.flags.backupEligible)
        let verified = result.flags.userVerified
        let session: Session? = try write { () throws -> Session? in
            guard let current = try db.users.byIDForUpdate(user.id), current.status == "active", !current.isLocked(now: now) else { return nil }
            guard try db.webauthn.recordUse(id: credential.id, seen: credential.signCount, newCount: Int64(result.newSignCount),
                                            backupState: result.flags.backupState, now: now) else { return nil }
            let s = try db.sessions.create(userID: user.id, now: now,
                                           userAgent: String((request.header("user-agent") ?? "").prefix(256)),
                                           ip: request.remoteAddress, aal: verified ? 2 : 1, amr: verified ? [key, "mfa"] : [key])
            try recordAudit("login_succeeded", tenantID: user.tenantID, actor: user.id, request: request,
                            detail: "passkey \(credential.id)\(verified ? " with user verification" : "")")
            return s
        }
        guard let session else { throw refuse("passkey used concurrently, account disabled or locked", user) }
        return ((try? db.users.byID(user.id)) ?? user, session, now)
    }
}
