import AuthCrypto

/// Per-worker memo of access tokens whose signature and claims `JWT.verify` accepted, so a
/// token seen again by the same worker costs one slot's comparison instead of base64 + JSON +
/// HMAC (profiled: JWT.verify was the largest part of an allowed verify after the transport).
/// Valid only for the key ring it was filled under: any change to the ring (rotation, a key
/// removed or replaced) empties it. Not shared between threads.
///
/// Direct-mapped, not a dictionary: a token's slot comes from its last 8 bytes (the tail of its
/// HMAC, which nobody without the key chooses), and the slot holds the whole token, compared in
/// full. Hashing the whole token with `Hasher` was 3.8k of the instructions an allowed verify
/// cost (`scripts/bench/callgrind-verify.sh`); this is one multiply and one `memcmp`. Bounded
/// by construction: a token whose slot is taken replaces the one there.
final class VerifiedTokenMemo {
    static let capacity = 1024   // slots; a power of two
    private static let shift = UInt64(64 - capacity.trailingZeroBitCount)
    /// This worker's view of the key ring store (no shared mutex on the hot path).
    var ringCache = KeyRingStore.Snapshot()
    /// Slot i: a verified token ("" when vacant) and its claims. Allocated on the first remember.
    private var tokens: [String] = []
    private var claims: [AccessClaims?] = []
    private var ringKids: [String] = []
    private var ringSecrets: [[UInt8]] = []

    func claims(for token: String, ring: KeyRing) -> AccessClaims? {
        guard !tokens.isEmpty, let slot = Self.slot(token), tokens[slot] == token, sameRing(ring) else { return nil }
        return claims[slot]
    }

    func remember(_ token: String, _ verified: AccessClaims, ring: KeyRing) {
        guard let slot = Self.slot(token) else { return }
        if tokens.isEmpty || !sameRing(ring) {
            tokens = Array(repeating: "", count: Self.capacity)
            claims = Array(repeating: nil, count: Self.capacity)
            ringKids = ring.keys.map(\.kid)
            ringSecrets = ring.keys.map(\.secret)
        }
        tokens[slot] = token
        claims[slot] = verified
    }

    /// The slot of a token of at least 16 bytes (no JWT is shorter), from its last 8 bytes
    /// (Fibonacci hashing); nil for a shorter one or a string without contiguous UTF-8 (not memoized).
    @inline(__always)
    private static func slot(_ token: String) -> Int? {
        token.utf8.withContiguousStorageIfAvailable { b -> Int? in
            guard b.count >= 16, let base = b.baseAddress else { return nil }
            let tail = UnsafeRawPointer(base + (b.count - 8)).loadUnaligned(as: UInt64.self)
            return Int(truncatingIfNeeded: (tail &* 0x9E37_79B9_7F4A_7C15) >> shift)
        } ?? nil
    }

    /// Same kids and secrets in the same order (arrays shared with the cached ring compare by identity first).
    private func sameRing(_ ring: KeyRing) -> Bool {
        let keys = ring.keys
        guard keys.count == ringKids.count else { return false }
        for i in keys.indices where keys[i].kid != ringKids[i] || keys[i].secret != ringSecrets[i] {
            return false
        }
        return true
    }
}
