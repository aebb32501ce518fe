/// What one protected location (or WebSocket route) admits. Parsed at the edge from its own
/// syntax (nginx/Apache/lighttpd `AUTH_ALLOW`/`AUTH_ROLES`, the companion's route table); the
/// core only reads the value.
public struct GatePolicy: Sendable, Equatable {
    public struct Kinds: OptionSet, Sendable, Equatable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let user = Kinds(rawValue: 1)
        public static let apiKey = Kinds(rawValue: 2)
        public static let node = Kinds(rawValue: 4)
        /// The access cookie is accepted too (same checks as a bearer token), with silent renewal
        /// from the refresh cookie and the login redirect for navigations.
        public static let browser = Kinds(rawValue: 8)
    }

    public var kinds: Kinds
    /// Empty: any role.
    public var roles: [String]
    /// The authentication level the location requires (0 or 1: any). `AUTH_REQUIRE_AAL 2` (nginx,
    /// Apache, lighttpd) or a companion route's `|aal2` (issue 21), parsed at the edge; `Gate.user`
    /// refuses a session token whose `aal` is lower with 401 `mfa_required`, and a browser
    /// renewal refuses a level-1 session before it rotates (BrowserRenewal.swift).
    public var requiredLevel: Int
    /// The clock leeway for `exp`/`iat` (seconds); nil: the settings' `AUTH_CLOCK_LEEWAY`.
    public var leeway: Int64?

    public init(kinds: Kinds = .user, roles: [String] = [], requiredLevel: Int = 0, leeway: Int64? = nil) {
        self.kinds = kinds
        self.roles = roles
        self.requiredLevel = requiredLevel
        self.leeway = leeway
    }

    public var allowUser: Bool { kinds.contains(.user) }
    public var allowAPIKey: Bool { kinds.contains(.apiKey) }
    public var allowNode: Bool { kinds.contains(.node) }
    public var allowBrowser: Bool { kinds.contains(.browser) }
}

/// The verify route's name for it before issue 20.
public typealias VerifyPolicy = GatePolicy
