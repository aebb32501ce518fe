import AuthCrypto

/// Who an allowed credential belongs to: one ordered list of fields that every door renders
/// (nginx's `X-Auth-*`, the FastCGI Authorizer's `Variable-AUTH_*`, the companion's upstream
/// request, the HTTP door), in this order, each only when present. A fixed table indexed by
/// `Field`, not a dictionary: building one allocates nothing.
public struct Identity: Sendable {
    public enum Kind: String, Sendable {
        case user, apiKey = "api_key", node
    }

    /// THE list. A new field (a claim a new credential carries) is one case here.
    public enum Field: Int, Sendable {
        case kind, userID, tenantID, homeTenantID, role, email, sessionID, projectID, nodeID
        /// The second factor's (issue 21): authentication assurance level and methods.
        case aal, amr

        public static let count = 11

        /// `X-Auth-User-Id`: the header nginx copies with `auth_request_set`.
        public var header: String {
            switch self {
            case .kind: "X-Auth-Kind"
            case .userID: "X-Auth-User-Id"
            case .tenantID: "X-Auth-Tenant-Id"
            case .homeTenantID: "X-Auth-Home-Tenant-Id"
            case .role: "X-Auth-Role"
            case .email: "X-Auth-Email"
            case .sessionID: "X-Auth-Session-Id"
            case .projectID: "X-Auth-Project-Id"
            case .nodeID: "X-Auth-Node-Id"
            case .aal: "X-Auth-AAL"
            case .amr: "X-Auth-AMR"
            }
        }

        /// `AUTH_USER_ID`: the environment variable name (the FastCGI Authorizer's `Variable-*`).
        public var variable: String {
            switch self {
            case .kind: "AUTH_KIND"
            case .userID: "AUTH_USER_ID"
            case .tenantID: "AUTH_TENANT_ID"
            case .homeTenantID: "AUTH_HOME_TENANT_ID"
            case .role: "AUTH_ROLE"
            case .email: "AUTH_EMAIL"
            case .sessionID: "AUTH_SESSION_ID"
            case .projectID: "AUTH_PROJECT_ID"
            case .nodeID: "AUTH_NODE_ID"
            case .aal: "AUTH_AAL"
            case .amr: "AUTH_AMR"
            }
        }
    }

    public let kind: Kind
    private var userID, tenantID, homeTenantID, role, email, sessionID, projectID, nodeID, aal, amr: String?
    /// Not rendered. User tokens: the token's `iat`/`exp` (the companion cuts a socket at `exp`).
    public private(set) var issuedAt: Int64 = 0
    public private(set) var expires: Int64 = 0
    /// Not rendered. API keys: the key's id (its `last_used_at`).
    public private(set) var keyID: String?

    init(kind: Kind) { self.kind = kind }

    public subscript(field: Field) -> String? {
        get {
            switch field {
            case .kind: kind.rawValue
            case .userID: userID
            case .tenantID: tenantID
            case .homeTenantID: homeTenantID
            case .role: role
            case .email: email
            case .sessionID: sessionID
            case .projectID: projectID
            case .nodeID: nodeID
            case .aal: aal
            case .amr: amr
            }
        }
        set {
            switch field {
            case .kind: break
            case .userID: userID = newValue
            case .tenantID: tenantID = newValue
            case .homeTenantID: homeTenantID = newValue
            case .role: role = newValue
            case .email: email = newValue
            case .sessionID: sessionID = newValue
            case .projectID: projectID = newValue
            case .nodeID: nodeID = newValue
            case .aal: aal = newValue
            case .amr: amr = newValue
            }
        }
    }

    /// Every present field, in the list's order: what each door's renderer walks.
    @inline(__always) public func forEachField(_ body: (Field, String) throws -> Void) rethrows {
        var i = 0
        while let field = Field(rawValue: i) {
            if let value = self[field] { try body(field, value) }
            i += 1
        }
    }

    /// A session token's identity, acting in `tenant` (the token's own unless a platform admin
    /// named another one: then `home_tenant_id` is the token's).
    public static func user(_ claims: AccessClaims, tenant: String) -> Identity {
        var id = Identity(kind: .user)
        id.userID = claims.sub
        id.tenantID = tenant
        if tenant != claims.tid { id.homeTenantID = claims.tid }
        id.role = claims.role
        id.email = claims.email
        id.sessionID = claims.sid
        // Issue 21: the level ("1" or "2") and the methods (RFC 8176, space-separated: "pwd otp").
        id.aal = claims.aal >= 2 ? "2" : "1"
        id.amr = claims.amr.joined(separator: " ")
        id.issuedAt = claims.iat
        id.expires = claims.exp
        return id
    }

    static func apiKey(_ key: APIKeyIdentity) -> Identity {
        var id = Identity(kind: .apiKey)
        id.tenantID = key.tenantID
        id.projectID = key.projectID
        id.keyID = key.keyID
        return id
    }

    static func node(_ node: NodeIdentity) -> Identity {
        var id = Identity(kind: .node)
        id.tenantID = node.tenantID
        id.nodeID = node.nodeID
        return id
    }
}
