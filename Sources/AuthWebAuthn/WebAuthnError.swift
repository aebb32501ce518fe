/// Why a registration or an assertion was refused. Every case is the client's doing (or its
/// authenticator's): the API answers 4xx with `code`, never 5xx.
public enum WebAuthnError: Error, Equatable, Sendable {
    /// Bytes that do not parse: CBOR, JSON, authenticator data, COSE key, base64url. The reason is
    /// for logs and tests; the API shows only the code.
    case malformed(String)
    /// clientData.type is not "webauthn.create" (registration) or "webauthn.get" (assertion).
    case wrongType
    case challengeMismatch
    case originNotAllowed
    /// clientData.crossOrigin is true: the ceremony ran in a cross-origin iframe, which we never embed.
    case crossOriginNotAllowed
    case rpIDHashMismatch
    case userNotPresent
    case userNotVerified
    /// A COSE algorithm or key type other than ES256/P-256, EdDSA/Ed25519, RS256 (RSA of 2048 to 4096 bits).
    case unsupportedAlgorithm
    case badSignature
    /// Both sign counts are non-zero and the new one is not above the stored one: a possible clone.
    case signCountRegressed
    /// An attestation format we do not verify (only "none" and "packed" are).
    case attestationUnsupported
    /// A "packed" attestation statement whose signature or algorithm does not check out.
    case attestationInvalid

    /// Stable snake_case code for the API (never renamed once shipped).
    public var code: String {
        switch self {
        case .malformed: "webauthn_malformed"
        case .wrongType: "webauthn_wrong_type"
        case .challengeMismatch: "webauthn_challenge_mismatch"
        case .originNotAllowed: "webauthn_origin_not_allowed"
        case .crossOriginNotAllowed: "webauthn_cross_origin"
        case .rpIDHashMismatch: "webauthn_rp_id_mismatch"
        case .userNotPresent: "webauthn_user_not_present"
        case .userNotVerified: "webauthn_user_not_verified"
        case .unsupportedAlgorithm: "webauthn_unsupported_algorithm"
        case .badSignature: "webauthn_bad_signature"
        case .signCountRegressed: "webauthn_sign_count_regressed"
        case .attestationUnsupported: "webauthn_attestation_unsupported"
        case .attestationInvalid: "webauthn_attestation_invalid"
        }
    }
}

/// A relying-party configuration refused at start, with the reason in words.
public struct WebAuthnConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
