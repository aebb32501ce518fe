import AuthCrypto

/// The secret of a reset, invite or email-change link: 160 random bits as 32 base32 letters
/// (RFC 4648 alphabet: no 0/1/8, nothing to confuse when typed), shown in mails as the link's
/// fragment and, grouped by four, as the code to type. Only its SHA-256 is stored.
public enum AccountTokenCode {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    /// A new token (normalized form).
    public static func generate() -> String {
        var bytes = Crypto.randomBytes(20)
        defer { Crypto.wipe(&bytes) }
        var out: [UInt8] = []
        var buffer = 0, bits = 0
        for b in bytes {
            buffer = (buffer << 8) | Int(b)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// What a user may type or paste: any case, with dashes and spaces; nil when it cannot be a token.
    public static func normalized(_ raw: String) -> String? {
        var out: [UInt8] = []
        for var c in raw.utf8 {
            if c == UInt8(ascii: "-") || c == UInt8(ascii: " ") { continue }
            if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") { c -= 32 }
            guard alphabet.contains(c), out.count < 32 else { return nil }
            out.append(c)
        }
        return out.count == 32 ? String(decoding: out, as: UTF8.self) : nil
    }

    /// The stored form: hex SHA-256 of the normalized token.
    public static func hash(_ token: String) -> String { Crypto.hex(Crypto.sha256(Array(token.utf8))) }

    /// `ABCD-EFGH-…`: the same token, for typing.
    public static func grouped(_ token: String) -> String {
        var parts: [String] = []
        var rest = Substring(token)
        while !rest.isEmpty { parts.append(String(rest.prefix(4))); rest = rest.dropFirst(4) }
        return parts.joined(separator: "-")
    }
}
