import AuthCrypto
import AuthWebAuthn

/// What every passkey route shares: the relying party (or 404 `webauthn_not_configured`), the
/// single-use ceremony challenges (32 random bytes, 5 minutes, stored as a SHA-256 digest with
/// their purpose and binding, taken with one `DELETE … RETURNING`), the credential JSON a
/// browser sends (`PublicKeyCredential.toJSON()`'s shape: base64url fields), and the `amr`
/// a passkey earns.
struct PasskeyResponse {
    /// `rawId` (base64url), the key the credential is stored under.
    let credentialID: String
    let clientDataJSON: [UInt8]
    let attestationObject: [UInt8]
    let authenticatorData: [UInt8]
    let signature: [UInt8]
    let userHandle: [UInt8]?
    let transports: [String]
    /// The challenge named in clientDataJSON (which stored challenge to take; the core then
    /// compares it with the taken one in constant time).
    let challenge: [UInt8]

    init(_ json: JSON?, registration: Bool) throws(AuthError) {
        guard let json, case .object = json else { throw AuthError.invalidRequest("missing the credential object") }
        func bytes(_ value: JSON?, _ name: String, required: Bool = true) throws(AuthError) -> [UInt8]? {
            guard let s = value?.stringValue, s.utf8.count <= 16384 else {
                if required || (value != nil && value != .null) { throw AuthError.invalidRequest("\(name) must be a base64url string") }
                return nil
            }
            guard let b = Base64URL.decode(s.hasSuffix("=") ? String(s.prefix { $0 != "=" }) : s) else {
                throw AuthError.invalidRequest("\(name) must be base64url")
            }
            return b
        }
        let raw = try bytes(json["rawId"] ?? json["id"], "credential.rawId") ?? []
        guard !raw.isEmpty, raw.count <= 1023 else { throw AuthError.invalidRequest("credential.rawId has a wrong length") }
        if let type = json["type"]?.stringValue, type != "public-key" {
            throw AuthError.invalidRequest("credential.type must be public-key")
        }
        credentialID = Base64URL.encode(raw)
        guard let response = json["response"], case .object = response else {
            throw AuthError.invalidRequest("missing credential.response")
        }
        clientDataJSON = try bytes(response["clientDataJSON"], "response.clientDataJSON") ?? []
        if registration {
            attestationObject = try bytes(response["attestationObject"], "response.attestationObject") ?? []
            authenticatorData = []
            signature = []
            userHandle = nil
        } else {
            attestationObject = []
            authenticatorData = try bytes(response["authenticatorData"], "response.authenticatorData") ?? []
            signature = try bytes(response["signature"], "response.signature") ?? []
            userHandle = try bytes(response["userHandle"], "response.userHandle", required: false)
        }
        transports = (response["transports"]?.arrayValue ?? []).compactMap(\.stringValue)
            .filter { $0.count <= 32 && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") } }
            .prefix(8).map { $0 }
        guard let client = JSONParser.parse(clientDataJSON), let c = client["challenge"]?.stringValue,
              let challenge = Base64URL.decode(c), !challenge.isEmpty else {
            throw AuthError.invalidRequest("response.clientDataJSON names no challenge")
        }
        self.challenge = challenge
    }
}

extension PasskeyRoutes {
    static let webauthnChallengeSeconds: Int64 = 300
    static let maxPasskeys = 20

    static let webauthnNotConfigured = AuthError(
        status: 404, code: "webauthn_not_configured",
        message: "passkeys are not configured on this server (AUTH_WEBAUTHN_RP_ID is unset)")

    func relyingParty() throws(AuthError) -> WebAuthnRelyingParty {
        guard let rp = settings.webauthn.relyingParty else { throw Self.webauthnNotConfigured }
        return rp
    }

    /// A new challenge for `purpose`, bound to a user (register) or an mfa_token digest (mfa).
    func mintCeremonyChallenge(purpose: String, userID: String?, mfaDigest: String?) throws(AuthError) -> String {
        let challenge = Crypto.randomBytes(32)
        let now = Time.now()
        try write {
            try db.webauthn.createChallenge(digest: Self.digest(bytes: challenge), purpose: purpose, userID: userID,
                                            mfaDigest: mfaDigest, now: now, expiresAt: now + Self.webauthnChallengeSeconds)
        }
        return Base64URL.encode(challenge)
    }

    /// Takes the challenge the response names: nil when unknown, used, expired or for another purpose.
    func takeCeremonyChallenge(_ r: PasskeyResponse, purpose: String) throws(AuthError) -> WebAuthnChallengeBinding? {
        let now = Time.now()
        return try write { try db.webauthn.consumeChallenge(digest: Self.digest(bytes: r.challenge), purpose: purpose, now: now) }
    }

    static func digest(bytes: [UInt8]) -> String { Crypto.hex(Crypto.sha256(bytes)) }

    /// RFC 8176: a backup-eligible credential (a synced passkey) is a software-secured key
    /// (`swk`), a device-bound one a hardware-secured key (`hwk`).
    static func keyMethod(backupEligible: Bool) -> String { backupEligible ? "swk" : "hwk" }

    /// The public form of a passkey (never the key itself).
    func passkeyJSON(_ c: WebAuthnCredential) -> JSON {
        .object([("id", .string(c.id)), ("kind", .string("webauthn")), ("status", .string("active")),
                 ("name", .string(c.name)), ("created_at", profile.timestamp(c.createdAt)),
                 ("last_used_at", profile.optionalTimestamp(c.lastUsedAt)),
                 ("backup_eligible", .bool(c.backupEligible)), ("backup_state", .bool(c.backupState)),
                 ("transports", .array(c.transports.map { .string($0) }))])
    }

    /// The verification's refusal as this server's error (registration: 400 `webauthn_rejected`
    /// with the core's reason; the logins turn it into their generic 401).
    static func rejected(_ reason: String) -> AuthError {
        AuthError(status: 400, code: "webauthn_rejected", message: "the passkey response was refused: \(reason)")
    }
}
