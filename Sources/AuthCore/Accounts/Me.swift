import AuthCrypto

/// The caller's own account: `GET /api/v1/auth/me` and the password change.
struct AccountRoutes: RequestScoped {
    let worker: Worker

    static func register(_ r: inout Router) {
        r.add("GET", "/api/v1/auth/me", handler(Self.me))
        r.add("POST", "/api/v1/auth/me/password", handler(Self.changePassword))
    }

    /// `GET /api/v1/auth/me`: allowed while a password change is pending.
    func me(_ request: Request) throws(AuthError) -> Response {
        let p = try auth.authenticate(request, allowPendingPasswordChange: true)
        guard let user = try store({ try db.users.byID(p.userID) }) else {
            throw AuthError.invalidToken("session revoked")
        }
        return profile.respond(200, profile.user(user, full: true))
    }

    /// `POST /api/v1/auth/me/password` `{current_password, new_password}`.
    func changePassword(_ request: Request) throws(AuthError) -> Response {
        let p = try auth.authenticate(request, allowPendingPasswordChange: true)
        _ = try changePassword(p, try Body(request), request)
        return profile.respond(200, APIProfile.successTrue)
    }

    /// The password change of every route (bearer and browser session); returns the updated user.
    func changePassword(_ p: Principal, _ body: Body, _ request: Request) throws(AuthError) -> User {
        guard let current = try body.string("current_password", maxBytes: Validation.maxPasswordLength), !current.isEmpty,
              let new = try body.string("new_password", maxBytes: Validation.maxPasswordLength), !new.isEmpty
        else { throw AuthError.invalidRequest("missing current_password or new_password") }
        guard let user = try store({ try db.users.byID(p.userID) }) else { throw AuthError.invalidToken("session revoked") }
        try auth.requireSecondFactorIfEnrolled(p)
        if let problem = Validation.passwordProblem(new, email: user.email, current: current,
                                                    minLength: settings.minPasswordLength) {
            throw AuthError.weakPassword(problem)
        }
        let now = Time.now()
        let counted = try store {
            try db.users.recordFailure(userID: user.id, now: now, threshold: settings.lockoutThreshold,
                                       lockSeconds: settings.lockoutSeconds)
        }
        guard counted.failedAttempts <= settings.lockoutThreshold,
              try hasher.check(current, against: user.passwordHash) else {
            audit("password_change_failed", tenantID: user.tenantID, actor: user.id, request: request)
            throw AuthError.invalidCredentials
        }
        let hash = try hasher.make(new)
        // One write transaction: the new password never exists while the other sessions still live.
        try write {
            try db.users.resetFailures(userID: user.id)
            try db.users.setPassword(userID: user.id, hash: hash, mustChange: false, now: now)
            _ = try db.sessions.revokeAll(userID: user.id, reason: "password_changed", now: now, except: p.sessionID)
            try recordAudit("password_changed", tenantID: user.tenantID, actor: user.id, request: request)
        }
        return (try? db.users.byID(user.id)) ?? user
    }
}
