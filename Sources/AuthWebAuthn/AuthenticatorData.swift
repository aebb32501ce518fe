/// Authenticator data flags (WebAuthn §6.1).
public struct WebAuthnFlags: Sendable, Equatable {
    public var userPresent: Bool
    public var userVerified: Bool
    public var backupEligible: Bool
    public var backupState: Bool

    public init(userPresent: Bool, userVerified: Bool, backupEligible: Bool, backupState: Bool) {
        self.userPresent = userPresent
        self.userVerified = userVerified
        self.backupEligible = backupEligible
        self.backupState = backupState
    }

    init(byte: UInt8) {
        self.init(userPresent: byte & AuthenticatorData.up != 0, userVerified: byte & AuthenticatorData.uv != 0,
                  backupEligible: byte & AuthenticatorData.be != 0, backupState: byte & AuthenticatorData.bs != 0)
    }
}

/// The credential an authenticator created (present when the AT flag is set).
public struct AttestedCredentialData: Sendable, Equatable {
    public let aaguid: [UInt8]
    public let credentialID: [UInt8]
    /// The COSE_Key bytes exactly as the authenticator sent them (what the caller stores).
    public let cosePublicKey: [UInt8]
    public let key: COSEKey
}

/// Authenticator data (WebAuthn §6.1): rpIdHash(32) flags(1) signCount(4, big-endian), then the
/// attested credential data when AT is set (aaguid(16) credIdLen(2) credId COSE_Key), then the
/// extensions map when ED is set, and nothing after that.
public struct AuthenticatorData: Sendable, Equatable {
    static let up: UInt8 = 0x01, uv: UInt8 = 0x04, be: UInt8 = 0x08, bs: UInt8 = 0x10, at: UInt8 = 0x40, ed: UInt8 = 0x80
    /// WebAuthn Level 3 caps credential IDs at 1023 bytes.
    public static let maxCredentialIDLength = 1023

    public let rpIDHash: [UInt8]
    public let flagsByte: UInt8
    public let signCount: UInt32
    public let attested: AttestedCredentialData?
    public let extensions: CBOR?

    public var flags: WebAuthnFlags { WebAuthnFlags(byte: flagsByte) }

    public init(_ bytes: [UInt8]) throws(WebAuthnError) {
        guard bytes.count >= 37 else { throw .malformed("authenticator data shorter than 37 bytes") }
        rpIDHash = Array(bytes[0..<32])
        flagsByte = bytes[32]
        signCount = UInt32(bytes[33]) << 24 | UInt32(bytes[34]) << 16 | UInt32(bytes[35]) << 8 | UInt32(bytes[36])
        if flagsByte & Self.bs != 0 && flagsByte & Self.be == 0 {
            throw .malformed("backup state set without backup eligibility")
        }
        var at = 37
        if flagsByte & Self.at != 0 {
            guard bytes.count >= at + 18 else { throw .malformed("attested credential data truncated") }
            let aaguid = Array(bytes[at..<at + 16])
            let idLength = Int(bytes[at + 16]) << 8 | Int(bytes[at + 17])
            at += 18
            guard idLength > 0, idLength <= Self.maxCredentialIDLength else { throw .malformed("credential ID length \(idLength)") }
            guard bytes.count >= at + idLength else { throw .malformed("credential ID truncated") }
            let credentialID = Array(bytes[at..<at + idLength])
            at += idLength
            let keyStart = at
            let keyValue: CBOR
            do {
                (keyValue, at) = try CBORDecoder.decodePrefix(bytes[at...])
            } catch {
                throw .malformed("credential public key: \(error)")
            }
            let keyBytes = Array(bytes[keyStart..<at])
            attested = AttestedCredentialData(aaguid: aaguid, credentialID: credentialID, cosePublicKey: keyBytes,
                                              key: try COSEKey(keyValue))
        } else {
            attested = nil
        }
        if flagsByte & Self.ed != 0 {
            guard at < bytes.count else { throw .malformed("extensions flag set without extensions") }
            let value: CBOR
            do {
                (value, at) = try CBORDecoder.decodePrefix(bytes[at...])
            } catch {
                throw .malformed("extensions: \(error)")
            }
            guard case .map = value else { throw .malformed("extensions are not a map") }
            extensions = value
        } else {
            extensions = nil
        }
        guard at == bytes.count else { throw .malformed("\(bytes.count - at) bytes after the authenticator data") }
    }
}
