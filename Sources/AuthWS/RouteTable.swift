/// Where a WebSocket route's frames go: a Unix socket or a loopback TCP port.
import AuthCore

public enum Upstream: Equatable, Sendable, CustomStringConvertible {
    case unix(String)
    case tcp(host: String, port: Int)   // numeric loopback address only

    /// `unix:/path.sock`, `127.0.0.1:9000`, `[::1]:9000` or `localhost:9000`.
    public init(parsing text: some StringProtocol) throws(ConfigError) {
        let s = String(text).trimmingSpaces()
        if s.hasPrefix("unix:") {
            let path = String(s.dropFirst(5))
            guard !path.isEmpty else { throw ConfigError("upstream '\(s)': empty unix socket path") }
            self = .unix(path)
            return
        }
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]),
              (1...65535).contains(port)
        else { throw ConfigError("upstream '\(s)': expected unix:/path or host:port") }
        var host = String(s[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        switch host {
        case "localhost", "127.0.0.1": host = "127.0.0.1"
        case "::1": break
        default:
            guard host.hasPrefix("127."), host.split(separator: ".").count == 4,
                  host.split(separator: ".").allSatisfy({ UInt8($0) != nil })
            else { throw ConfigError("upstream '\(s)': only loopback hosts are allowed") }
        }
        self = .tcp(host: host, port: port)
    }

    public var description: String {
        switch self {
        case let .unix(p): "unix:\(p)"
        case let .tcp(h, p): h.contains(":") ? "[\(h)]:\(p)" : "\(h):\(p)"
        }
    }
}

public struct WSRoute: Equatable, Sendable {
    public var path: String
    public var upstream: Upstream
    public var roles: Set<String>
    /// `|aal2` (issue 21): a session token must carry `aal` 2; a level-1 one gets 401 `mfa_required`.
    public var requiredAAL: Int64 = 1

    public init(path: String, upstream: Upstream, roles: Set<String>, requiredAAL: Int64 = 1) {
        self.path = path
        self.upstream = upstream
        self.roles = roles
        self.requiredAAL = requiredAAL
    }
}

/// The companion's routes.
///
/// `AUTH_WS_ROUTES` syntax: entries separated by `;`, each `PATH=UPSTREAM|ROLE,ROLE,...`
///   e.g. `/ws/supervisor=unix:/run/app.sock|supervisor,admin,platform_admin;/ws/agent=127.0.0.1:9000|agent,supervisor,admin,platform_admin`
/// - PATH is matched exactly (no prefix matching, no query).
/// - UPSTREAM is `unix:/path.sock`, `127.x.y.z:PORT`, `[::1]:PORT` or `localhost:PORT`; empty means
///   `AUTH_WS_UPSTREAM`.
/// - ROLE list may be omitted (`PATH=UPSTREAM`): every role is allowed.
/// - A third part `|aal2` requires a second factor (the token's `aal` 2), as `AUTH_REQUIRE_AAL 2`
///   does on an nginx location: `/ws/ops=unix:/run/ops.sock|admin|aal2`; `PATH=UPSTREAM||aal2`: any role.
/// Without `AUTH_WS_ROUTES`: `/ws/supervisor` (supervisor, admin, platform_admin) and `/ws/agent`
/// (agent and above), both to `AUTH_WS_UPSTREAM` (default `unix:<dir of AUTH_WS_SOCKET>/demo-upstream.sock`).
public struct RouteTable: Equatable, Sendable {
    public static let allRoles: Set<String> = ["agent", "supervisor", "admin", "platform_admin"]

    public var routes: [String: WSRoute]

    public init(routes: [WSRoute]) {
        self.routes = Dictionary(routes.map { ($0.path, $0) }, uniquingKeysWith: { _, last in last })
    }

    public init(environment env: [String: String], wsSocketPath: String) throws(ConfigError) {
        let dir = wsSocketPath.lastIndex(of: "/").map { String(wsSocketPath[..<$0]) } ?? "."
        let fallbackText = env["AUTH_WS_UPSTREAM"].flatMap { $0.isEmpty ? nil : $0 } ?? "unix:\(dir)/demo-upstream.sock"
        let fallback = try Upstream(parsing: fallbackText)
        guard let spec = env["AUTH_WS_ROUTES"], !spec.trimmingSpaces().isEmpty else {
            self.init(routes: [
                WSRoute(path: "/ws/supervisor", upstream: fallback, roles: ["supervisor", "admin", "platform_admin"]),
                WSRoute(path: "/ws/agent", upstream: fallback, roles: Self.allRoles),
            ])
            return
        }
        var list: [WSRoute] = []
        for entry in spec.split(separator: ";") where !entry.trimmingSpaces().isEmpty {
            guard let eq = entry.firstIndex(of: "=") else {
                throw ConfigError("AUTH_WS_ROUTES entry '\(entry)': expected PATH=UPSTREAM|ROLES")
            }
            let path = entry[..<eq].trimmingSpaces()
            guard path.hasPrefix("/"), !path.contains("?"), !path.contains(" ") else {
                throw ConfigError("AUTH_WS_ROUTES entry '\(entry)': path must start with /")
            }
            let rest = entry[entry.index(after: eq)...]
            let parts = rest.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
            let upstreamText = parts[0].trimmingSpaces()
            let upstream = upstreamText.isEmpty ? fallback : try Upstream(parsing: upstreamText)
            var roles = Self.allRoles
            var aal: Int64 = 1
            if parts.count == 3 {
                switch parts[2].trimmingSpaces() {
                case "aal2": aal = 2
                case "aal1", "": aal = 1
                default: throw ConfigError("AUTH_WS_ROUTES entry '\(entry)': the third part must be aal2 (or aal1)")
                }
            }
            if parts.count >= 2, !(parts.count == 3 && parts[1].trimmingSpaces().isEmpty) {
                roles = Set(parts[1].split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty })
                guard !roles.isEmpty, roles.isSubset(of: Self.allRoles) else {
                    throw ConfigError("AUTH_WS_ROUTES entry '\(entry)': roles must be among \(Self.allRoles.sorted())")
                }
            }
            list.append(WSRoute(path: path, upstream: upstream, roles: roles, requiredAAL: aal))
        }
        guard !list.isEmpty else { throw ConfigError("AUTH_WS_ROUTES has no routes") }
        self.init(routes: list)
    }

    public func route(for path: some StringProtocol) -> WSRoute? { routes[String(path)] }
}
