import AuthCrypto

/// CollectedClientData (WebAuthn §5.8.1), checked as §7.1 steps 5-9 and §7.2 steps 9-13 say:
/// the type, the challenge (base64url, compared in constant time), the origin (exactly one of the
/// configured ones), and crossOrigin (refused when true: Authgate's pages are never framed).
/// tokenBinding is not checked (no browser sends it any more); topOrigin matters only with
/// crossOrigin, which we refuse.
struct ClientData {
    static let maxLength = 4096

    let hash: [UInt8]

    init(_ json: [UInt8], type expectedType: String, challenge expected: [UInt8], rp: WebAuthnRelyingParty) throws(WebAuthnError) {
        guard json.count <= Self.maxLength else { throw .malformed("clientDataJSON over \(Self.maxLength) bytes") }
        guard let value = JSONParser.parse(json, maxDepth: 4), case .object = value else {
            throw .malformed("clientDataJSON is not a JSON object")
        }
        guard let type = value["type"]?.stringValue else { throw .malformed("clientDataJSON without type") }
        guard type == expectedType else { throw .wrongType }
        guard let challengeText = value["challenge"]?.stringValue else { throw .malformed("clientDataJSON without challenge") }
        guard let challenge = Base64URL.decode(challengeText) else { throw .malformed("challenge is not base64url") }
        guard !expected.isEmpty, Crypto.constantTimeEqual(challenge, expected) else { throw .challengeMismatch }
        guard let origin = value["origin"]?.stringValue else { throw .malformed("clientDataJSON without origin") }
        guard rp.allows(origin: origin) else { throw .originNotAllowed }
        if let crossOrigin = value["crossOrigin"] {
            guard let flag = crossOrigin.boolValue else { throw .malformed("crossOrigin is not a boolean") }
            if flag { throw .crossOriginNotAllowed }
        }
        hash = Crypto.sha256(json)
    }
}
