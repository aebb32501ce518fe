import COpenSSL

/// An OpenSSL algorithm object fetched once per process; OpenSSL allows sharing it between threads.
final class FetchedAlgorithm: @unchecked Sendable {
    let pointer: OpaquePointer

    init(md name: String) {
        guard let md = EVP_MD_fetch(nil, name, nil) else { fatalError("OpenSSL: cannot fetch digest \(name)") }
        pointer = md
    }

}

let sha256Algorithm = FetchedAlgorithm(md: "SHA256")
let sha1Algorithm = FetchedAlgorithm(md: "SHA1")

/// A pre-keyed HMAC-SHA256 (inner and outer pad blocks already hashed). The state is written
/// once in `init` and only read afterwards (each message copies it onto the stack), so one
/// instance is safe to share between threads, and MACing a message allocates nothing.
final class HMACSHA256Key: @unchecked Sendable {
    private let state: UnsafeMutablePointer<authgate_hmac_sha256_key>

    init?(_ key: [UInt8]) {
        let state = UnsafeMutablePointer<authgate_hmac_sha256_key>.allocate(capacity: 1)
        let ok = key.withUnsafeBytes { authgate_hmac_sha256_key_init(state, $0.baseAddress, $0.count) }
        guard ok == 1 else {
            state.deallocate()
            return nil
        }
        self.state = state
    }

    deinit {
        authgate_cleanse(state, MemoryLayout<authgate_hmac_sha256_key>.size)
        state.deallocate()
    }

    func authenticate<C: ContiguousByteSource>(_ data: C) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let ok = data.withUnsafeBytes { input in
            out.withUnsafeMutableBytes { output in
                authgate_hmac_sha256_mac(state, input.baseAddress, input.count, output.baseAddress)
            }
        }
        guard ok == 1 else { fatalError("OpenSSL: HMAC-SHA256 failed") }
        return out
    }
}

/// Minimal stand-in for Foundation's protocol so both arrays and slices can be MACed without copying.
protocol ContiguousByteSource {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}
extension Array: ContiguousByteSource where Element == UInt8 {}
extension ArraySlice: ContiguousByteSource where Element == UInt8 {}

public enum Crypto {
    /// Bytes from OpenSSL's CSPRNG. A failing CSPRNG is unrecoverable: we stop rather than mint weak secrets.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0)
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBytes { authgate_random($0.baseAddress, $0.count) }
        guard ok == 1 else { fatalError("OpenSSL: RAND_bytes failed") }
        return out
    }

    public static func sha256(_ data: [UInt8]) -> [UInt8] { digest(data, sha256Algorithm, size: 32) }

    /// SHA-1 is only for the WebSocket handshake (RFC 6455 `Sec-WebSocket-Accept`).
    public static func sha1(_ data: [UInt8]) -> [UInt8] { digest(data, sha1Algorithm, size: 20) }

    public static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        guard let mac = HMACSHA256Key(key) else { fatalError("OpenSSL: HMAC-SHA256 key setup failed") }
        return mac.authenticate(data)
    }

    /// OpenSSL's one-shot `HMAC()`: slower, used to cross-check the precomputed-key path in tests.
    static func hmacSHA256OneShot(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let ok = key.withUnsafeBytes { k in
            data.withUnsafeBytes { d in
                out.withUnsafeMutableBytes { o in
                    authgate_hmac_sha256_oneshot(k.baseAddress, k.count, d.baseAddress, d.count, o.baseAddress)
                }
            }
        }
        guard ok == 1 else { fatalError("OpenSSL: HMAC failed") }
        return out
    }

    /// Constant time for equal lengths; a length mismatch answers false at once (lengths are public here).
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in authgate_memcmp(x.baseAddress, y.baseAddress, x.count) == 0 }
        }
    }

    static func constantTimeEqual(_ a: ArraySlice<UInt8>, _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in authgate_memcmp(x.baseAddress, y.baseAddress, x.count) == 0 }
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    public static func hex(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Overwrites a secret in place (best effort: Swift may have made copies).
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { authgate_cleanse($0.baseAddress, $0.count) }
    }

    private static func digest(_ data: [UInt8], _ md: FetchedAlgorithm, size: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        let ok = data.withUnsafeBytes { input in
            out.withUnsafeMutableBytes { output in
                authgate_digest(md.pointer, input.baseAddress, input.count, output.baseAddress, UInt32(size))
            }
        }
        guard ok == 1 else { fatalError("OpenSSL: digest failed") }
        return out
    }
}
