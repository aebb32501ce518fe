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

    /// A verified token and what an allowed verify derives from its claims alone, made once per
    /// token instead of per verify: the session id's key (the revoked-set lookup) and the
    /// identity acting in the token's own tenant (its box shared by every verify of the token: a
    /// door that changes a field copies it first). One object per slot: a hit retains it once,
    /// where copying the claims out retained each of their strings.
    final class Entry {
        let token: String
        let claims: AccessClaims
        let sessionKey: SessionKey?
        let ownTenantIdentity: Identity

        init(token: String, claims: AccessClaims) {
            self.token = token
            self.claims = claims
            sessionKey = SessionKey(claims.sid)
            ownTenantIdentity = Identity.user(claims, tenant: claims.tid)
        }
    }

    /// This worker's view of the key ring store (no shared mutex on the hot path).
    var ringCache = KeyRingStore.Snapshot()
    /// The slots (nil when vacant), allocated on the first remember: a pointer, not an array
    /// property, so a lookup is neither bounds- nor exclusivity-checked at run time.
    private var slots: UnsafeMutablePointer<Entry?>?
    private var ringKids: [String] = []
    private var ringSecrets: [[UInt8]] = []

    deinit {
        if let slots {
            slots.deinitialize(count: Self.capacity)
            slots.deallocate()
        }
    }

    func claims(for token: String, ring: KeyRing) -> AccessClaims? { entry(for: token, ring: ring)?.claims }

    /// The entry of `token` verified under `ring`, if this worker remembers it.
    func entry(for token: String, ring: KeyRing) -> Entry? {
        guard let slots, let slot = Self.slot(token), let entry = slots[slot], entry.token == token, sameRing(ring) else { return nil }
        return entry
    }

    /// Remembers a verified token; its entry (also when it is too short to be remembered).
    @discardableResult
    func remember(_ token: String, _ verified: AccessClaims, ring: KeyRing) -> Entry {
        let entry = Entry(token: token, claims: verified)
        guard let slot = Self.slot(token) else { return entry }
        if slots == nil || !sameRing(ring) {
            if slots == nil {
                slots = .allocate(capacity: Self.capacity)
            } else {
                slots!.deinitialize(count: Self.capacity)
            }
            slots!.initialize(repeating: nil, count: Self.capacity)
            ringKids = ring.keys.map(\.kid)
            ringSecrets = ring.keys.map(\.secret)
        }
        slots![slot] = entry
        return entry
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
