#if canImport(Glibc)
import Glibc
#endif

/// What kind of bearer credential a string looks like (no verification). One rule, two entry
/// points: `classify` (the verify hot path, `String`) and `init(credential:)` (any string type).
public enum CredentialKind: Sendable {
    case jwt, apiKey, node, unknown

    public init(credential: some StringProtocol) {
        if credential.hasPrefix(CredentialKeys.apiKeyPrefix) {
            self = .apiKey
        } else if credential.hasPrefix(CredentialKeys.nodeKeyPrefix) {
            self = .node
        } else {
            self = Self.hasJWTShape(credential.utf8) ? .jwt : .unknown
        }
    }

    /// The same answer as `init(credential:)`, on the String's UTF-8 bytes with no allocation
    /// and no generic dispatch. (A generic initializer is not specialized across modules: it ran
    /// unspecialized, protocol-witness UTF-8 iteration, and was half of an in-process verify,
    /// profiled with perf.) A prefix followed by a non-ASCII byte (a combining mark could join
    /// the prefix's last character) falls back to `init(credential:)`, so the grapheme-based
    /// `hasPrefix` is honoured.
    public static func classify(_ credential: String) -> CredentialKind {
        var text = credential
        return text.withUTF8 { kind(utf8: $0) } ?? CredentialKind(credential: credential)
    }

    /// nil when only the grapheme-aware `hasPrefix` can decide.
    static func kind(utf8 b: UnsafeBufferPointer<UInt8>) -> CredentialKind? {
        func prefixed(_ p: StaticString) -> Bool? {
            let n = p.utf8CodeUnitCount
            guard b.starts(with: UnsafeBufferPointer(start: p.utf8Start, count: n)) else { return false }
            return b.count == n || b[n] < 0x80 ? true : nil
        }
        switch prefixed("2s_live_") {
        case true?: return .apiKey
        case nil: return nil
        case false?: break
        }
        switch prefixed("node_") {
        case true?: return .node
        case nil: return nil
        case false?: break
        }
        return hasJWTShape(contiguous: b) ? .jwt : .unknown
    }

    /// `hasJWTShape` on contiguous bytes, the dots found by `memchr` (a byte loop over a
    /// 250-byte token was 3.6k instructions of an allowed verify in the callgrind profile).
    static func hasJWTShape(contiguous b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = b.baseAddress else { return false }
        let n = b.count
        func dot(from i: Int) -> Int? {
            guard i < n, let p = memchr(base + i, Int32(UInt8(ascii: ".")), n - i) else { return nil }
            return UnsafeRawPointer(p) - UnsafeRawPointer(base)
        }
        // Three non-empty segments: a dot after at least one byte, another after at least one
        // more, at least one byte after it and no third dot.
        guard let first = dot(from: 0), first > 0, let second = dot(from: first + 1), second > first + 1,
              second + 1 < n else { return false }
        return dot(from: second + 1) == nil
    }

    /// Three non-empty segments separated by dots (the only place this shape is written).
    @inline(__always)
    static func hasJWTShape<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> Bool {
        var segments = 1
        var segmentLength = 0
        var emptySegment = false
        for c in bytes {
            if c == UInt8(ascii: ".") {
                if segmentLength == 0 { emptySegment = true }
                segments += 1
                segmentLength = 0
            } else {
                segmentLength += 1
            }
        }
        return segments == 3 && !emptySegment && segmentLength > 0
    }
}

/// API keys and node keys: random, shown once, stored only as SHA-256 digests.
public enum CredentialKeys {
    public static let apiKeyPrefix = "2s_live_"
    public static let nodeKeyPrefix = "node_"

    public static func newAPIKey() -> (raw: String, prefix: String, digest: String) {
        let raw = apiKeyPrefix + Base64URL.encode(Crypto.randomBytes(32))
        return (raw, String(raw.prefix(12)), digest(raw))
    }

    public static func newNodeKey() -> (raw: String, digest: String) {
        let raw = nodeKeyPrefix + Base64URL.encode(Crypto.randomBytes(32))
        return (raw, digest(raw))
    }

    public static func digest(_ raw: some StringProtocol) -> String {
        Crypto.hex(Crypto.sha256(Array(raw.utf8)))
    }
}

public enum UUIDs {
    /// A random (version 4) UUID in lowercase.
    public static func random() -> String {
        var b = Crypto.randomBytes(16)
        b[6] = b[6] & 0x0F | 0x40
        b[8] = b[8] & 0x3F | 0x80
        return format(b)
    }

    static func format(_ b: [UInt8]) -> String {
        let h = Array(Crypto.hex(b).utf8)
        var out = [UInt8]()
        out.reserveCapacity(36)
        for (i, c) in h.enumerated() {
            if i == 8 || i == 12 || i == 16 || i == 20 { out.append(UInt8(ascii: "-")) }
            out.append(c)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The 16 bytes of a UUID in 8-4-4-4-12 hex form (either case).
    static func bytes(_ s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count == 36 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(16)
        var high: UInt8?
        for (i, c) in u.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == UInt8(ascii: "-") else { return nil }
                continue
            }
            let v: UInt8
            switch c {
            case 0x30...0x39: v = c - 0x30
            case 0x41...0x46: v = c - 0x41 + 10
            case 0x61...0x66: v = c - 0x61 + 10
            default: return nil
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return out
    }
}
