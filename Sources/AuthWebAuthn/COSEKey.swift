import COpenSSL

/// COSE algorithm identifiers we verify (IANA COSE Algorithms).
public enum COSEAlgorithm: Int, Sendable, CaseIterable {
    case es256 = -7
    case edDSA = -8
    case rs256 = -257
}

/// A credential public key (COSE_Key, RFC 9052 §7 / RFC 9053): EC2 on P-256 for ES256, OKP Ed25519
/// for EdDSA, RSA of 2048 to 4096 bits for RS256 (PKCS#1 v1.5 with SHA-256). Parsing also builds
/// the OpenSSL key once, so a point off the curve or a short RSA modulus is refused at registration.
public struct COSEKey: Sendable, Equatable {
    public enum Material: Sendable, Equatable {
        case p256(x: [UInt8], y: [UInt8])
        case ed25519(x: [UInt8])
        case rsa(n: [UInt8], e: [UInt8])
    }

    public let algorithm: COSEAlgorithm
    public let material: Material

    static let minimumRSABits = 2048
    /// Larger moduli only cost verification time (a hostile registration could store one).
    static let maximumRSABits = 4096

    /// Parses the whole of `bytes` as one COSE_Key.
    public init(bytes: [UInt8]) throws(WebAuthnError) {
        let value: CBOR
        do { value = try CBORDecoder.decode(bytes) } catch { throw .malformed("credential public key: \(error)") }
        try self.init(value)
    }

    public init(_ value: CBOR) throws(WebAuthnError) {
        guard case .map = value else { throw .malformed("credential public key is not a map") }
        guard let kty = value[1]?.intValue else { throw .malformed("COSE key without kty") }
        guard let algValue = value[3]?.intValue else { throw .malformed("COSE key without alg") }
        guard let alg = COSEAlgorithm(rawValue: Int(algValue)) else { throw .unsupportedAlgorithm }
        func bytes(_ label: Int64, _ count: Int? = nil) throws(WebAuthnError) -> [UInt8] {
            guard let b = value[label]?.bytesValue else { throw .malformed("COSE key parameter \(label) missing or not bytes") }
            if let count, b.count != count { throw .malformed("COSE key parameter \(label) is \(b.count) bytes, not \(count)") }
            return b
        }
        switch (alg, kty) {
        case (.es256, 2):
            guard value[-1]?.intValue == 1 else { throw .unsupportedAlgorithm }
            material = .p256(x: try bytes(-2, 32), y: try bytes(-3, 32))
        case (.edDSA, 1):
            guard value[-1]?.intValue == 6 else { throw .unsupportedAlgorithm }
            material = .ed25519(x: try bytes(-2, 32))
        case (.rs256, 3):
            let n = try bytes(-1), e = try bytes(-2)
            guard n.first != 0, e.first != 0, e.count <= 8 else { throw .malformed("RSA parameters not minimal") }
            material = .rsa(n: n, e: e)
        default:
            throw .malformed("COSE key type \(kty) does not fit algorithm \(alg.rawValue)")
        }
        algorithm = alg
        let key = try PublicKey(material)
        if case .rsa = material, key.bits < Self.minimumRSABits || key.bits > Self.maximumRSABits { throw .unsupportedAlgorithm }
    }

    /// Checks `signature` over `message` (ECDSA signatures are DER, as WebAuthn sends them).
    public func verify(signature: [UInt8], message: [UInt8]) throws(WebAuthnError) -> Bool {
        try PublicKey(material).verify(signature: signature, message: message, sha256: algorithm != .edDSA)
    }
}

/// One OpenSSL EVP_PKEY, freed with the object.
final class PublicKey {
    let pkey: OpaquePointer

    init(_ material: COSEKey.Material) throws(WebAuthnError) {
        let made: OpaquePointer?
        switch material {
        case let .p256(x, y):
            made = ([0x04] + x + y).withUnsafeBytes { authgate_pkey_p256($0.baseAddress, $0.count) }
        case let .ed25519(x):
            made = x.withUnsafeBytes { authgate_pkey_ed25519($0.baseAddress, $0.count) }
        case let .rsa(n, e):
            made = n.withUnsafeBytes { nb in e.withUnsafeBytes { eb in authgate_pkey_rsa(nb.baseAddress, nb.count, eb.baseAddress, eb.count) } }
        }
        guard let made else { throw .malformed("the credential public key is not a valid key") }
        pkey = made
    }

    /// The subject key of a DER certificate (packed attestation's x5c[0]).
    init(certificate der: [UInt8]) throws(WebAuthnError) {
        guard let made = der.withUnsafeBytes({ authgate_pkey_from_certificate($0.baseAddress, $0.count) }) else {
            throw .attestationInvalid
        }
        pkey = made
    }

    deinit { EVP_PKEY_free(pkey) }

    var bits: Int { Int(authgate_pkey_bits(pkey)) }

    func verify(signature: [UInt8], message: [UInt8], sha256: Bool) -> Bool {
        signature.withUnsafeBytes { s in
            message.withUnsafeBytes { m in
                authgate_pkey_verify(pkey, sha256 ? 1 : 0, m.baseAddress, m.count, s.baseAddress, s.count) == 1
            }
        }
    }
}
