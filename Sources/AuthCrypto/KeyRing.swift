/// One HS256 secret and its `kid`. The HMAC key schedules (access tokens and the derived
/// refresh-token key) are prepared once here, so verifying a token does no key setup.
public struct SigningKey: Sendable {
    public var kid: String
    public var secret: [UInt8] { didSet { macs = KeyMACs(secret) } }
    private(set) var macs: KeyMACs

    public init(kid: String, secret: [UInt8]) {
        self.kid = kid
        self.secret = secret
        macs = KeyMACs(secret)
    }
}

/// Pre-keyed HMAC contexts for one secret; immutable, shared between threads.
final class KeyMACs: Sendable {
    let access: HMACSHA256Key
    /// Refresh tokens use a key derived from the signing secret so the two token kinds can never be confused.
    let refresh: HMACSHA256Key

    init(_ secret: [UInt8]) {
        guard let access = HMACSHA256Key(secret) else { fatalError("OpenSSL: HMAC key setup failed") }
        var derived = access.authenticate(Array("authgate refresh-token key v1".utf8))
        defer { Crypto.wipe(&derived) }
        guard let refresh = HMACSHA256Key(derived) else { fatalError("OpenSSL: HMAC key setup failed") }
        self.access = access
        self.refresh = refresh
    }
}

public struct KeyRingError: Error, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The JWT key ring: every key verifies, the last one signs (rotation appends).
public struct KeyRing: Sendable {
    public static let minimumSecretBytes = 32

    public var keys: [SigningKey]

    public init(keys: [SigningKey]) { self.keys = keys }

    public var signing: SigningKey { keys.last! }

    public func key(kid: some StringProtocol) -> SigningKey? {
        for key in keys where key.kid.utf8.elementsEqual(kid.utf8) { return key }
        return nil
    }

    /// One `kid:base64url-secret` a line; `#` comments and blank lines are skipped.
    /// Refuses secrets under 32 bytes, malformed or duplicate kids, and an empty ring.
    public static func parse(_ text: String) throws -> KeyRing {
        var keys: [SigningKey] = []
        for (number, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":") else { throw KeyRingError("key ring line \(number + 1): expected kid:secret") }
            let kid = String(line[..<colon])
            guard isValidKid(kid) else { throw KeyRingError("key ring line \(number + 1): invalid kid") }
            guard !keys.contains(where: { $0.kid == kid }) else { throw KeyRingError("key ring line \(number + 1): duplicate kid \(kid)") }
            guard let secret = Base64URL.decode(line[line.index(after: colon)...]) else {
                throw KeyRingError("key ring line \(number + 1): secret is not canonical unpadded base64url")
            }
            guard secret.count >= minimumSecretBytes else {
                throw KeyRingError("key ring line \(number + 1): secret is \(secret.count) bytes, at least \(minimumSecretBytes) required")
            }
            keys.append(SigningKey(kid: kid, secret: secret))
        }
        guard !keys.isEmpty else { throw KeyRingError("key ring is empty") }
        return KeyRing(keys: keys)
    }

    /// Kids travel in JWT headers: keep them short and plain.
    static func isValidKid(_ kid: String) -> Bool {
        !kid.isEmpty && kid.utf8.count <= 64 && kid.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: ".")
        }
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return s
    }
}
