import AuthCore
import CFastCGI
import Glibc

/// Plain CGI (RFC 3875), for hosts that run no daemon (Apache `mod_cgi`/`suexec`, nginx +
/// `fcgiwrap`): when the web server starts `authgate-fcgi` as a CGI program (it sets
/// `GATEWAY_INTERFACE` and stdin is no FastCGI listener: libfcgi's `FCGX_IsCGI`), the process
/// answers the one request in its environment and exits. Every route the responder serves works
/// (login, refresh, logout, me, password, sessions, keys, nodes) and, with `AUTH_VERIFY=1` set by
/// the server's config, the verify decision (204/401/403 as for nginx's `auth_request`).
///
/// Cost per request: one process start, one database open (migrations checked), one key-ring
/// read and one full load of the verify state; no refresher thread (the state cannot go stale
/// within one request) and no dummy password hash (Login.swift: equalizingHash). Measured in the
/// README ("CGI on a shared host"); the FastCGI modes are the ones to use when a daemon is allowed.
enum CGIMode {
    /// A CGI program: the CGI environment and no FastCGI listening socket on stdin. Both, so a
    /// daemon started from a terminal (stdin a tty, no GATEWAY_INTERFACE) stays a daemon.
    static func isCGI() -> Bool {
        guard let gateway = getenv("GATEWAY_INTERFACE"), gateway.pointee != 0 else { return false }
        return FCGX_IsCGI() != 0
    }

    static func run(settings: Settings, log: Logger) -> Never {
        let started = monotonicMicros()
        signal(SIGPIPE, SIG_IGN)
        let params = FastCGIParams(envp: environ)
        var request = params.makeRequest()
        // CGI: the script's own path is SCRIPT_NAME; the route is PATH_INFO (ScriptAlias /auth
        // /path/authgate-fcgi -> /auth/api/v1/auth/login). QUERY_STRING is the raw query.
        // A verify takes both from REQUEST_URI only, as the FastCGI path does: in an nginx
        // `auth_request` subrequest (fcgiwrap) QUERY_STRING is the subrequest's, empty, and the
        // original `?tenant_id=` is only in REQUEST_URI (review finding 2).
        if request.verify == nil {
            if let pathInfo = env("PATH_INFO"), !pathInfo.isEmpty { request.path = pathInfo }
            if let query = env("QUERY_STRING") { request.query = query }
        }

        var response: Response
        if request.verify == nil, let length = Int(env("CONTENT_LENGTH") ?? ""), length > settings.maxBody {
            response = settings.profile.respond(.payloadTooLarge)
        } else {
            if request.verify == nil { request.body = readBody(length: Int(env("CONTENT_LENGTH") ?? "") ?? 0) }
            response = answer(request, settings: settings, log: log)
        }
        let bytes = ResponseBytes.encode(response, log: log)
        writeAll(bytes)
        log.request(method: request.method, path: "cgi " + request.path, status: response.status,
                    micros: monotonicMicros() - started)
        exit(0)
    }

    private static func answer(_ request: Request, settings: Settings, log: Logger) -> Response {
        do {
            let app = try App(settings: settings, log: log, oneShot: true)
            let worker = try app.makeWorker()
            let response = worker.handle(request)
            if request.verify != nil, ![204, 401, 403].contains(response.status) {
                return Response(status: 401, headers: [("WWW-Authenticate", "Bearer")])
            }
            return response
        } catch {
            log.error("authgate-fcgi (cgi): cannot start: \(error)")
            if request.verify != nil { return Response(status: 401, headers: [("WWW-Authenticate", "Bearer")]) }
            return settings.profile.respond(.internalError("startup"))
        }
    }

    private static func env(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    /// Exactly CONTENT_LENGTH bytes of stdin (RFC 3875 §4.2), fewer if it ends early.
    private static func readBody(length: Int) -> [UInt8] {
        guard length > 0 else { return [] }
        var body = [UInt8](repeating: 0, count: length)
        var got = 0
        while got < length {
            let n = body.withUnsafeMutableBytes { read(0, $0.baseAddress! + got, length - got) }
            if n > 0 { got += n } else if n < 0 && errno == EINTR { continue } else { break }
        }
        body.removeSubrange(got...)
        return body
    }

    private static func writeAll(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + sent, bytes.count - sent) }
            if n > 0 { sent += n } else if n < 0 && errno == EINTR { continue } else { return }
        }
    }
}
