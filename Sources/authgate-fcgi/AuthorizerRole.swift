import AuthCore
import CFastCGI
import Glibc

/// FastCGI's Authorizer role (`FCGI_ROLE=AUTHORIZER`, taken from the begin-request record, never
/// from a param): Apache's `mod_authnz_fcgi` and lighttpd's `mod_fastcgi` in `"mode" =>
/// "authorizer"`. Every such request is a verify, whatever its params say; the policy comes from
/// `AUTH_ALLOW` / `AUTH_ROLES` in the request's environment, set per protected location by the
/// server's config (Apache `SetEnvIf`, lighttpd `setenv.add-environment`). Unset: user tokens,
/// any role (the verify route's defaults).
extension FastCGIExchange {
    mutating func serveAuthorizer(_ fcgi: UnsafeMutablePointer<FCGX_Request>, params: FastCGIParams, started: Int) {
        var request = params.makeRequest()
        request.verify = nil
        let policy = VerifyPolicy(allow: params.allow, roles: params.roles)
        // Apache sends no FCGI_STDIN to an authorizer; lighttpd sends an empty one. Read it only
        // when it is there, so neither a missing record blocks us nor an unread one resets the
        // connection at close.
        if Self.inputPending(fcgi) { drainInput(fcgi) }
        let response = worker.authorize(request, policy: policy)
        write(response, to: authgate_fcgx_out(fcgi))
        worker.app.log.request(method: request.method, path: "authorizer " + request.path,
                               status: response.status, micros: monotonicMicros() - started)
    }

    private static func inputPending(_ fcgi: UnsafeMutablePointer<FCGX_Request>) -> Bool {
        if let input = authgate_fcgx_in(fcgi), input.pointee.rdNext != input.pointee.stop { return true }
        var pfd = pollfd(fd: fcgi.pointee.ipcFd, events: Int16(POLLIN), revents: 0)
        return poll(&pfd, 1, 0) > 0 && (pfd.revents & Int16(POLLIN)) != 0
    }
}

/// `FCGI_AUTHORIZER` of fastcgi.h (the role field of FCGI_BeginRequestBody; fcgiapp.h lacks it).
let fcgiAuthorizerRole: Int32 = 2
