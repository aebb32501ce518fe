import AuthCrypto
import AuthWebAuthn

/// Registering a passkey (issue 22): options, then the browser's answer. A signed-in user (the
/// bearer token, or the browser's access cookie with the same-origin rule), at level 2 once
/// they have any factor. The first factor of an account is treated as TOTP's confirmation is:
/// recovery codes (shown once), every other session revoked, a fresh level-2 pair.
extension PasskeyRoutes {
    /// `POST /api/v1/auth/mfa/webauthn/register/options` → `{publicKey: PublicKeyCredentialCreationOptions}`.
    func webauthnRegisterOptions(_ request: Request) throws(AuthError) -> Response {
        let p = try auth.bearerOrCookie(request)
        try auth.requireSecondFactorIfEnrolled(p)
        let rp = try relyingParty()
        let now = Time.now()
        let (handle, existing) = try write {
            (try db.webauthn.ensureUserHandle(userID: p.userID, fresh: Base64URL.encode(Crypto.randomBytes(32)), now: now),
             try db.webauthn.credentials(userID: p.userID))
        }
        guard existing.count < Self.maxPasskeys else {
            throw AuthError(status: 409, code: "limit_reached", message: "at most \(Self.maxPasskeys) passkeys per account")
        }
        let challenge = try mintCeremonyChallenge(purpose: "register", userID: p.userID, mfaDigest: nil)
        let options: JSON = .object([
            ("rp", .object([("id", .string(rp.rpID)), ("name", .string(settings.mfaIssuer ?? rp.rpID))])),
            ("user", .object([("id", .string(handle)), ("name", .string(p.claims.email)),
                              ("displayName", .string(p.claims.email))])),
            ("challenge", .string(challenge)),
            // ES256, EdDSA, RS256 (Windows Hello).
            ("pubKeyCredParams", .array([-7, -8, -257].map { .object([("type", .string("public-key")), ("alg", .int($0))]) })),
            ("timeout", .int(Self.webauthnChallengeSeconds * 1000)),
            ("excludeCredentials", .array(existing.map { c in
                .object([("type", .string("public-key")), ("id", .string(c.credentialID)),
                         ("transports", .array(c.transports.map { .string($0) }))])
            })),
            ("authenticatorSelection", .object([("residentKey", .string("preferred")), ("requireResidentKey", .bool(false)),
                                                ("userVerification", .string("preferred"))])),
            ("attestation", .string("none")),
        ])
        return profile.respond(200, .object([("publicKey", options)]))
    }

    /// `POST /api/v1/auth/mfa/webauthn/register {credential, name}` → 201 `{passkey}` (+ the
    /// login answer and `recovery_codes` when it is the account's first factor).
    func webauthnRegister(_ request: Request) throws(AuthError) -> Response {
        let p = try auth.bearerOrCookie(request)
        let body = try Body(request)
        let name = try passkeyName(body)
        let (passkey, first) = try registerPasskey(p, body.object["credential"], name: name, request)
        var pairs: [(String, JSON)] = [("passkey", passkeyJSON(passkey))]
        var headers: [(String, String)] = []
        if let (tokens, session, codes) = first {
            if case let .object(t) = issuer.data(tokens) { pairs += t }
            pairs.append(("recovery_codes", .array(codes.map { .string($0) })))
            if request.bearer == nil {
                let c = worker.sessionCookies(tokens, session: session, now: Time.now())
                headers = [("Set-Cookie", c.access), ("Set-Cookie", c.refresh)]
            }
        }
        var r = profile.respond(201, .object(pairs))
        r.headers += headers
        return r
    }

    /// A passkey's name: 1…64 characters, no control characters; default "Passkey".
    func passkeyName(_ body: Body) throws(AuthError) -> String {
        let raw = (try body.string("name", maxBytes: 256) ?? "").trimmingASCIISpaces()
        guard !raw.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }), raw.count <= 64 else {
            throw AuthError.invalidRequest("name: at most 64 characters, no control characters")
        }
        return raw.isEmpty ? "Passkey" : raw
    }

    func registerPasskey(_ p: Principal, _ json: JSON?, name: String, _ request: Request) throws(AuthError)
        -> (WebAuthnCredential, (IssuedTokens, Session, [String])?) {
        try auth.requireSecondFactorIfEnrolled(p)
        let rp = try relyingParty()
        let response = try PasskeyResponse(json, registration: true)
        guard let binding = try takeCeremonyChallenge(response, purpose: "register"), binding.userID == p.userID else {
            throw Self.rejected("unknown, used or expired challenge")
        }
        let registered: RegisteredCredential
        do {
            registered = try WebAuthn.verifyRegistration(clientDataJSON: response.clientDataJSON,
                                                         attestationObject: response.attestationObject,
                                                         expectedChallenge: response.challenge, rp: rp,
                                                         requireUserVerification: false)
        } catch {
            audit("webauthn_register_failed", tenantID: p.tenantID, actor: p.userID, request: request, detail: error.code)
            throw Self.rejected(error.code)
        }
        let now = Time.now()
        let credential = WebAuthnCredential(
            id: StorageIDs.random(), userID: p.userID, credentialID: Base64URL.encode(registered.credentialID),
            publicKey: Base64URL.encode(registered.cosePublicKey), algorithm: Int64(registered.algorithm),
            signCount: Int64(registered.signCount), transports: response.transports,
            backupEligible: registered.flags.backupEligible, backupState: registered.flags.backupState,
            aaguid: Crypto.hex(registered.aaguid), name: name, createdAt: now, lastUsedAt: nil)
        guard credential.credentialID == response.credentialID else { throw Self.rejected("rawId differs from the attested credential id") }
        let codes = MFARoutes.makeRecoveryCodes()
        let session: Session? = try write { () throws -> Session? in
            guard let user = try db.users.byIDForUpdate(p.userID), user.status == "active" else {
                throw AuthError.invalidToken("session revoked")
            }
            guard try db.webauthn.credential(credentialID: credential.credentialID) == nil else {
                throw AuthError(status: 409, code: "already_registered", message: "this passkey is already registered")
            }
            let first = !(try db.mfa.hasActiveFactor(userID: p.userID))
            try db.webauthn.create(credential)
            try recordAudit("mfa_enrolled", tenantID: p.tenantID, actor: p.userID, request: request,
                            detail: "passkey \(credential.id) alg \(credential.algorithm) backup_eligible \(credential.backupEligible)")
            guard first else { return nil }
            // The first factor: as TOTP's confirmation (sessions made with one factor end).
            try db.mfa.replaceRecoveryCodes(userID: p.userID, digests: codes.map { MFARoutes.digest(MFARoutes.normalizedRecoveryCode($0)) }, now: now)
            try db.sessions.revokeAll(userID: p.userID, reason: "mfa_enrolled", now: now)
            return try db.sessions.create(userID: p.userID, now: now,
                                          userAgent: String((request.header("user-agent") ?? "").prefix(256)),
                                          ip: request.remoteAddress, aal: 2,
                                          amr: ["pwd", Self.keyMethod(backupEligible: credential.backupEligible)])
        }
        guard let session else { return (credential, nil) }
        guard let user = try store({ try db.users.byID(p.userID) }) else { throw AuthError.invalidToken("session revoked") }
        return (credential, (issuer.issue(user: user, session: session, counter: session.counter, now: now), session, codes))
    }
}
