import AuthCore

/// FastCGI's Authorizer role (`FCGI_ROLE=AUTHORIZER`, taken from the begin-request record, never
/// from a param): Apache's `mod_authnz_fcgi` and lighttpd's `mod_fastcgi` in `"mode" =>
/// "authorizer"`. Every such request is a verify, whatever its params say; the policy comes from
/// `AUTH_ALLOW` / `AUTH_ROLES` in the request's environment, set per protected location by the
/// server's config (Apache `SetEnvIf`, lighttpd `setenv.add-environment`). Unset: user tokens,
/// any role (the verify route's defaults). Settings reloaded by SIGHUP apply (the caller took
/// them), and the decision is counted in the verify metrics like nginx's.
///
/// `browser` is refused (403, logged): an Authorizer answer can set no cookie on the client, so
/// a silent renewal would hand the rotated refresh token to the app's environment instead.
extension FastCGIExchange {
    func serveAuthorizer(params: FastCGIParams, started: Int) -> [UInt8] {
        var request = params.makeRequest()
        request.verify = nil
        let policy = VerifyPolicy(allow: params.allow, roles: params.roles, requireAAL: params.requireAAL)
        let response: Response
        if Self.asksForBrowser(params.allow) {
            worker.app.log.error("authorizer: AUTH_ALLOW '\(params.allow ?? "")' names browser, which the Authorizer role "
                + "cannot serve (it cannot set the renewed cookies); answered 403. Use nginx for browser locations.")
            response = worker.profile.respond(.forbidden())
        } else {
            response = worker.authorize(request, policy: policy)
        }
        let out = ResponseBytes.encode(response, log: worker.app.log)
        worker.app.log.request(method: request.method, path: "authorizer " + request.path,
                               status: response.status, micros: monotonicMicros() - started)
        return out
    }

    static func asksForBrowser(_ allow: String?) -> Bool {
        guard let allow else { return false }
        return allow.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "browser" }
    }
}
