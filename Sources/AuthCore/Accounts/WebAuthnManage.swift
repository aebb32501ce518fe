import AuthCrypto

/// Listing, renaming and deleting passkeys (`GET/PATCH/DELETE /api/v1/auth/mfa/webauthn/{id}`),
/// and the routes' table. Deleting needs a level-2 session, as removing any factor does.
/// Deleting the account's last factor is refused with 409 `last_factor` unless the request
/// says `confirm_last: true` (body) or `?confirm_last=1`: Authgate cannot see which nginx
/// locations require level 2 (that is the web server's configuration), so it tells every user
/// that a location with AUTH_REQUIRE_AAL=2 will send them to set up a factor again.
struct PasskeyRoutes: RequestScoped {
    let worker: Worker

    static func register(_ r: inout Router) {
        r.add("POST", "/api/v1/auth/mfa/webauthn/register/options", handler(Self.webauthnRegisterOptions))
        r.add("POST", "/api/v1/auth/mfa/webauthn/register", handler(Self.webauthnRegister))
        r.add("POST", "/api/v1/auth/mfa/webauthn/options", handler(Self.webauthnMFAOptions))
        r.add("POST", "/api/v1/auth/passkey/options", handler(Self.passkeyOptions))
        r.add("POST", "/api/v1/auth/passkey/login", handler(Self.passkeyLogin))
        r.add("GET", "/api/v1/auth/mfa/webauthn/{}", handler(Self.webauthnGet))
        r.add("PATCH", "/api/v1/auth/mfa/webauthn/{}", handler(Self.webauthnRename))
        r.add("DELETE", "/api/v1/auth/mfa/webauthn/{}", handler(Self.webauthnDelete))
    }


    /// `confirm_last: true` in the body or `?confirm_last=1`.
    func lastFactorConfirmed(_ request: Request) throws(AuthError) -> Bool {
        try Body(request).object["confirm_last"]?.boolValue == true
            || request.rawQueryValues("confirm_last").contains { $0 == "1" || $0 == "true" }
    }

    /// Inside the deleting transaction: true when `id` is the account's last active factor
    /// (passkey or TOTP), which is refused with 409 `last_factor` unless `confirmed`.
    @discardableResult
    func requireOtherFactor(userID: String, besides id: String, confirmed: Bool) throws -> Bool {
        let others = try db.webauthn.credentials(userID: userID).filter { $0.id != id }.count
            + (try db.mfa.activeFactors(userID: userID).filter { $0.id != id }.count)
        guard others > 0 || confirmed else {
            throw AuthError(status: 409, code: "last_factor", message: """
                this is the account's last second factor: pages that require a second factor \
                (AUTH_REQUIRE_AAL=2) will ask you to set one up again; send confirm_last: true to delete it
                """)
        }
        return others == 0
    }

    func ownPasskey(_ p: Principal, _ id: String) throws(AuthError) -> WebAuthnCredential {
        guard id.utf8.count <= 64, let c = try store({ try db.webauthn.credential(id: id.lowercased()) }),
              c.userID == p.userID else { throw AuthError.notFound }
        return c
    }

    func webauthnGet(_ request: Request, _ params: [String]) throws(AuthError) -> Response {
        let p = try auth.bearerOrCookie(request)
        return profile.respond(200, passkeyJSON(try ownPasskey(p, params[0])))
    }

    /// `PATCH {name}`: renames (any session of the user).
    func webauthnRename(_ request: Request, _ params: [String]) throws(AuthError) -> Response {
        let p = try auth.bearerOrCookie(request)
        var c = try ownPasskey(p, params[0])
        let body = try Body(request)
        guard try body.string("name", maxBytes: 256) != nil else { throw AuthError.invalidRequest("missing name") }
        c.name = try passkeyName(body)
        let name = c.name
        let renamed = try write { () throws -> Bool in
            guard try db.webauthn.rename(id: c.id, userID: p.userID, name: name) else { return false }
            try recordAudit("mfa_renamed", tenantID: p.tenantID, actor: p.userID, request: request, detail: "passkey \(c.id)")
            return true
        }
        guard renamed else { throw AuthError.notFound }
        return profile.respond(200, passkeyJSON(c))
    }

    func webauthnDelete(_ request: Request, _ params: [String]) throws(AuthError) -> Response {
        let p = try auth.bearerOrCookie(request)
        try auth.requireSecondFactorIfEnrolled(p)
        let c = try ownPasskey(p, params[0])
        let confirmed = try lastFactorConfirmed(request)
        let deleted = try write { () throws -> Bool in
            let last = try requireOtherFactor(userID: p.userID, besides: c.id, confirmed: confirmed)
            guard try db.webauthn.delete(id: c.id, userID: p.userID) else { return false }
            if last { try db.mfa.replaceRecoveryCodes(userID: p.userID, digests: [], now: Time.now()) }
            try recordAudit("mfa_removed", tenantID: p.tenantID, actor: p.userID, request: request, detail: "passkey \(c.id)")
            return true
        }
        guard deleted else { throw AuthError.notFound }
        return profile.respond(200, APIProfile.successTrue)
    }
}
