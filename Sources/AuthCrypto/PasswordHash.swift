import COpenSSL

/// scrypt cost parameters in the PHC style: N = 2^ln, block size r, parallelism p.
public struct ScryptParameters: Sendable, Equatable, CustomStringConvertible {
    public var ln: Int
    public var r: Int
    public var p: Int

    public static let `default` = ScryptParameters(ln: 15, r: 8, p: 3)

    public init(ln: Int, r: Int, p: Int) {
        self.ln = ln
        self.r = r
        self.p = p
    }

    /// Parses exactly `ln=<int>,r=<int>,p=<int>` with bounds that keep a stored hash from
    /// asking for absurd work (memory is capped separately by `PasswordHash.maxMemory`).
    public init?(_ s: String) {
        let parts = s.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 3,
              parts[0].hasPrefix("ln="), parts[1].hasPrefix("r="), parts[2].hasPrefix("p="),
              let ln = Self.number(parts[0].dropFirst(3)),
              let r = Self.number(parts[1].dropFirst(2)),
              let p = Self.number(parts[2].dropFirst(2)),
              (1...24).contains(ln), (1...64).contains(r), (1...64).contains(p)
        else { return nil }
        self.init(ln: ln, r: r, p: p)
    }

    private static func number(_ s: Substring) -> Int? {
        guard !s.isEmpty, s.count <= 4, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        guard !(s.count > 1 && s.first == "0") else { return nil }
        return Int(s)
    }

    public var description: String { "ln=\(ln),r=\(r),p=\(p)" }
}

public struct PasswordHashError: Error, CustomStringConvertible {
    public let description: String
}

/// Password hashes as `$scrypt$ln=15,r=8,p=3$<base64 salt>$<base64 hash>` (standard padded base64),
/// 16-byte random salt, 32-byte derived key. The string carries its own parameters so they can change.
public enum PasswordHash {
    /// ln=15 r=8 p=3 needs 33,559,552 bytes, which OpenSSL refuses under its 32 MiB default.
    public static let maxMemory: UInt64 = 64 * 1024 * 1024
    /// Only full-length hashes are accepted: a truncated stored hash must not verify against a prefix.
    static let hashLength = 32

    public static func make(password: String, parameters: ScryptParameters) throws -> String {
        let salt = Crypto.randomBytes(16)
        var pw = Array(password.utf8)
        defer { Crypto.wipe(&pw) }
        let hash = try scrypt(password: pw, salt: salt, n: UInt64(1) << UInt64(parameters.ln),
                              r: UInt64(parameters.r), p: UInt64(parameters.p), length: hashLength)
        return "$scrypt$\(parameters)$\(Base64.encode(salt))$\(Base64.encode(hash))"
    }

    public static func verify(password: String, encoded: String) -> Bool {
        guard let parsed = parse(encoded) else { return false }
        var pw = Array(password.utf8)
        defer { Crypto.wipe(&pw) }
        let p = parsed.parameters
        guard let derived = try? scrypt(password: pw, salt: parsed.salt, n: UInt64(1) << UInt64(p.ln),
                                        r: UInt64(p.r), p: UInt64(p.p), length: parsed.hash.count)
        else { return false }
        return Crypto.constantTimeEqual(derived, parsed.hash)
    }

    public static func parameters(of encoded: String) -> ScryptParameters? { parse(encoded)?.parameters }

    public static func scrypt(password: [UInt8], salt: [UInt8], n: UInt64, r: UInt64, p: UInt64, length: Int) throws -> [UInt8] {
        guard length > 0, n > 1, n & (n - 1) == 0, r > 0, p > 0 else {
            throw PasswordHashError(description: "scrypt: invalid parameters")
        }
        var out = [UInt8](repeating: 0, count: length)
        let ok = password.withUnsafeBytes { pw in
            salt.withUnsafeBytes { s in
                out.withUnsafeMutableBytes { o in
                    authgate_scrypt(pw.baseAddress, pw.count, s.baseAddress, s.count, n, r, p, maxMemory, o.baseAddress, o.count)
                }
            }
        }
        guard ok == 1 else {
            ERR_clear_error()
            throw PasswordHashError(description: "scrypt: OpenSSL EVP_PBE_scrypt failed (N=\(n) r=\(r) p=\(p))")
        }
        return out
    }

    private static func parse(_ encoded: String) -> (parameters: ScryptParameters, salt: [UInt8], hash: [UInt8])? {
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "scrypt",
              let parameters = ScryptParameters(String(parts[2])),
              let salt = Base64.decode(String(parts[3])), salt.count >= 16, salt.count <= 64,
              let hash = Base64.decode(String(parts[4])), hash.count == hashLength
        else { return nil }
        return (parameters, salt, hash)
    }
}
