import COpenSSL

/// RFC 4648 base32 (upper case, no padding on output; padding and lower case accepted on input):
/// the form authenticator apps read TOTP secrets in.
public enum Base32 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer: UInt32 = 0
        var bits = 0
        for b in bytes {
            buffer = (buffer << 8) | UInt32(b)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for c in text.utf8 where c != UInt8(ascii: "=") && c != UInt8(ascii: " ") {
            let v: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a"))
            case UInt8(ascii: "2")...UInt8(ascii: "7"): v = UInt32(c - UInt8(ascii: "2")) + 26
            default: return nil
            }
            buffer = (buffer << 5) | v
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> UInt32(bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return out
    }
}

/// TOTP (RFC 6238 over RFC 4226 HOTP): HMAC-SHA1, 6 digits, 30-second steps, the parameters
/// every authenticator app uses by default.
public enum TOTP {
    public static let period: Int64 = 30
    public static let digits = 6
    /// Secrets are 20 random bytes (160 bits, RFC 4226 §4's recommendation).
    public static let secretBytes = 20

    public static func step(at unixSeconds: Int64) -> Int64 { unixSeconds >= 0 ? unixSeconds / period : -1 }

    /// The HOTP value of `counter`, as `digits` decimal digits (leading zeros kept).
    public static func code(secret: [UInt8], counter: Int64, digits: Int = TOTP.digits) -> String {
        var message = [UInt8](repeating: 0, count: 8)
        var c = UInt64(bitPattern: counter)
        for i in stride(from: 7, through: 0, by: -1) {
            message[i] = UInt8(c & 0xFF)
            c >>= 8
        }
        var mac = [UInt8](repeating: 0, count: 20)
        let ok = secret.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                mac.withUnsafeMutableBytes { o in authgate_hmac_sha1(k.baseAddress, k.count, m.baseAddress, m.count, o.baseAddress) }
            }
        }
        guard ok == 1 else { fatalError("OpenSSL: HMAC-SHA1 failed") }
        defer { Crypto.wipe(&mac) }
        let offset = Int(mac[19] & 0x0F)
        let binary = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let value = String(binary % modulus)
        return String(repeating: "0", count: max(0, digits - value.count)) + value
    }

    /// The step a submitted code matches: the current step or one either side, newest first
    /// among those after `after` (the last step this factor accepted: a code is accepted once).
    /// Compared in constant time; nil when none matches.
    public static func matchingStep(secret: [UInt8], code: String, now: Int64, after lastStep: Int64) -> Int64? {
        let submitted = Array(code.utf8)
        guard submitted.count == digits, submitted.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        let current = step(at: now)
        var found: Int64?
        for s in [current - 1, current, current + 1] where s > lastStep && s >= 0 {
            if Crypto.constantTimeEqual(Array(TOTP.code(secret: secret, counter: s).utf8), submitted) { found = s }
        }
        return found
    }

    /// `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`
    /// (Google Authenticator's key URI format).
    public static func uri(secret: [UInt8], issuer: String, account: String) -> String {
        let label = percentEncode(issuer) + ":" + percentEncode(account)
        return "otpauth://totp/\(label)?secret=\(Base32.encode(secret))&issuer=\(percentEncode(issuer))"
            + "&algorithm=SHA1&digits=\(digits)&period=\(period)"
    }

    /// RFC 3986 unreserved characters kept, everything else %XX (UTF-8).
    static func percentEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out += "%" + Crypto.hex([b]).uppercased()
            }
        }
        return out
    }
}
