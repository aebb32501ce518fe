/// Refresh tokens: `v1.` + base64url(session uuid (16) ‖ counter big-endian (8) ‖ HMAC-SHA256(refresh key, first 24 bytes)).
/// Nothing is stored but the session's counter; the refresh key is derived from a ring key.
public enum RefreshToken {
    static let prefix = "v1."
    static let bodyLength = 24
    static let tokenLength = 56

    public static func make(sessionID: String, counter: UInt64, ring: KeyRing) -> String {
        guard let uuid = UUIDs.bytes(sessionID) else { preconditionFailure("RefreshToken.make: session id is not a UUID") }
        var body = uuid
        withUnsafeBytes(of: counter.bigEndian) { body.append(contentsOf: $0) }
        body.append(contentsOf: ring.signing.macs.refresh.authenticate(body))
        return prefix + Base64URL.encode(body)
    }

    /// Checks the MAC against every key of the ring (no early exit, so timing does not reveal which key matched).
    public static func parse(_ token: String, ring: KeyRing) -> (sessionID: String, counter: UInt64)? {
        guard token.utf8.count == prefix.utf8.count + 75, token.hasPrefix(prefix),
              let raw = Base64URL.decode(token.dropFirst(prefix.count)),
              raw.count == tokenLength
        else { return nil }
        let body = raw[0..<bodyLength]
        let mac = Array(raw[bodyLength...])
        var matched = false
        for key in ring.keys {
            let expected = key.macs.refresh.authenticate(body)
            matched = Crypto.constantTimeEqual(expected, mac) || matched
        }
        guard matched else { return nil }
        var counter: UInt64 = 0
        for b in raw[16..<24] { counter = counter << 8 | UInt64(b) }
        return (UUIDs.format(Array(raw[0..<16])), counter)
    }
}
