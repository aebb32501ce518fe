/// Claims of an access token. Every field is required when verifying.
public struct AccessClaims: Sendable, Equatable {
    public var iss: String, aud: String, sub: String, tid: String, email: String, role: String, sid: String, jti: String
    public var iat: Int64, exp: Int64
    /// Authentication assurance level (1: password; 2: password and a second factor) and the
    /// RFC 8176 methods (`pwd`, `otp`). A token without them (issued before they existed) is level 1.
    public var aal: Int64
    public var amr: [String]

    public init(iss: String, aud: String, sub: String, tid: String, email: String, role: String,
                sid: String, jti: String, iat: Int64, exp: Int64, aal: Int64 = 1, amr: [String] = ["pwd"]) {
        self.aal = aal
        self.amr = amr
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
            ("aal", .int(aal)), ("amr", .array(amr.map { .string($0) })),
        ])
    }

    /// Reads the claims from a parsed payload: all required, strings and integers only,
    /// no control characters in any string (values end up in HTTP headers).
    init?(json: JSON) {
        guard case let .object(pairs) = json else { return nil }
        var strings = [String?](repeating: nil, count: 8)
        var iat: Int64?
        var exp: Int64?
        var aal: Int64 = 1
        var amr = ["pwd"]
        for (key, value) in pairs {
            switch key {
            case "aal": guard case let .int(v) = value, v == 1 || v == 2 else { return nil }; aal = v
            case "amr":
                guard case let .array(items) = value, items.count <= 8 else { return nil }
                var methods: [String] = []
                for item in items {
                    guard case let .string(m) = item, Self.isPlain(m) else { return nil }
                    methods.append(m)
                }
                amr = methods
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
        self.init(iss: iss, aud: aud, sub: sub, tid: tid, email: email, role: role, sid: sid, jti: jti, iat: iat, exp: exp,
                  aal: aal, amr: amr)
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
