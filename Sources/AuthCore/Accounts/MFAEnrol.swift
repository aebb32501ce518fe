import AuthCrypto

/// Enrolment and management of second factors (issue 21): enrol a TOTP factor (pending), confirm
/// it with a code (recovery codes shown once, other sessions revoked, a fresh level-2 pair),
/// list, delete, regenerate recovery codes. Deleting and regenerating need a level-2 session.
struct MFARoutes: RequestScoped {
    let worker: Worker

    static func register(_ r: inout Router) {
        r.add("POST", "/api/v1/auth/mfa/totp", handler(Self.mfaEnrolTOTP))
        r.add("POST", "/api/v1/auth/mfa/totp/confirm", handler(Self.mfaConfirmTOTP))
        r.add("GET", "/api/v1/auth/mfa", handler(Self.mfaList))
        r.add("DELETE", "/api/v1/auth/mfa/totp/{}", handler(Self.mfaDeleteTOTP))
        r.add("POST", "/api/v1/auth/mfa/recovery-codes", handler(Self.mfaRegenerateRecoveryCodes))
        r.add("POST", "/api/v1/auth/mfa/verify", handler(Self.mfaVerify))
    }

    static let recoveryCodeCount = 10
    /// A pending factor not confirmed within this time is dropped at the next enrolment.
    static let pendingFactorSeconds: Int64 = 3600

    /// `POST /api/v1/auth/mfa/totp` → `{factor_id, secret, otpauth_uri}` (pending).
    func mfaEnrolTOTP(_ request: Request) throws(AuthError) -> Response {
        let p = try auth.bearerOrCookie(request)
        let e = try enrolTOTP(p, request)
        return profile.respond(201, .object([
            ("factor_id", .string(e.factorID)), ("secret", .string(e.secret)), ("otpauth_uri", .string(e.uri)),
        ]))
    }

    func enrolTOTP(_ p: Principal, _ request: Request) throws(AuthError) -> (factorID: String, secret: String, uri: String) {
        // A second active factor is added only from a level-2 session.
        try auth.requireSecondFactorIfEnrolled(p)
        let ring = try secretsRing()
        let now = Time.now()
        var secret = Crypto.randomBytes(TOTP.secretBytes)
        defer { Crypto.wipe(&secret) }
        let id = StorageIDs.random()
        let sealed = SecretBox.seal(secret, context: id, ring: ring)
        try write {
            try db.mfa.deletePending(userID: p.userID, before: now - Self.pendingFactorSeconds)
            let pending = try db.mfa.factors(userID: p.userID).filter { !$0.isActive }
            // Pending factors expire after an hour (or confirm or delete one).
            guard pending.count < 5 else {
                throw AuthError(status: 429, code: "rate_limited", message: "too many pending factors",
                                headers: [("Retry-After", String(Self.pendingFactorSeconds))])
            }
            _ = try db.mfa.createFactor(id: id, userID: p.userID, kind: "totp", sealedSecret: sealed, now: now)
            try recordAudit("mfa_enrolled", tenantID: p.tenantID, actor: p.userID, request: request, detail: "totp \(id) pending")
        }
        let issuer = settings.mfaIssuer ?? Self.hostName(request) ?? settings.issuer
        return (id, Base32.encode(secret), TOTP.uri(secret: secret, issuer: issuer, account: p.claims.email))
    }

    /// The request's host without its port (the default issuer an authenticator app shows).
    static func hostName(_ request: Request) -> String? {
        guard let host = request.header("host"), !host.isEmpty else { return nil }
        if host.hasPrefix("[") { return host.split(separator: "]").first.map { String($0.dropFirst()) } }
        return String(host.split(separator: ":").first ?? Substring(host))
    }

    /// `POST /api/v1/auth/mfa/totp/confirm {factor_id, code}`.
    func mfaConfirmTOTP(_ request: Request) throws(AuthError) -> Response {
        let p = try auth.bearerOrCookie(request)
        let body = try Body(request)
        guard let factorID = try body.string("factor_id", maxBytes: 64)?.lowercased(),
              let code = try body.string("code", maxBytes: 16) else {
            throw AuthError.invalidRequest("missing factor_id or code")
        }
        let (tokens, codes) = try confirmTOTP(p, factorID: factorID, code: code, request)
        var data = issuer.data(tokens)
        if case var .object(pairs) = data {
            pairs.append(("recovery_codes", .array(codes.map { .string($0) })))
            data = .object(pairs)
        }
        return profile.respond(200, data)
    }

    /// Activates the factor, replaces the recovery codes, revokes every session of the user
    /// (they were made with one factor) and makes a level-2 one: all in one transaction.
    func confirmTOTP(_ p: Principal, factorID: String, code: String, _ request: Request) throws(AuthError) -> (IssuedTokens, [String]) {
        let ring = try secretsRing()
        let now = Time.now()
        guard let factor = try store({ try db.mfa.factor(id: factorID) }), factor.userID == p.userID, !factor.isActive else {
            throw AuthError.notFound
        }
        var secret: [UInt8]
        do { secret = try SecretBox.open(factor.secret, context: factor.id, ring: ring) } catch {
            throw AuthError.internalError("mfa: factor \(factor.id): \(error)")
        }
        defer { Crypto.wipe(&secret) }
        guard let step = TOTP.matchingStep(secret: secret, code: code.filter { $0 != " " }, now: now, after: factor.lastStep) else {
            throw AuthError(status: 400, code: "invalid_code", message: "the code does not match")
        }
        let codes = Self.makeRecoveryCodes()
        let session: Session = try write {
            guard let user = try db.users.byIDForUpdate(p.userID), user.status == "active" else {
                throw AuthError.invalidToken("session revoked")
            }
            guard try db.mfa.confirm(id: factor.id, step: step, now: now) else {
                throw AuthError(status: 400, code: "invalid_code", message: "the code does not match")
            }
            try db.mfa.replaceRecoveryCodes(userID: p.userID, digests: codes.map { Self.digest(Self.normalizedRecoveryCode($0)) }, now: now)
            try db.sessions.revokeAll(userID: p.userID, reason: "mfa_enrolled", now: now)
            let session = try db.sessions.create(userID: p.userID, now: now,
                                                 userAgent: String((request.header("user-agent") ?? "").prefix(256)),
                                                 ip: request.remoteAddress, aal: 2, amr: ["pwd", "otp"])
            try recordAudit("mfa_confirmed", tenantID: p.tenantID, actor: p.userID, request: request,
                            detail: "totp \(factor.id); other sessions revoked")
            return session
        }
        guard let user = try store({ try db.users.byID(p.userID) }) else { throw AuthError.invalidToken("session revoked") }
        return (issuer.issue(user: user, session: session, counter: session.counter, now: now), codes)
    }

    /// 10 codes of 10 base32 characters (50 bits each), shown as `xxxxx-xxxxx`.
    static func makeRecoveryCodes() -> [String] {
        (0..<recoveryCodeCount).map { _ in
            let raw = Base32.encode(Crypto.randomBytes(7)).lowercased().prefix(10)
            return raw.prefix(5) + "-" + raw.dropFirst(5)
        }
    }

    /// `GET /api/v1/auth/mfa`: the user's factors (never a secret) and the recovery codes left.
    func mfaList(_ request: Request) throws(AuthError) -> Response {
        let p = try auth.bearerOrCookie(request)
        let pf = profile
        let (factors, left, passkeys) = try store {
            (try db.mfa.factors(userID: p.userID), try db.mfa.remainingRecoveryCodes(userID: p.userID),
             try db.webauthn.credentials(userID: p.userID))
        }
        return pf.respond(200, .object([
            ("factors", .array(factors.map { f in
                .object([("id", .string(f.id)), ("kind", .string(f.kind)),
                         ("status", .string(f.isActive ? "active" : "pending")),
                         ("created_at", pf.timestamp(f.createdAt)),
                         ("last_used_at", f.lastUsedAt.map(pf.timestamp) ?? .null)])
            } + passkeys.map(PasskeyRoutes(worker: worker).passkeyJSON))),
            ("recovery_codes_remaining", .int(Int64(left))),
        ]))
    }

    /// `DELETE /api/v1/auth/mfa/totp/{id}` (level 2 when the user has an active factor). The
    /// account's last factor: 409 `last_factor` unless confirmed (WebAuthnManage.swift says why).
    func mfaDeleteTOTP(_ request: Request, _ params: [String]) throws(AuthError) -> Response {
        let p = try auth.bearerOrCookie(request)
        try auth.requireSecondFactorIfEnrolled(p)
        let id = params[0].lowercased()
        let confirmed = try PasskeyRoutes(worker: worker).lastFactorConfirmed(request)
        let deleted = try write { () throws -> Bool in
            if let f = try db.mfa.factor(id: id), f.userID == p.userID, f.isActive {
                try PasskeyRoutes(worker: worker).requireOtherFactor(userID: p.userID, besides: id, confirmed: confirmed)
            }
            guard try db.mfa.deleteFactor(id: id, userID: p.userID) else { return false }
            // The last factor gone: the recovery codes go with it.
            if !(try db.mfa.hasActiveFactor(userID: p.userID)) {
                try db.mfa.replaceRecoveryCodes(userID: p.userID, digests: [], now: Time.now())
            }
            try recordAudit("mfa_removed", tenantID: p.tenantID, actor: p.userID, request: request, detail: "totp \(id)")
            return true
        }
        guard deleted else { throw AuthError.notFound }
        return profile.respond(200, APIProfile.successTrue)
    }

    /// `POST /api/v1/auth/mfa/recovery-codes`: 10 new codes, the old ones void (level 2).
    func mfaRegenerateRecoveryCodes(_ request: Request) throws(AuthError) -> Response {
        let p = try auth.bearerOrCookie(request)
        guard try store({ try db.mfa.hasActiveFactor(userID: p.userID) }) else {
            throw AuthError(status: 400, code: "invalid_request", message: "no active second factor")
        }
        try auth.requireSecondFactorIfEnrolled(p)
        let codes = Self.makeRecoveryCodes()
        try write {
            try db.mfa.replaceRecoveryCodes(userID: p.userID, digests: codes.map { Self.digest(Self.normalizedRecoveryCode($0)) },
                                                   now: Time.now())
            try recordAudit("mfa_recovery_codes_regenerated", tenantID: p.tenantID, actor: p.userID, request: request)
        }
        return profile.respond(200, .object([("recovery_codes", .array(codes.map { .string($0) }))]))
    }
}
