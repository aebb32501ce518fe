import AuthCrypto

/// A request's JSON object body. Routes without a body accept an empty one whatever the
/// `Content-Type` says.
struct Body {
    let object: JSON

    /// Parses the body as a JSON object; an empty body reads as `{}`.
    init(_ request: Request) throws(AuthError) {
        if request.body.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }) {
            object = .object([])
            return
        }
        guard let json = JSONParser.parse(request.body), case .object = json else {
            throw AuthError.invalidRequest("request body must be a JSON object")
        }
        object = json
    }

    /// A string field: nil when absent or null; 400 when another type.
    func string(_ key: String, maxBytes: Int = 4096) throws(AuthError) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case let .string(s)?:
            guard s.utf8.count <= maxBytes else { throw AuthError.invalidRequest("\(key) is too long") }
            return s
        default: throw AuthError.invalidRequest("\(key) must be a string")
        }
    }
}

extension APIProfile {
    /// 2signal: Unix seconds; get2dial: RFC 3339 UTC.
    func timestamp(_ unix: Int64) -> JSON {
        switch self {
        case .twoSignal: .int(unix)
        case .get2dial: .string(Time.rfc3339(unix))
        }
    }

    func optionalTimestamp(_ unix: Int64?) -> JSON { unix.map(timestamp) ?? .null }

    /// The user object of login/refresh (and `/me`, with `tenant_id` and `role` added in 2signal).
    func user(_ u: User, full: Bool) -> JSON {
        switch self {
        case .twoSignal:
            var pairs: [(String, JSON)] = [("id", .string(u.id)), ("email", .string(u.email))]
            if full { pairs += [("tenant_id", .string(u.tenantID)), ("role", .string(u.role))] }
            return .object(pairs)
        case .get2dial:
            return .object([
                ("id", .string(u.id)), ("tenant_id", .string(u.tenantID)), ("email", .string(u.email)),
                ("role", .string(u.role)), ("status", .string(u.status)),
                ("must_change_password", .bool(u.mustChangePassword)),
                ("created_at", timestamp(u.createdAt)), ("updated_at", timestamp(u.updatedAt)),
            ])
        }
    }

    static let successTrue = JSON.object([("success", .bool(true))])
}
