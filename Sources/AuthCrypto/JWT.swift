public enum JWTError: Error, Equatable {
    case malformed, tooLarge, unsupportedAlgorithm, unknownKey, badSignature, expired, notYetValid, wrongIssuer, wrongAudience
}

/// HS256 access tokens, verified per RFC 8725: the algorithm is fixed (the header may only
/// confirm it), the key is chosen by `kid` from our own ring, the signature is checked in
/// constant time before any claim is read, and every claim is required with its exact type.
public enum JWT {
    public static let maxTokenBytes = 8 * 1024

    public static func sign(_ claims: AccessClaims, key: SigningKey) -> String {
        let header = JSON.object([("alg", .string("HS256")), ("typ", .string("JWT")), ("kid", .string(key.kid))])
        var input = Array(Base64URL.encode(header.encoded()).utf8)
        input.append(UInt8(ascii: "."))
        input.append(contentsOf: Base64URL.encode(claims.json.encoded()).utf8)
        let signature = key.macs.access.authenticate(input)
        input.append(UInt8(ascii: "."))
        input.append(contentsOf: Base64URL.encode(signature).utf8)
        return String(decoding: input, as: UTF8.self)
    }

    public static func verify(_ token: String, ring: KeyRing, issuer: String, audience: String,
                              now: Int64, leeway: Int64) -> Result<AccessClaims, JWTError> {
        let utf8 = token.utf8
        if let result = utf8.withContiguousStorageIfAvailable({
            verify(bytes: $0, ring: ring, issuer: issuer, audience: audience, now: now, leeway: leeway)
        }) {
            return result
        }
        return Array(utf8).withUnsafeBufferPointer {
            verify(bytes: $0, ring: ring, issuer: issuer, audience: audience, now: now, leeway: leeway)
        }
    }

    static func verify(bytes: UnsafeBufferPointer<UInt8>, ring: KeyRing, issuer: String, audience: String,
                       now: Int64, leeway: Int64) -> Result<AccessClaims, JWTError> {
        guard bytes.count <= maxTokenBytes else { return .failure(.tooLarge) }
        var firstDot = -1
        var secondDot = -1
        for (i, c) in bytes.enumerated() where c == UInt8(ascii: ".") {
            if firstDot < 0 { firstDot = i } else if secondDot < 0 { secondDot = i } else { return .failure(.malformed) }
        }
        guard secondDot > 0 else { return .failure(.malformed) }
        let headerPart = bytes[0..<firstDot]
        let payloadPart = bytes[(firstDot + 1)..<secondDot]
        let signaturePart = bytes[(secondDot + 1)...]

        guard !headerPart.isEmpty, !payloadPart.isEmpty,
              let headerBytes = Base64URL.decode(bytes: headerPart),
              let header = Header(headerBytes)
        else { return .failure(.malformed) }
        if let error = header.error { return .failure(error) }
        guard header.alg == "HS256" else { return .failure(.unsupportedAlgorithm) }
        guard let kid = header.kid, let key = ring.key(kid: kid) else { return .failure(.unknownKey) }

        // Both remaining segments must be canonical base64url before any MAC work.
        guard let payloadBytes = Base64URL.decode(bytes: payloadPart),
              let signature = Base64URL.decode(bytes: signaturePart)
        else { return .failure(.malformed) }
        let expected = key.macs.access.authenticate(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[0..<secondDot])))
        guard Crypto.constantTimeEqual(signature, expected) else { return .failure(.badSignature) }

        // Claims are read only once the signature is known to be ours.
        guard let claims = parseClaims(payloadBytes) else { return .failure(.malformed) }

        guard claims.iss == issuer else { return .failure(.wrongIssuer) }
        guard claims.aud == audience else { return .failure(.wrongAudience) }
        if let error = claims.timeError(now: now, leeway: leeway) { return .failure(error) }
        return .success(claims)
    }
}

extension JWT {
    static func parseClaims(_ payload: [UInt8]) -> AccessClaims? {
        let fast = payload.withUnsafeBufferPointer { AccessClaims.fastParse($0) }
        switch fast {
        case .claims(let claims): return claims
        case .invalid: return nil
        case .fallback:
            guard let json = JSONParser.parse(payload, maxDepth: 8) else { return nil }
            return AccessClaims(json: json)
        }
    }

    /// The protected header: `alg`, `kid`, optional `typ`, nothing else (`crit`, `jku`, `cty`, ... refused).
    struct Header {
        var alg: String?
        var kid: String?
        var error: JWTError?

        init?(_ bytes: [UInt8]) {
            var alg: String?
            var kid: String?
            var typOK = true
            var seen = 0
            let fast = bytes.withUnsafeBufferPointer { b in
                FlatJSON.scan(b) { key, value in
                    let slot: Int
                    if FlatJSON.equals(b, key, "alg") { slot = 1 } else if FlatJSON.equals(b, key, "kid") { slot = 2 }
                    else if FlatJSON.equals(b, key, "typ") { slot = 4 } else { return false }
                    guard seen & slot == 0, case .string(let r) = value else { return false }
                    seen |= slot
                    switch slot {
                    case 1: alg = FlatJSON.string(b, r)
                    case 2: kid = FlatJSON.string(b, r)
                    default: typOK = FlatJSON.equals(b, r, "JWT")
                    }
                    return true
                }
            }
            if fast {
                self.alg = alg
                self.kid = kid
                if !typOK { error = .malformed }
                return
            }
            guard case let .object(members)? = JSONParser.parse(bytes, maxDepth: 4) else { return nil }
            for (name, value) in members {
                switch name {
                case "alg":
                    guard case let .string(s) = value else { error = .unsupportedAlgorithm; return }
                    self.alg = s
                case "kid":
                    guard case let .string(s) = value else { error = .unknownKey; return }
                    self.kid = s
                case "typ":
                    guard value == .string("JWT") else { error = .malformed; return }
                default:
                    // `crit` (no extension is understood, RFC 7515 §4.1.11) and every other member:
                    // our tokens carry only alg/kid/typ, so `jku`/`x5u`/`jwk`/`x5c` (key sources we
                    // never follow), `enc`/`zip` (JWE confusion) and `cty` (nesting) are refused
                    // rather than ignored, and no header can mean more to another verifier than to us.
                    error = .malformed
                    return
                }
            }
        }
    }
}

extension UnsafeRawBufferPointer: ContiguousByteSource {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try body(self) }
}

extension AccessClaims {
    /// The one `exp`/`iat` rule, for `JWT.verify` and for every re-check of claims verified
    /// before (the responder's per-worker memo): `exp` must lie after `now - leeway` and `iat`
    /// at or before `now + leeway`, both sums saturating instead of overflowing.
    @inlinable
    public func timeError(now: Int64, leeway: Int64) -> JWTError? {
        if exp <= now.subtractingSaturating(leeway) { return .expired }
        if iat > now.addingSaturating(leeway) { return .notYetValid }
        return nil
    }
}

extension Int64 {
    @inlinable
    func addingSaturating(_ other: Int64) -> Int64 {
        let (v, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : v
    }

    @inlinable
    func subtractingSaturating(_ other: Int64) -> Int64 {
        let (v, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other > 0 ? .min : .max) : v
    }
}
