/// Claims of an access token. Every field is required when verifying.
public struct AccessClaims: Sendable, Equatable {
    public var iss: String, aud: String, sub: String, tid: String, email: String, role: String, sid: String, jti: String
    public var iat: Int64, exp: Int64

    public init(iss: String, aud: String, sub: String, tid: String, email: String, role: String,
                sid: String, jti: String, iat: Int64, exp: Int64) {
        self.iss = iss
        self.aud = aud
        self.sub = sub
        self.tid = tid
        self.email = email
        self.role = role
        self.sid = sid
        self.jti = jti
        self.iat = iat
        self.exp = exp
    }

    var json: JSON {
        .object([
            ("iss", .string(iss)), ("aud", .string(aud)), ("sub", .string(sub)), ("tid", .string(tid)),
            ("email", .string(email)), ("role", .string(role)), ("sid", .string(sid)),
            ("iat", .int(iat)), ("exp", .int(exp)), ("jti", .string(jti)),
        ])
    }

    /// Reads the claims from a parsed payload: all required, strings and integers only,
    /// no control characters in any string (values end up in HTTP headers).
    init?(json: JSON) {
        guard case let .object(pairs) = json else { return nil }
        var strings = [String?](repeating: nil, count: 8)
        var iat: Int64?
        var exp: Int64?
        for (key, value) in pairs {
            switch key {
            case "iat": guard case let .int(v) = value else { return nil }; iat = v
            case "exp": guard case let .int(v) = value else { return nil }; exp = v
            default:
                guard let slot = Self.stringClaims.firstIndex(of: key) else { continue }
                guard case let .string(s) = value, Self.isPlain(s) else { return nil }
                strings[slot] = s
            }
        }
        guard let iat, let exp,
              let iss = strings[0], let aud = strings[1], let sub = strings[2], let tid = strings[3],
              let email = strings[4], let role = strings[5], let sid = strings[6], let jti = strings[7]
        else { return nil }
        self.init(iss: iss, aud: aud, sub: sub, tid: tid, email: email, role: role, sid: sid, jti: jti, iat: iat, exp: exp)
    }

    private static let stringClaims = ["iss", "aud", "sub", "tid", "email", "role", "sid", "jti"]

    /// No C0 controls, DEL, C1 controls (UTF-8 C2 80...C2 9F), or U+2028/U+2029 line separators.
    static func isPlain(_ s: String) -> Bool {
        if let result = s.utf8.withContiguousStorageIfAvailable({ isPlain(bytes: $0) }) { return result }
        return Array(s.utf8).withUnsafeBufferPointer { isPlain(bytes: $0) }
    }

    static func isPlain(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var previous: UInt8 = 0
        var beforePrevious: UInt8 = 0
        for b in bytes {
            if b < 0x20 || b == 0x7F { return false }
            if previous == 0xC2 && b <= 0x9F { return false }
            if beforePrevious == 0xE2 && previous == 0x80 && (b == 0xA8 || b == 0xA9) { return false }
            beforePrevious = previous
            previous = b
        }
        return true
    }
}
