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
    /// The fields, in a box: a decision is copied a few times between the gate and a door's
    /// bytes, and a copy of the box is one retain where the eleven strings were eleven
    /// (`scripts/bench/callgrind-verify.sh`). Never mutated while shared (the setter copies first).
    private final class Fields: @unchecked Sendable {
        var userID, tenantID, homeTenantID, role, email, sessionID, projectID, nodeID, aal, amr: String?
        var issuedAt: Int64 = 0
        var expires: Int64 = 0
        var keyID: String?

        init() {}

        func copy() -> Fields {
            let c = Fields()
            c.userID = userID; c.tenantID = tenantID; c.homeTenantID = homeTenantID; c.role = role
            c.email = email; c.sessionID = sessionID; c.projectID = projectID; c.nodeID = nodeID
            c.aal = aal; c.amr = amr; c.issuedAt = issuedAt; c.expires = expires; c.keyID = keyID
            return c
        }
    }

    private var fields: Fields
    /// The fields' box: equal for two copies of one identity, whose fields are then equal
    /// (the box is never changed while shared). A door's cache of rendered identities keys on it,
    /// holding the identity (so the box, and its address, stays while cached).
    public var storageID: ObjectIdentifier { ObjectIdentifier(fields) }
    /// Not rendered. User tokens: the token's `iat`/`exp` (the companion cuts a socket at `exp`).
    public var issuedAt: Int64 { fields.issuedAt }
    public var expires: Int64 { fields.expires }
    /// Not rendered. API keys: the key's id (its `last_used_at`).
    public var keyID: String? { fields.keyID }

    private init(kind: Kind, _ fields: Fields) {
        self.kind = kind
        self.fields = fields
    }

    public subscript(field: Field) -> String? {
        get {
            switch field {
            case .kind: kind.rawValue
            case .userID: fields.userID
            case .tenantID: fields.tenantID
            case .homeTenantID: fields.homeTenantID
            case .role: fields.role
            case .email: fields.email
            case .sessionID: fields.sessionID
            case .projectID: fields.projectID
            case .nodeID: fields.nodeID
            case .aal: fields.aal
            case .amr: fields.amr
            }
        }
        set {
            if !isKnownUniquelyReferenced(&fields) { fields = fields.copy() }
            switch field {
            case .kind: break
            case .userID: fields.userID = newValue
            case .tenantID: fields.tenantID = newValue
            case .homeTenantID: fields.homeTenantID = newValue
            case .role: fields.role = newValue
            case .email: fields.email = newValue
            case .sessionID: fields.sessionID = newValue
            case .projectID: fields.projectID = newValue
            case .nodeID: fields.nodeID = newValue
            case .aal: fields.aal = newValue
            case .amr: fields.amr = newValue
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
        let f = Fields()
        f.userID = claims.sub
        f.tenantID = tenant
        if tenant != claims.tid { f.homeTenantID = claims.tid }
        f.role = claims.role
        f.email = claims.email
        f.sessionID = claims.sid
        // Issue 21: the level ("1" or "2") and the methods (RFC 8176, space-separated: "pwd otp").
        f.aal = claims.aal >= 2 ? "2" : "1"
        f.amr = methods(claims.amr)
        f.issuedAt = claims.iat
        f.expires = claims.exp
        return Identity(kind: .user, f)
    }

    /// `amr.joined(separator: " ")`, without the generic join for the common one or two methods.
    @inline(__always)
    static func methods(_ amr: [String]) -> String {
        switch amr.count {
        case 0: ""
        case 1: amr[0]
        case 2: amr[0] + " " + amr[1]
        default: amr.joined(separator: " ")
        }
    }

    static func apiKey(_ key: APIKeyIdentity) -> Identity {
        let f = Fields()
        f.tenantID = key.tenantID
        f.projectID = key.projectID
        f.keyID = key.keyID
        return Identity(kind: .apiKey, f)
    }

    static func node(_ node: NodeIdentity) -> Identity {
        let f = Fields()
        f.tenantID = node.tenantID
        f.nodeID = node.nodeID
        return Identity(kind: .node, f)
    }
}
