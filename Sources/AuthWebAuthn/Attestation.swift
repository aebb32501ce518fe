import COpenSSL

/// The attestation object (WebAuthn §6.5.4): a CBOR map of "fmt", "attStmt" and "authData".
///
/// Formats: "none" (attStmt must be empty) is what Authgate asks for and what browsers send
/// when the relying party asks for none. "packed" (§8.2) is verified as far as it proves the
/// authenticator holds the key: self attestation (no x5c) must be signed by the credential key
/// itself with its algorithm; with x5c, the signature must verify under the first certificate's
/// key. NOT checked: any trust path (the certificate chain, a root, the FIDO Metadata Service),
/// the certificate's fields (version, subject OU, the AAGUID extension, basic constraints) and
/// revocation, so an attestation proves nothing about the make or model and Authgate never
/// claims it does. "ecdaaKeyId" and every other format (tpm, android-key, android-safetynet,
/// fido-u2f, apple) are refused as attestationUnsupported.
struct AttestationObject {
    let format: String
    let statement: CBOR
    let authDataBytes: [UInt8]
    let authData: AuthenticatorData

    init(_ bytes: [UInt8]) throws(WebAuthnError) {
        let value: CBOR
        do { value = try CBORDecoder.decode(bytes) } catch { throw .malformed("attestation object: \(error)") }
        guard case .map = value else { throw .malformed("attestation object is not a map") }
        guard let fmt = value["fmt"]?.textValue else { throw .malformed("attestation object without fmt") }
        guard let stmt = value["attStmt"], case .map = stmt else { throw .malformed("attestation object without attStmt map") }
        guard let data = value["authData"]?.bytesValue else { throw .malformed("attestation object without authData") }
        format = fmt
        statement = stmt
        authDataBytes = data
        authData = try AuthenticatorData(data)
    }

    /// Verifies the statement for `credential` over authData ‖ clientDataHash (§8.2, §8.7).
    func verify(clientDataHash: [UInt8], credential: COSEKey) throws(WebAuthnError) {
        switch format {
        case "none":
            guard statement.mapValue?.isEmpty == true else { throw .malformed("attStmt of format none is not empty") }
        case "packed":
            try verifyPacked(signed: authDataBytes + clientDataHash, credential: credential)
        default:
            throw .attestationUnsupported
        }
    }

    private func verifyPacked(signed: [UInt8], credential: COSEKey) throws(WebAuthnError) {
        guard let algValue = statement["alg"]?.intValue, let sig = statement["sig"]?.bytesValue else {
            throw .malformed("packed attStmt without alg or sig")
        }
        if statement["ecdaaKeyId"] != nil { throw .attestationUnsupported }
        guard let alg = COSEAlgorithm(rawValue: Int(algValue)) else { throw .attestationUnsupported }
        if let x5c = statement["x5c"] {
            guard let chain = x5c.arrayValue, let first = chain.first?.bytesValue,
                  chain.allSatisfy({ $0.bytesValue != nil }) else { throw .malformed("packed x5c is not an array of certificates") }
            let key = try PublicKey(certificate: first)
            let fits = switch alg {
            case .es256: key.isA("EC")
            case .edDSA: key.isA("ED25519")
            case .rs256: key.isA("RSA")
            }
            guard fits, key.verify(signature: sig, message: signed, sha256: alg != .edDSA) else { throw .attestationInvalid }
        } else {
            guard alg == credential.algorithm else { throw .attestationInvalid }
            guard try credential.verify(signature: sig, message: signed) else { throw .attestationInvalid }
        }
    }
}

extension PublicKey {
    func isA(_ name: String) -> Bool { authgate_pkey_is(pkey, name) == 1 }
}
