import Foundation

/// The keep-alive HTTP verify door (README "Choosing a door"), from the environment like the
/// other transport knobs. Off unless AUTH_VERIFY_HTTP_SOCKET is set (or systemd/--hold-socket
/// passes its socket).
struct HTTPDoorConfig: Sendable {
    /// Where the original request's URI and method are read. Fixed by configuration, never by
    /// which headers a request happens to carry: a client-sent X-Original-URI that a gateway
    /// passes through must not stand in for the gateway's own X-Forwarded-Uri (or vice versa).
    enum URISource: String, Sendable {
        /// nginx (authgate-verify-http-location.conf): X-Original-URI / X-Original-Method.
        case original
        /// Caddy forward_auth, Traefik forwardAuth: X-Forwarded-Uri / X-Forwarded-Method /
        /// X-Forwarded-Host.
        case forwarded
    }

    /// AUTH_VERIFY_HTTP_SOCKET: the door's Unix socket (mode 0660, AUTH_SOCKET_GROUP).
    var socketPath = ""
    /// AUTH_VERIFY_HTTP_URI: `original` (default, nginx) or `forwarded` (Caddy, Traefik).
    var uriSource = URISource.original
    /// AUTH_VERIFY_HTTP_PATH (default /verify): the one request target the door answers.
    var path = "/verify"
    /// AUTH_VERIFY_HTTP_MAX_REQUESTS (default 1000, nginx's keepalive_requests): the answer to
    /// the last request a connection may carry says `Connection: close`, and it is closed.
    var maxRequests = 1000
    /// AUTH_VERIFY_HTTP_IDLE_SECONDS (default 120; nginx's upstream keepalive_timeout is 60 s,
    /// so nginx normally closes first): a kept connection idle longer is closed.
    var idle = 120_000_000
    /// AUTH_VERIFY_HTTP_ALLOW / AUTH_VERIFY_HTTP_ROLES: a fixed policy for every request of the
    /// door; X-Authgate-Allow / X-Authgate-Roles are then ignored whoever sends them. For a
    /// gateway that copies every client header and cannot set its own (Traefik's forwardAuth).
    var fixedAllow: String?
    var fixedRoles: String?
    /// AUTH_VERIFY_HTTP_REQUIRE_AAL (1 or 2, with AUTH_VERIFY_HTTP_ALLOW): the fixed policy's level;
    /// X-Authgate-Require-AAL is then ignored too.
    var fixedRequireAAL: Int64 = 1
    /// AUTH_VERIFY_HTTP_THREADS (default 2): door threads, each with its own epoll set and its own
    /// database connection, answering the door's verifies where it reads them (ConnectionReader+Door).
    var threads = 2
    /// The request head: at most this many bytes and header lines (over it: 400 and close).
    var maxHeadSize = 16 * 1024
    var maxHeaders = 64

    static func fromEnvironment() throws(StartupError) -> HTTPDoorConfig {
        let env = ProcessInfo.processInfo.environment
        var config = HTTPDoorConfig()
        config.socketPath = env["AUTH_VERIFY_HTTP_SOCKET"] ?? ""
        if let raw = env["AUTH_VERIFY_HTTP_URI"], !raw.isEmpty {
            guard let source = URISource(rawValue: raw) else {
                throw StartupError("AUTH_VERIFY_HTTP_URI must be 'original' (nginx: X-Original-URI) or 'forwarded' (Caddy, Traefik: X-Forwarded-Uri), got '\(raw)'")
            }
            config.uriSource = source
        }
        if let raw = env["AUTH_VERIFY_HTTP_PATH"], !raw.isEmpty {
            guard raw.hasPrefix("/"), raw.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "?") }) else {
                throw StartupError("AUTH_VERIFY_HTTP_PATH must be a path starting with / (no query), got '\(raw)'")
            }
            config.path = raw
        }
        if let n = try env.count("AUTH_VERIFY_HTTP_MAX_REQUESTS", 1...100_000_000) { config.maxRequests = n }
        if let n = try env.count("AUTH_VERIFY_HTTP_THREADS", 1...64) { config.threads = n }
        if let micros = try env.micros("AUTH_VERIFY_HTTP_IDLE_SECONDS", 0.1...3600) { config.idle = micros }
        if let raw = env["AUTH_VERIFY_HTTP_ALLOW"], !raw.isEmpty {
            let kinds = raw.split(whereSeparator: { $0 == " " || $0 == "," })
            guard kinds.allSatisfy({ ["user", "api_key", "node", "browser"].contains($0) }) else {
                throw StartupError("AUTH_VERIFY_HTTP_ALLOW holds credential kinds (user api_key node browser), got '\(raw)'")
            }
            config.fixedAllow = raw
            config.fixedRoles = env["AUTH_VERIFY_HTTP_ROLES"] ?? ""
            if let raw = env["AUTH_VERIFY_HTTP_REQUIRE_AAL"], !raw.isEmpty {
                guard raw == "1" || raw == "2" else {
                    throw StartupError("AUTH_VERIFY_HTTP_REQUIRE_AAL must be 1 or 2, got '\(raw)'")
                }
                config.fixedRequireAAL = raw == "2" ? 2 : 1
            }
        } else if let raw = env["AUTH_VERIFY_HTTP_ROLES"], !raw.isEmpty {
            throw StartupError("AUTH_VERIFY_HTTP_ROLES needs AUTH_VERIFY_HTTP_ALLOW (a fixed policy)")
        } else if let raw = env["AUTH_VERIFY_HTTP_REQUIRE_AAL"], !raw.isEmpty {
            throw StartupError("AUTH_VERIFY_HTTP_REQUIRE_AAL needs AUTH_VERIFY_HTTP_ALLOW (a fixed policy)")
        }
        return config
    }
}
