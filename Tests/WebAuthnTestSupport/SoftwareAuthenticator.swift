import AuthCrypto
import AuthWebAuthn
import COpenSSL

/// A WebAuthn authenticator in software for tests: an OpenSSL key pair (ES256 on P-256, EdDSA on
/// Ed25519 or RS256 with RSA), a credential ID, a sign counter, and the bytes a browser would
/// send for `navigator.credentials.create()` / `.get()`: clientDataJSON, the attestation object
/// or authenticator data and signature, and the JSON of the PublicKeyCredential (`toJSON()`, all
/// byte fields base64url). `Options` bends each part so a test can make every refusal.
public final class SoftwareAuthenticator: @unchecked Sendable {
    public let algorithm: COSEAlgorithm
    public let credentialID: [UInt8]
    public let aaguid: [UInt8]
    /// The counter the last assertion reported (each assertion increments it first, like a real
    /// authenticator); it stays put with `counting: false` (synced passkeys report 0). Safe to use
    /// from several threads at once (concurrency tests).
    public var signCount: UInt32 { counter.withLock { $0 } }
    public let counting: Bool
    private let counter: Locked<UInt32>
    private let key: OwnedKey

    public init(algorithm: COSEAlgorithm = .es256, credentialID: [UInt8]? = nil, signCount: UInt32 = 0,
                counting: Bool = true, aaguid: [UInt8] = Array(repeating: 0, count: 16), rsaBits: Int = 2048) {
        self.algorithm = algorithm
        self.credentialID = credentialID ?? Crypto.randomBytes(32)
        counter = Locked(signCount)
        self.counting = counting
        self.aaguid = aaguid
        let kind = switch algorithm {
        case .es256: Int32(AUTHGATE_KEY_P256)
        case .edDSA: Int32(AUTHGATE_KEY_ED25519)
        case .rs256: Int32(AUTHGATE_KEY_RSA)
        }
        key = OwnedKey(kind: kind, rsaBits: UInt32(rsaBits))
    }

    /// How to bend the ceremony (each default is what a browser and a good authenticator do).
    public struct Options: Sendable {
        public var type: String?
        public var userPresent = true
        public var userVerified = true
        public var backupEligible = false
        public var backupState = false
        /// Overrides the counter reported (assertion) without touching the authenticator's own.
        public var signCount: UInt32?
        public var crossOrigin: Bool? = false
        /// "none" or "packed" (self attestation, signed by the credential key); any other string
        /// is sent as the format with an empty statement.
        public var attestationFormat = "none"
        /// Hash of this RP ID instead of the one asked for.
        public var rpIDForHash: String?
        /// Overrides the COSE algorithm written into the credential public key.
        public var coseAlgorithm: Int?
        public var userHandle: [UInt8]?
        public init() {}
    }

    /// The COSE_Key of the credential public key (CTAP2 canonical: keys in length-then-value order).
    public func cosePublicKey(algorithm alg: Int? = nil) -> [UInt8] {
        let a = CBOR.int(Int64(alg ?? algorithm.rawValue))
        switch algorithm {
        case .es256:
            return CBOR.map([(.int(1), .int(2)), (.int(3), a), (.int(-1), .int(1)),
                             (.int(-2), .bytes(key.bnParam("qx", pad: 32))), (.int(-3), .bytes(key.bnParam("qy", pad: 32)))]).encoded()
        case .edDSA:
            return CBOR.map([(.int(1), .int(1)), (.int(3), a), (.int(-1), .int(6)), (.int(-2), .bytes(key.rawPublic()))]).encoded()
        case .rs256:
            return CBOR.map([(.int(1), .int(3)), (.int(3), a), (.int(-1), .bytes(key.bnParam("n", pad: 0))),
                             (.int(-2), .bytes(key.bnParam("e", pad: 0)))]).encoded()
        }
    }

    public func sign(_ message: [UInt8]) -> [UInt8] { key.sign(message, sha256: algorithm != .edDSA) }

    public struct Registration: Sendable {
        public let clientDataJSON: [UInt8]
        public let attestationObject: [UInt8]
        public let authenticatorData: [UInt8]
        /// The PublicKeyCredential as `toJSON()` gives it (RegistrationResponseJSON).
        public let json: String

        public init(clientDataJSON: [UInt8], attestationObject: [UInt8], authenticatorData: [UInt8], json: String) {
            self.clientDataJSON = clientDataJSON
            self.attestationObject = attestationObject
            self.authenticatorData = authenticatorData
            self.json = json
        }
    }

    public struct Assertion: Sendable {
        public let clientDataJSON: [UInt8]
        public let authenticatorData: [UInt8]
        public let signature: [UInt8]
        public let userHandle: [UInt8]?
        /// The PublicKeyCredential as `toJSON()` gives it (AuthenticationResponseJSON).
        public let json: String

        public init(clientDataJSON: [UInt8], authenticatorData: [UInt8], signature: [UInt8], userHandle: [UInt8]?, json: String) {
            self.clientDataJSON = clientDataJSON
            self.authenticatorData = authenticatorData
            self.signature = signature
            self.userHandle = userHandle
            self.json = json
        }
    }

    public func makeRegistration(challenge: [UInt8], origin: String, rpID: String, options: Options = Options()) -> Registration {
        let clientData = Self.clientData(type: options.type ?? "webauthn.create", challenge: challenge, origin: origin,
                                         crossOrigin: options.crossOrigin)
        var authData = authenticatorData(rpID: options.rpIDForHash ?? rpID, options: options, attested: true, count: options.signCount ?? signCount)
        let credentialKey = cosePublicKey(algorithm: options.coseAlgorithm)
        authData += aaguid + [UInt8(credentialID.count >> 8), UInt8(credentialID.count & 0xFF)] + credentialID + credentialKey
        var statement: [(CBOR, CBOR)] = []
        if options.attestationFormat == "packed" {
            let sig = sign(authData + Crypto.sha256(clientData))
            statement = [(.text("alg"), .int(Int64(algorithm.rawValue))), (.text("sig"), .bytes(sig))]
        }
        let object = CBOR.map([(.text("fmt"), .text(options.attestationFormat)), (.text("attStmt"), .map(statement)),
                               (.text("authData"), .bytes(authData))]).encoded()
        let json = JSON.object([
            ("id", .string(Base64URL.encode(credentialID))), ("rawId", .string(Base64URL.encode(credentialID))),
            ("type", .string("public-key")),
            ("response", .object([
                ("clientDataJSON", .string(Base64URL.encode(clientData))),
                ("attestationObject", .string(Base64URL.encode(object))),
                ("authenticatorData", .string(Base64URL.encode(authData))),
                ("publicKeyAlgorithm", .int(Int64(algorithm.rawValue))),
                ("transports", .array([.string("internal")])),
            ])),
            ("authenticatorAttachment", .string("platform")), ("clientExtensionResults", .object([])),
        ]).encodedString
        return Registration(clientDataJSON: clientData, attestationObject: object, authenticatorData: authData, json: json)
    }

    public func makeAssertion(challenge: [UInt8], origin: String, rpID: String, options: Options = Options()) -> Assertion {
        let count = counter.withLock { c -> UInt32 in
            if counting { c &+= 1 }
            return c
        }
        let clientData = Self.clientData(type: options.type ?? "webauthn.get", challenge: challenge, origin: origin,
                                         crossOrigin: options.crossOrigin)
        let authData = authenticatorData(rpID: options.rpIDForHash ?? rpID, options: options, attested: false,
                                         count: options.signCount ?? count)
        let signature = sign(authData + Crypto.sha256(clientData))
        var response: [(String, JSON)] = [
            ("clientDataJSON", .string(Base64URL.encode(clientData))),
            ("authenticatorData", .string(Base64URL.encode(authData))),
            ("signature", .string(Base64URL.encode(signature))),
        ]
        if let handle = options.userHandle { response.append(("userHandle", .string(Base64URL.encode(handle)))) }
        let json = JSON.object([
            ("id", .string(Base64URL.encode(credentialID))), ("rawId", .string(Base64URL.encode(credentialID))),
            ("type", .string("public-key")), ("response", .object(response)),
            ("authenticatorAttachment", .string("platform")), ("clientExtensionResults", .object([])),
        ]).encodedString
        return Assertion(clientDataJSON: clientData, authenticatorData: authData, signature: signature,
                         userHandle: options.userHandle, json: json)
    }

    /// The clientDataJSON Chromium writes: type, challenge, origin, crossOrigin, in that order.
    public static func clientData(type: String, challenge: [UInt8], origin: String, crossOrigin: Bool?) -> [UInt8] {
        var fields: [(String, JSON)] = [("type", .string(type)), ("challenge", .string(Base64URL.encode(challenge))),
                                        ("origin", .string(origin))]
        if let crossOrigin { fields.append(("crossOrigin", .bool(crossOrigin))) }
        return JSON.object(fields).encoded()
    }

    private func authenticatorData(rpID: String, options: Options, attested: Bool, count: UInt32) -> [UInt8] {
        var flags: UInt8 = 0
        if options.userPresent { flags |= 0x01 }
        if options.userVerified { flags |= 0x04 }
        if options.backupEligible { flags |= 0x08 }
        if options.backupState { flags |= 0x10 }
        if attested { flags |= 0x40 }
        return Crypto.sha256(Array(rpID.utf8)) + [flags, UInt8(count >> 24), UInt8(count >> 16 & 0xFF),
                                                  UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)]
    }
}

/// One generated OpenSSL key pair, freed with the object.
final class OwnedKey: @unchecked Sendable {
    let pkey: OpaquePointer

    init(kind: Int32, rsaBits: UInt32) {
        guard let made = authgate_pkey_generate(kind, rsaBits) else { fatalError("OpenSSL: key generation failed") }
        pkey = made
    }

    deinit { EVP_PKEY_free(pkey) }

    func bnParam(_ name: String, pad: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 1024)
        var len = out.count
        let ok = out.withUnsafeMutableBytes { authgate_pkey_bn_param(pkey, name, pad, $0.baseAddress, &len) }
        guard ok == 1 else { fatalError("OpenSSL: no key parameter \(name)") }
        return Array(out[0..<len])
    }

    func rawPublic() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        var len = out.count
        let ok = out.withUnsafeMutableBytes { authgate_pkey_raw_public(pkey, $0.baseAddress, &len) }
        guard ok == 1 else { fatalError("OpenSSL: no raw public key") }
        return Array(out[0..<len])
    }

    func sign(_ message: [UInt8], sha256: Bool) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 1024)
        var len = out.count
        let ok = message.withUnsafeBytes { m in
            out.withUnsafeMutableBytes { authgate_pkey_sign(pkey, sha256 ? 1 : 0, m.baseAddress, m.count, $0.baseAddress, &len) }
        }
        guard ok == 1 else { fatalError("OpenSSL: signing failed") }
        return Array(out[0..<len])
    }
}
