/// The FastCGI Authorizer role (spec §6.3; Apache `mod_authnz_fcgi`, lighttpd `mod_fastcgi`
/// `"mode" => "authorizer"`): the same verify core and policy as nginx's `auth_request`, answered
/// in the Authorizer's terms. The web server forwards anything but a 200 to the client as is.
///
/// - allow: `Status: 200` and one `Variable-AUTH_*` header per identity field (the `X-Auth-*`
///   of the verify answer: `X-Auth-User-Id` -> `Variable-AUTH_USER_ID`). Apache puts each into
///   the request's environment as `AUTH_USER_ID` (CGI and FastCGI apps see it, `%{AUTH_USER_ID}e`
///   / `%{reqenv:AUTH_USER_ID}` in the config), lighttpd into the environment of the CGI /
///   FastCGI / SCGI backend that serves the request.
/// - deny: 401 with `WWW-Authenticate: Bearer` or 403, each with the profile's JSON error
///   envelope (the client sees it exactly as the API's own errors).
extension Worker {
    /// Takes the settings a SIGHUP reloaded and counts the decision in the verify metrics,
    /// exactly as `handle` does for nginx's verify route.
    public func authorize(_ request: Request, policy: VerifyPolicy) -> Response {
        takeReloadedSettings()
        guard settings.metrics else { return Self.authorizerAnswer(verify(request, policy: policy), profile: profile) }
        let started = Worker.micros()
        let answer = verify(request, policy: policy)
        metrics.recordVerify(answer, micros: Worker.micros() - started)
        return Self.authorizerAnswer(answer, profile: profile)
    }

    /// Turns a verify answer (204/401/403 with `X-Auth-*`) into the Authorizer's answer.
    public static func authorizerAnswer(_ answer: Response, profile: APIProfile) -> Response {
        switch answer.status {
        case 200...299:
            var headers: [(String, String)] = []
            headers.reserveCapacity(answer.headers.count)
            for (name, value) in answer.headers {
                guard let variable = variableName(name) else { continue }
                headers.append(("Variable-" + variable, value))
            }
            return Response(status: 200, headers: headers)
        case 403:
            let code = answer.header("X-Auth-Error") ?? "forbidden"
            let error = code == AuthError.passwordChangeRequired.code
                ? AuthError.passwordChangeRequired : AuthError.forbidden()
            return profile.respond(error)
        default:
            if answer.header("X-Auth-Error") == AuthError.mfaRequired.code {
                var error = AuthError.mfaRequired
                error.headers = [("WWW-Authenticate", answer.header("WWW-Authenticate") ?? "Bearer")]
                return profile.respond(error)
            }
            var error = AuthError(status: 401, code: "invalid_token", message: "missing, invalid or expired credentials")
            error.headers = [("WWW-Authenticate", answer.header("WWW-Authenticate") ?? "Bearer")]
            return profile.respond(error)
        }
    }

    /// The identity headers of a verify answer, the only ones that become variables (never
    /// `X-Auth-Set-Cookie`/`X-Auth-Set-Refresh-Cookie`, `X-Auth-Error`, `X-Auth-Login`...).
    static let identityHeaders: Set<String> = [
        "kind", "user-id", "tenant-id", "home-tenant-id", "role", "email", "session-id", "project-id", "node-id", "aal",
    ]

    /// `X-Auth-Home-Tenant-Id` -> `AUTH_HOME_TENANT_ID`; nil for anything that is not identity.
    static func variableName(_ header: String) -> String? {
        let prefix = "x-auth-"
        guard header.utf8.count > prefix.utf8.count, header.lowercased().hasPrefix(prefix) else { return nil }
        let rest = header.dropFirst(prefix.count)
        guard identityHeaders.contains(rest.lowercased()) else { return nil }
        return "AUTH_" + String(rest.uppercased().map { $0 == "-" ? "_" : $0 })
    }
}
