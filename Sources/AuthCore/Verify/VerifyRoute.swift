import AuthCrypto

/// The nginx `auth_request` verify route. It answers only 204, 401 or 403 (nginx turns
/// anything else into a 500 for the client), never writes per request, never hashes slowly.
extension Worker {
    func verify(_ request: Request, policy: VerifyPolicy) -> Response {
        do {
            return try verifyAllowing(request, policy: policy)
        } catch let error as AuthError {
            var denial = verifyDenial(error, credentialSent: request.bearer != nil)
            if policy.allowBrowser { denial.headers += browserDenialHeaders(request, error) }
            return denial
        } catch {
            app.log.error("verify: \(error)")
            return verifyDenial(.invalidToken(), credentialSent: true)
        }
    }

    func verifyDenial(_ error: AuthError, credentialSent: Bool) -> Response {
        if error.status == 403 {
            return Response(status: 403, headers: [("X-Auth-Error", error.code)])
        }
        if error.status != 401 { app.log.error("verify: \(error.code) \(error.cause ?? "")") }
        if error.code == AuthError.mfaRequired.code {
            // RFC 9470 (step-up): the token is good, its authentication is not strong enough here.
            return Response(status: 401, headers: [
                ("WWW-Authenticate", "Bearer error=\"insufficient_user_authentication\", error_description=\"second factor required\""),
                ("X-Auth-Error", AuthError.mfaRequired.code),
            ])
        }
        return Response(status: 401, headers: [
            ("WWW-Authenticate", credentialSent ? "Bearer error=\"invalid_token\"" : "Bearer"),
        ])
    }

    func verifyAllowing(_ request: Request, policy: VerifyPolicy) throws -> Response {
        if request.bearer == nil && policy.allowBrowser {
            return try verifyBrowser(request, policy: policy)
        }
        guard let credential = request.bearer, !credential.isEmpty else {
            throw AuthError(status: 401, code: "invalid_token", message: "missing credential")
        }
        let requestedTenant = try gateTenant(request.query)
        // Fail closed: a state that cannot be confirmed current answers nothing but 401.
        guard state.isFresh() else { throw AuthError.invalidToken("verify state stale") }
        let now = Time.now()
        var headers: [(String, String)] = []
        headers.reserveCapacity(9)
        switch CredentialKind.classify(credential) {
        case .jwt:
            let claims = try checkAccessToken(credential)
            headers += try userIdentity(claims, request, policy: policy, kindAllowed: policy.allowUser,
                                        requestedTenant: requestedTenant)
        case .apiKey:
            guard let key = state.apiKey(digest: CredentialKeys.digest(credential)) else {
                throw AuthError.invalidToken("unknown api key")
            }
            guard policy.allowAPIKey else { throw AuthError.forbidden("api keys not accepted here") }
            if let requestedTenant, requestedTenant != key.tenantID { throw AuthError.forbidden("other tenant") }
            if !policy.roles.isEmpty { throw AuthError.forbidden("role required") }
            headers += [("X-Auth-Kind", "api_key"), ("X-Auth-Tenant-Id", key.tenantID), ("X-Auth-Project-Id", key.projectID)]
            noteKeyUse(key.keyID, now: now)
        case .node:
            guard let node = state.node(digest: CredentialKeys.digest(credential)) else {
                throw AuthError.invalidToken("unknown node key")
            }
            guard policy.allowNode else { throw AuthError.forbidden("node keys not accepted here") }
            if !policy.roles.isEmpty { throw AuthError.forbidden("role required") }
            // Node identity is forced from the key; naming another tenant is refused, as for API keys.
            if let requestedTenant, requestedTenant != node.tenantID { throw AuthError.forbidden("other tenant") }
            headers += [("X-Auth-Kind", "node"), ("X-Auth-Tenant-Id", node.tenantID), ("X-Auth-Node-Id", node.nodeID)]
        case .unknown:
            throw AuthError.invalidToken("unrecognized credential")
        }
        headers.append(("X-Accel-Expires", "@\(now)"))
        return Response(status: 204, headers: headers)
    }

    /// A verified session token (bearer or cookie): the live session state, the location's
    /// roles and `?tenant_id=`, then the identity headers.
    func userIdentity(_ claims: AccessClaims, _ request: Request, policy: VerifyPolicy, kindAllowed: Bool,
                      requestedTenant: String?) throws -> [(String, String)] {
        switch state.sessionCheck(sid: claims.sid, userID: claims.sub, iat: claims.iat, exp: claims.exp) {
        case .ok: break
        case .revoked, .userDisabled: throw AuthError.invalidToken("session revoked")
        case .passwordChangeRequired: throw AuthError.passwordChangeRequired
        }
        guard kindAllowed else { throw AuthError.forbidden("user tokens not accepted here") }
        if !policy.roles.isEmpty && !policy.roles.contains(claims.role) {
            throw AuthError.forbidden("role not allowed")
        }
        // AUTH_REQUIRE_AAL 2 (issue 21): after the role, so a wrong role stays a 403.
        if claims.aal < policy.requiredAAL { throw AuthError.mfaRequired }
        var headers: [(String, String)] = []
        var tenant = claims.tid
        if let requestedTenant, requestedTenant != claims.tid {
            tenant = try actingTenant(request, homeTenant: claims.tid, isPlatformAdmin: claims.role == "platform_admin")
            headers.append(("X-Auth-Home-Tenant-Id", claims.tid))
            audit("cross_tenant_access", tenantID: tenant, actor: claims.sub, request: request,
                  detail: "\(request.method) \(request.path)")
        }
        headers += [("X-Auth-Kind", "user"), ("X-Auth-User-Id", claims.sub), ("X-Auth-Tenant-Id", tenant),
                    ("X-Auth-Role", claims.role), ("X-Auth-Email", claims.email), ("X-Auth-Session-Id", claims.sid),
                    ("X-Auth-AAL", claims.aal >= 2 ? "2" : "1")]
        return headers
    }

    /// `last_used_at` is written in batches, at most every 30 s per worker.
    func noteKeyUse(_ keyID: String, now: Int64) {
        touchedKeys.insert(keyID)
        guard now - lastTouchFlush >= 30 else { return }
        let ids = Array(touchedKeys)
        touchedKeys.removeAll(keepingCapacity: true)
        lastTouchFlush = now
        do { try db.apiKeys.touch(ids: ids, at: now) } catch let e as StorageError where e.isOutage {
            metrics.recordStorageFailure(e.failure)
            app.storageFailures.note(kind: e.failure.rawValue, what: "last_used_at flush: \(e)", log: app.log)
        } catch { app.log.error("last_used_at flush: \(error)") }
    }
}
