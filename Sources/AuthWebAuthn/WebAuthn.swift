import AuthCrypto

/// A credential that passed registration: what the caller stores.
public struct RegisteredCredential: Sendable, Equatable {
    public let credentialID: [UInt8]
    /// The COSE_Key bytes as the authenticator sent them: pass them back to `verifyAssertion`.
    public let cosePublicKey: [UInt8]
    /// COSE algorithm: -7 ES256, -8 EdDSA, -257 RS256.
    public let algorithm: Int
    public let signCount: UInt32
    public let flags: WebAuthnFlags
    public let aaguid: [UInt8]
    public let attestationFormat: String
}

/// An assertion that passed. `newSignCount` is what the caller stores: the authenticator's count,
/// or the stored one when the authenticator reports 0 (so a counter, once seen, is never lost).
public struct AssertionResult: Sendable, Equatable {
    public let newSignCount: UInt32
    public let flags: WebAuthnFlags
    /// Always false in a returned result: a regression throws `.signCountRegressed` (the caller
    /// refuses and audits). Kept so a caller can log the result as it is.
    public let signCountRegressed: Bool
}

/// The relying-party checks of WebAuthn Level 2 (§7.1 registration, §7.2 assertion). The caller
/// owns what needs storage: issuing and consuming the challenge once, `excludeCredentials` and
/// unique credential IDs at registration, and at assertion finding the credential by its ID and
/// checking it belongs to the user (and userHandle when present).
public enum WebAuthn {
    /// §7.1: clientData (steps 5-10), attestation object and authenticator data (11-16), the
    /// algorithm (17), the attestation statement (19-21). Extensions are not interpreted.
    public static func verifyRegistration(clientDataJSON: [UInt8], attestationObject: [UInt8], expectedChallenge: [UInt8],
                                          rp: WebAuthnRelyingParty, requireUserVerification: Bool) throws(WebAuthnError) -> RegisteredCredential {
        let client = try ClientData(clientDataJSON, type: "webauthn.create", challenge: expectedChallenge, rp: rp)
        let object = try AttestationObject(attestationObject)
        let authData = object.authData
        try checkCommon(authData, rp: rp, requireUserVerification: requireUserVerification)
        guard let attested = authData.attested else { throw .malformed("registration without attested credential data") }
        try object.verify(clientDataHash: client.hash, credential: attested.key)
        return RegisteredCredential(credentialID: attested.credentialID, cosePublicKey: attested.cosePublicKey,
                                    algorithm: attested.key.algorithm.rawValue, signCount: authData.signCount,
                                    flags: authData.flags, aaguid: attested.aaguid, attestationFormat: object.format)
    }

    /// §7.2 steps 8-21: clientData, authenticator data, the signature over
    /// authenticatorData ‖ SHA-256(clientDataJSON) with the stored key, then the sign count
    /// (refused when both counts are non-zero and the new one is not above the stored one).
    public static func verifyAssertion(clientDataJSON: [UInt8], authenticatorData: [UInt8], signature: [UInt8],
                                       expectedChallenge: [UInt8], rp: WebAuthnRelyingParty, cosePublicKey: [UInt8],
                                       storedSignCount: UInt32, requireUserVerification: Bool) throws(WebAuthnError) -> AssertionResult {
        let client = try ClientData(clientDataJSON, type: "webauthn.get", challenge: expectedChallenge, rp: rp)
        let authData = try AuthenticatorData(authenticatorData)
        guard authData.attested == nil else { throw .malformed("attested credential data in an assertion") }
        try checkCommon(authData, rp: rp, requireUserVerification: requireUserVerification)
        let key = try COSEKey(bytes: cosePublicKey)
        guard try key.verify(signature: signature, message: authenticatorData + client.hash) else { throw .badSignature }
        let count = authData.signCount
        if count != 0 && storedSignCount != 0 && count <= storedSignCount { throw .signCountRegressed }
        return AssertionResult(newSignCount: count == 0 ? storedSignCount : count, flags: authData.flags, signCountRegressed: false)
    }

    private static func checkCommon(_ authData: AuthenticatorData, rp: WebAuthnRelyingParty,
                                    requireUserVerification: Bool) throws(WebAuthnError) {
        guard Crypto.constantTimeEqual(authData.rpIDHash, rp.rpIDHash) else { throw .rpIDHashMismatch }
        guard authData.flags.userPresent else { throw .userNotPresent }
        if requireUserVerification && !authData.flags.userVerified { throw .userNotVerified }
    }
}
