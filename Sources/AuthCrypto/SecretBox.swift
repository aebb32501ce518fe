import COpenSSL

/// AES-256-GCM sealing of small secrets at rest (TOTP seeds), keyed by the secrets file
/// (`AUTH_SECRETS_FILE`): a key ring in the JWT ring's format (`kid:base64url`, 32+ bytes a
/// line, mode 0600 or refused). The last key seals; every key opens, so a rotation appends a
/// key, `authgate secrets rewrap` re-seals every row under it, and the old line can then go.
///
/// Sealed form: `v1.<kid>.<base64url(nonce 12 ‖ ciphertext ‖ tag 16)>`. The associated data
/// binds the value to its row (`context`, e.g. the factor id), so a sealed seed copied onto
/// another row does not open.
public enum SecretBox {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The first 32 bytes of the key line's secret are the AES key.
    public static func seal(_ plaintext: [UInt8], context: String, ring: KeyRing) -> String {
        let key = ring.signing
        let nonce = Crypto.randomBytes(12)
        var out = [UInt8](repeating: 0, count: plaintext.count)
        var tag = [UInt8](repeating: 0, count: 16)
        let aad = Array(context.utf8)
        let ok = run(encrypt: true, key: key.secret, nonce: nonce, aad: aad, input: plaintext, output: &out, tag: &tag)
        guard ok else { fatalError("OpenSSL: AES-256-GCM seal failed") }
        return "v1.\(key.kid).\(Base64URL.encode(nonce + out + tag))"
    }

    public static func open(_ sealed: String, context: String, ring: KeyRing) throws(Failure) -> [UInt8] {
        let parts = sealed.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", let blob = Base64URL.decode(parts[2]), blob.count >= 28 else {
            throw Failure(description: "sealed secret: malformed")
        }
        guard let key = ring.key(kid: parts[1]) else {
            throw Failure(description: "sealed secret: key \(parts[1]) is not in the secrets file")
        }
        let nonce = Array(blob[0..<12])
        let body = Array(blob[12..<(blob.count - 16)])
        var tag = Array(blob[(blob.count - 16)...])
        var out = [UInt8](repeating: 0, count: body.count)
        guard run(encrypt: false, key: key.secret, nonce: nonce, aad: Array(context.utf8), input: body, output: &out, tag: &tag) else {
            throw Failure(description: "sealed secret: authentication failed (wrong key or altered value)")
        }
        return out
    }

    /// The kid a sealed value names (rewrap skips values already under the sealing key).
    public static func kid(of sealed: String) -> String? {
        let parts = sealed.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 3 && parts[0] == "v1" ? String(parts[1]) : nil
    }

    /// Raw AES-256-GCM (tests check it against the GCM paper's vectors).
    static func run(encrypt: Bool, key: [UInt8], nonce: [UInt8], aad: [UInt8], input: [UInt8],
                            output: inout [UInt8], tag: inout [UInt8]) -> Bool {
        precondition(key.count >= 32 && nonce.count == 12 && tag.count == 16)
        return key.withUnsafeBytes { k in
            nonce.withUnsafeBytes { n in
                aad.withUnsafeBytes { a in
                    input.withUnsafeBytes { i in
                        output.withUnsafeMutableBytes { o in
                            tag.withUnsafeMutableBytes { t in
                                authgate_aes256gcm(encrypt ? 1 : 0, k.baseAddress, n.baseAddress, a.baseAddress, a.count,
                                                   i.baseAddress, i.count, o.baseAddress, t.baseAddress) == 1
                            }
                        }
                    }
                }
            }
        }
    }
}
