import AuthCore

/// FastCGI's Authorizer role (`FCGI_ROLE=AUTHORIZER`, taken from the begin-request record, never
/// from a param): Apache's `mod_authnz_fcgi` and lighttpd's `mod_fastcgi` in `"mode" =>
/// "authorizer"`. Every such request is a verify, whatever its params say; the policy comes from
/// `AUTH_ALLOW` / `AUTH_ROLES` / `AUTH_REQUIRE_AAL` in the request's environment, set per protected location by the
/// server's config (Apache `SetEnvIf`, lighttpd `setenv.add-environment`). Unset: user tokens,
/// any role (the verify route's defaults). Settings reloaded by SIGHUP apply, and the decision is
/// counted in the verify metrics like nginx's.
///
/// `browser` is refused (403, logged): an Authorizer answer can set no cookie on the client, so
/// a silent renewal would hand the rotated refresh token to the app's environment instead.
extension FastCGIExchange {
    func serveAuthorizer(params: FastCGIParams, started: Int) -> [UInt8] {
        var request = params.makeRequest()
        request.verify = nil
        let response: Response
        if Self.asksForBrowser(params.allow) {
            worker.app.log.error("authorizer: AUTH_ALLOW '\(params.allow ?? "")' names browser, which the Authorizer role "
                + "cannot serve (it cannot set the renewed cookies); answered 403. Use nginx for browser locations.")
            response = worker.profile.respond(.forbidden())
        } else {
            let (decision, _) = verify.decision(request, policy: GatePolicy(allow: params.allow, roles: params.roles,
                                                                             requireAAL: params.requireAAL))
            response = Self.authorizerAnswer(decision, credentialSent: request.bearer != nil, profile: worker.profile)
        }
        let out = ResponseBytes.encode(response, log: worker.app.log)
        worker.app.log.request(method: request.method, path: "authorizer " + request.path,
                               status: response.status, micros: monotonicMicros() - started)
        return out
    }

    /// The decision in the Authorizer's terms (spec §6.3); the web server forwards anything but a
    /// 200 to the client as is.
    /// - allow: `Status: 200` and one `Variable-AUTH_*` per identity field (the one ordered list,
    ///   `Identity.Field`: never a cookie, an error or anything else). Apache puts each into the
    ///   request's environment as `AUTH_USER_ID` (`%{reqenv:AUTH_USER_ID}`), lighttpd into the
    ///   environment of the backend that serves the request.
    /// - deny: 401 with `WWW-Authenticate: Bearer` (`mfa_required`: RFC 9470's
    ///   `insufficient_user_authentication`) or 403, each with the profile's JSON error
    ///   envelope (the client sees it exactly as the API's own errors).
    static func authorizerAnswer(_ decision: Decision, credentialSent: Bool, profile: APIProfile) -> Response {
        switch decision {
        case let .allow(identity, _, _):
            var headers: [(String, String)] = []
            headers.reserveCapacity(Identity.Field.count)
            identity.forEachField { field, value in headers.append(("Variable-" + field.variable, value)) }
            return Response(status: 200, headers: headers)
        case let .deny(error) where error.status == 403:
            return profile.respond(error.code == AuthError.passwordChangeRequired.code ? .passwordChangeRequired : .forbidden())
        case let .deny(error) where error.code == AuthError.mfaRequired.code:
            // AUTH_REQUIRE_AAL 2 (issue 21): RFC 9470's step-up challenge, as the verify route's.
            var error = AuthError.mfaRequired
            error.headers = [("WWW-Authenticate", Self.stepUpChallenge)]
            return profile.respond(error)
        case .deny:
            var error = AuthError(status: 401, code: "invalid_token", message: "missing, invalid or expired credentials")
            error.headers = [("WWW-Authenticate", credentialSent ? "Bearer error=\"invalid_token\"" : "Bearer")]
            return profile.respond(error)
        }
    }

    static let stepUpChallenge = "Bearer error=\"insufficient_user_authentication\", error_description=\"second factor required\""

    static func asksForBrowser(_ allow: String?) -> Bool {
        guard let allow else { return false }
        return allow.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "browser" }
    }
}
