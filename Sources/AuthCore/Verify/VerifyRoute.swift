import AuthCrypto

/// The nginx `auth_request` verify route: the request's credential to the Gate, the Decision
/// rendered as the answer nginx reads. It answers only 204, 401 or 403 (nginx turns anything
/// else into a 500 for the client), never writes per request, never hashes slowly.
/// A value over the worker it runs on (its gate, verify state, settings and metrics): made once
/// per door thread by the transports (authgate-fcgi's exchanges), per request by `Worker.handle`.
public struct VerifyRoute {
    let worker: Worker

    public init(worker: Worker) { self.worker = worker }

    /// The door's render of a decision: 204 with the identity headers (the one field list) and
    /// the micro-cache's `X-Accel-Expires`, or the denial.
    func respond(_ request: Request, policy: GatePolicy) -> Response {
        let bearer = request.bearer
        let (decision, now) = decision(request, bearer: bearer, policy: policy)
        return response(decision, now: now, request: request, policy: policy, credentialSent: bearer != nil)
    }

    /// A decision as the verify answer (`respond`'s second half; a door that renders the common
    /// allow itself, as bytes, calls it for everything else).
    public func response(_ decision: Decision, now: Int64, request: Request, policy: GatePolicy,
                         credentialSent: Bool) -> Response {
        switch decision {
        case let .allow(identity, renewal, cacheable):
            var headers: [(String, String)] = []
            headers.reserveCapacity(renewal == nil ? 8 : 11)
            identity.forEachField { field, value in headers.append((field.header, value)) }
            if let renewal {
                // Two headers, not two Set-Cookie lines: nginx (1.22) hands auth_request_set only the
                // first of several same-named headers. The snippet turns each into a Set-Cookie.
                headers += [("X-Auth-Set-Cookie", renewal.accessCookie), ("X-Auth-Set-Refresh-Cookie", renewal.refreshCookie),
                            ("X-Auth-Cache-Control", "private, no-store")]   // for a CDN in front of nginx
            }
            headers.append(("X-Accel-Expires", cacheable ? "@\(now)" : "0"))
            return Response(status: 204, headers: headers)
        case let .deny(error):
            var denial = Self.denial(error, credentialSent: credentialSent)
            if policy.allowBrowser { denial.headers += request.browserDenialHeaders(error) }
            return denial
        }
    }

    static func denial(_ error: AuthError, credentialSent: Bool) -> Response {
        if error.status == 403 {
            return Response(status: 403, headers: [("X-Auth-Error", error.code)])
        }
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

    /// The decision for a verify request of any door (nginx's location, the FastCGI Authorizer),
    /// counted in the verify metrics, with the wall-clock second it was taken at.
    public func decision(_ request: Request, policy: GatePolicy) -> (Decision, now: Int64) {
        decision(request, bearer: request.bearer, policy: policy)
    }

    /// The same, also saying whether the request carried a credential in `Authorization` (the
    /// denial's challenge depends on it): for a door that renders the answer itself.
    public func decision(_ request: Request, policy: GatePolicy, credentialSent: inout Bool) -> (Decision, now: Int64) {
        let bearer = request.bearer
        credentialSent = bearer != nil
        return decision(request, bearer: bearer, policy: policy)
    }

    func decision(_ request: Request, bearer: String?, policy: GatePolicy) -> (Decision, now: Int64) {
        // AUTH_METRICS=off: not even the two clock reads.
        guard worker.settings.metrics else { return decide(request, bearer: bearer, policy: policy) }
        let started = Worker.micros()
        let result = decide(request, bearer: bearer, policy: policy)
        worker.metrics.recordVerify(result.0, micros: Worker.micros() - started)
        return result
    }

    private func decide(_ request: Request, bearer: String?, policy: GatePolicy) -> (Decision, now: Int64) {
        let now = Time.now()
        let credential: Credential
        if let bearer {
            guard !bearer.isEmpty else { return (.deny(Self.missingCredential), now) }
            credential = .bearer(bearer)
        } else if policy.allowBrowser {
            let (access, refresh) = worker.sessionCookieValues(request)
            guard access != nil || refresh != nil else { return (.deny(Self.missingCredential), now) }
            // A cookie rides along with any request to the site: a state-changing one must come
            // from the site itself (SameSite=Lax already keeps it off cross-site posts).
            if !request.isSafeMethod {
                do { try worker.requireSameOrigin(request) } catch { return (.deny(error), now) }
            }
            credential = .cookies(access: access, refresh: refresh)
        } else {
            return (.deny(Self.missingCredential), now)
        }
        let requestedTenant: String?
        do { requestedTenant = try request.requestedTenant() } catch { return (.deny(error), now) }
        var decision = worker.gate.decide(credential, policy: policy, requestedTenant: requestedTenant, now: now,
                                          store: WorkerGateStore(worker: worker, request: request))
        guard case let .allow(identity, renewal, cacheable) = decision else {
            // A door answers 401 for it: the cause (a store outage during a renewal) goes to the log.
            if case let .deny(error) = decision, error.status != 401, error.status != 403 {
                worker.app.log.error("verify: \(error.code) \(error.cause ?? "")")
            }
            return (decision, now)
        }
        if case .cookies = credential, cacheable, !request.isCacheableMethod {
            // Only a GET/HEAD allow may sit in nginx's micro-cache: an unsafe method's allow was
            // decided on Origin/Sec-Fetch-Site, which the cache key does not hold (finding 3).
            decision = .allow(identity, renewal: renewal, cacheable: false)
        }
        if let keyID = identity.keyID { noteKeyUse(keyID, now: now) }
        if identity[.homeTenantID] != nil {
            worker.audit("cross_tenant_access", tenantID: identity[.tenantID], actor: identity[.userID], request: request,
                         detail: "\(request.method) \(request.path)")
        }
        return (decision, now)
    }

    static let missingCredential = AuthError(status: 401, code: "invalid_token", message: "missing credential")

    /// `last_used_at` is written in batches, at most every 30 s per worker.
    func noteKeyUse(_ keyID: String, now: Int64) {
        worker.touchedKeys.insert(keyID)
        guard now - worker.lastTouchFlush >= 30 else { return }
        let ids = Array(worker.touchedKeys)
        worker.touchedKeys.removeAll(keepingCapacity: true)
        worker.lastTouchFlush = now
        do { try worker.db.apiKeys.touch(ids: ids, at: now) } catch let e as StorageError where e.isOutage {
            worker.metrics.recordStorageFailure(e.failure)
            worker.app.storageFailures.note(kind: e.failure.rawValue, what: "last_used_at flush: \(e)", log: worker.app.log)
        } catch { worker.app.log.error("last_used_at flush: \(error)") }
    }
}

/// What the gate asks the store, for one request of this worker.
struct WorkerGateStore: GateStore {
    unowned(unsafe) let worker: Worker
    let request: Request

    func tenantExists(_ id: String) throws(AuthError) -> Bool {
        try worker.store { try worker.db.tenants.byID(id) } != nil
    }

    func renew(_ refresh: String, policy: GatePolicy, requestedTenant: String?) throws(AuthError) -> GateRenewal {
        let renewal = try worker.renew(refresh, request, policy: policy, requestedTenant: requestedTenant)
        return GateRenewal(claims: renewal.claims, accessToken: renewal.accessToken,
                           cookies: renewal.cookies.map { Decision.Renewal(accessCookie: $0.access, refreshCookie: $0.refresh) })
    }
}
