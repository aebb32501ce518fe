import AuthCrypto

/// The password login: `POST /api/v1/auth/login`, and `signIn`, the checks every login shares
/// (the browser's cookie session runs the same).
struct LoginRoutes: RequestScoped {
    let worker: Worker

    static func register(_ r: inout Router) {
        r.add("POST", "/api/v1/auth/login", metrics: .login, mayRevoke: false, handler(Self.login))
    }

    /// `POST /api/v1/auth/login`. Every failure after input validation is the same 401
    /// `invalid_credentials`, and costs one password hash, so neither the answer nor its
    /// timing tells an unknown email, a locked or disabled account, or a wrong password apart.
    func login(_ request: Request) throws(AuthError) -> Response {
        switch try signIn(try Body(request), request) {
        case let .session(user, session, now):
            return issuer.response(issuer.issue(user: user, session: session, counter: session.counter, now: now))
        case let .secondFactor(challenge):
            return MFARoutes(worker: worker).mfaRequiredResponse(challenge)
        }
    }

    enum SignIn {
        /// A new session (users without a second factor: exactly as before issue 21).
        case session(User, Session, Int64)
        /// The password was right and the account has a factor: no session yet, a challenge.
        case secondFactor(MFAChallenge)
    }

    /// The checks of every login (JSON API and browser session): lockout, generic failures,
    /// one hash per attempt. Returns the account and its new session, or the second-factor
    /// challenge of an account with a factor.
    func signIn(_ body: Body, _ request: Request) throws(AuthError) -> SignIn {
        let rawEmail = try? body.string("email", maxBytes: 1024)
        let password = try? body.string("password", maxBytes: Validation.maxPasswordLength)
        guard let rawEmail, let password, !rawEmail.trimmingASCIISpaces().isEmpty, !password.isEmpty else {
            throw AuthError.invalidRequest("missing email or password")
        }
        let tenantDomain = try body.string("tenant_domain", maxBytes: 253)
        let now = Time.now()
        let candidates = try loginCandidates(email: rawEmail, tenantDomain: tenantDomain)
        guard !candidates.isEmpty else {
            try hasher.equalize(password)
            audit("login_failed", tenantID: nil, actor: nil, request: request, detail: "unknown account")
            throw AuthError.invalidCredentials
        }
        // Count the attempt before hashing, atomically, so parallel guesses cannot slip past the threshold.
        // One transaction for every candidate account: all are counted or none.
        let counted = try write {
            try candidates.map { user in
                try db.users.recordFailure(userID: user.id, now: now, threshold: settings.lockoutThreshold,
                                           lockSeconds: settings.lockoutSeconds)
            }
        }
        let allowed = counted.filter { $0.failedAttempts <= settings.lockoutThreshold && $0.status == "active" }
        var matched: User?
        for user in allowed where try hasher.check(password, against: user.passwordHash) {
            matched = user
            break
        }
        if allowed.isEmpty { try hasher.equalize(password) }
        guard let user = matched else {
            // For the metrics only (authgate_logins_total / authgate_lockouts_total).
            var outcome: RouteOutcome?
            if counted.contains(where: { $0.failedAttempts == settings.lockoutThreshold && $0.status == "active" }) {
                outcome = .lockout
            } else if allowed.isEmpty, counted.contains(where: { $0.failedAttempts > settings.lockoutThreshold }) {
                outcome = .locked
            }
            for user in candidates {
                let locked = allowed.contains(where: { $0.id == user.id }) ? "wrong password" : "locked or disabled"
                audit("login_failed", tenantID: user.tenantID, actor: user.id, request: request, detail: locked)
            }
            throw outcome.map { AuthError.invalidCredentials.noting($0) } ?? AuthError.invalidCredentials
        }
        app.testHooks.afterPasswordCheck?(user.id)
        try MailRoutes(worker: worker).requireVerifiedEmailIfAsked(user, request)
        // Made outside the transaction (never hash inside one), written inside it as a CAS.
        let upgraded = hasher.upgraded(for: user, password: password)
        // The success writes as one: counts reset, the hash upgrade, the session, its audit row.
        // An account with a second factor gets no session: a challenge (mfa_token) instead, and
        // its failure count is not reset (only this attempt's count is taken back), so wrong
        // codes keep counting toward the lockout across fresh password logins.
        enum Outcome { case session(Session), challenge(MFAChallenge) }
        let outcome: Outcome? = try write { () throws -> Outcome? in
            // Deleted or disabled while the password was being hashed: no session (the row
            // lock orders this against a delete on any host). Password changed meanwhile: the
            // password this login proved is no longer the account's, so no session either
            // (review finding 5: a session made after the change would outlive it).
            guard let current = try db.users.byIDForUpdate(user.id), current.status == "active",
                  current.passwordHash == user.passwordHash else { return nil }
            if let upgraded {
                try db.users.upgradePasswordHash(userID: user.id, from: user.passwordHash, to: upgraded, now: now)
            }
            if let kinds = try MFARoutes(worker: worker).mfaKinds(userID: user.id) {
                try db.users.undoFailure(userID: user.id)
                for other in candidates where other.id != user.id {
                    try db.users.undoFailure(userID: other.id)
                }
                let challenge = try MFARoutes(worker: worker).createChallenge(user: current, kinds: kinds, now: now)
                try recordAudit("login_mfa_required", tenantID: user.tenantID, actor: user.id, request: request)
                return .challenge(challenge)
            }
            try db.users.resetFailures(userID: user.id)
            // Failures counted on the user's accounts in other tenants were not theirs to pay for.
            for other in candidates where other.id != user.id {
                try db.users.undoFailure(userID: other.id)
            }
            if candidates.count > 1 {
                try recordAudit("login_tenant_resolved", tenantID: user.tenantID, actor: user.id, request: request,
                                detail: "email exists in \(candidates.count) tenants")
            }
            let session = try db.sessions.create(userID: user.id, now: now,
                                                 userAgent: String((request.header("user-agent") ?? "").prefix(256)),
                                                 ip: request.remoteAddress)
            try recordAudit("login_succeeded", tenantID: user.tenantID, actor: user.id, request: request)
            return .session(session)
        }
        switch outcome {
        case nil:
            audit("login_failed", tenantID: user.tenantID, actor: user.id, request: request,
                  detail: "password changed, account disabled or deleted during the login")
            throw AuthError.invalidCredentials
        case let .challenge(challenge):
            return .secondFactor(challenge)
        case let .session(session):
            let fresh = (try? db.users.byID(user.id)) ?? user
            return .session(fresh, session, now)
        }
    }

    /// The accounts a login may be for: with `tenant_domain` only that tenant's; without it,
    /// the tenants where the email exists (oldest first, at most AUTH_LOGIN_MAX_TENANTS).
    func loginCandidates(email rawEmail: String, tenantDomain: String?) throws(AuthError) -> [User] {
        guard let email = Validation.normalizedEmail(rawEmail) else { return [] }
        if let tenantDomain {
            guard let domain = Validation.normalizedDomain(tenantDomain),
                  let tenant = try store({ try db.tenants.byDomain(domain) }) else { return [] }
            return try store { try db.users.byEmail(tenantID: tenant.id, email: email) }.map { [$0] } ?? []
        }
        let found = try store { try db.users.withEmail(email, limit: max(1, settings.loginMaxTenants)) }
        if !found.isEmpty { return found }
        let fallback = settings.defaultDomain ?? settings.platformDomain
        guard let tenant = try store({ try db.tenants.byDomain(fallback) }) else { return [] }
        return try store { try db.users.byEmail(tenantID: tenant.id, email: email) }.map { [$0] } ?? []
    }
}
