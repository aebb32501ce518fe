import AuthCrypto

/// `return_to`: where a browser goes after login. Only a same-origin relative path is ever
/// accepted (an open redirect is a vulnerability): `/` followed by anything but `/` or `\`, no
/// control characters, spaces or backslashes anywhere, and the same again for every
/// percent-decoded form of it (`/%2F%2Fevil.example`, `/%5Cevil`, double encodings).
public enum ReturnTo {
    public static let fallback = "/"

    public static func validate(_ raw: String?) -> String? {
        guard let raw, !raw.isEmpty, raw.utf8.count <= 2048 else { return nil }
        var form = raw
        for round in 0..<4 {
            guard isSafe(form, decoded: round > 0) else { return nil }
            guard form.utf8.contains(0x25) else { return raw }
            guard let decoded = Query.decode(Substring(form.replacingPlus()), lenient: false) else { return nil }
            if decoded == form { return raw }
            form = decoded
        }
        return nil   // still encoded after four rounds: nobody needs that
    }

    /// The path to come back to, or `/`.
    public static func orFallback(_ raw: String?) -> String { validate(raw) ?? fallback }

    /// The raw value: printable ASCII only. A decoded form may hold spaces and UTF-8 (what
    /// `%20` and `%E2%82%AC` stand for), never control characters or a backslash.
    static func isSafe(_ s: String, decoded: Bool) -> Bool {
        let b = Array(s.utf8)
        guard b.first == 0x2F else { return false }                         // "/"
        if b.count > 1 && (b[1] == 0x2F || b[1] == 0x5C) { return false }    // "//" or "/\"
        if decoded { return !b.contains { $0 < 0x20 || $0 == 0x7F || $0 == 0x5C } }
        return !b.contains { $0 <= 0x20 || $0 == 0x7F || $0 == 0x5C || $0 >= 0x80 }
    }

    /// Percent-encodes a path+query for use as one query value (`return_to=`).
    public static func encode(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }
}

extension String {
    /// `+` is a literal plus in a path; keep it from reading as a space while decoding.
    fileprivate func replacingPlus() -> String { split(separator: "+", omittingEmptySubsequences: false).joined(separator: "%2B") }

    fileprivate func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
