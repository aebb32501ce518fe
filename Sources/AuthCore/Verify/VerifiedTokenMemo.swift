import AuthCrypto

/// Per-worker memo of access tokens whose signature and claims `JWT.verify` accepted, so a
/// token seen again by the same worker costs a dictionary lookup instead of base64 + JSON +
/// HMAC (profiled: JWT.verify was the largest part of an allowed verify after the transport).
/// Valid only for the key ring it was filled under: any change to the ring (rotation, a key
/// removed or replaced) empties it. Bounded: emptied when full. Not shared between threads.
final class VerifiedTokenMemo {
    static let capacity = 1024
    /// This worker's view of the key ring store (no shared mutex on the hot path).
    var ringCache = KeyRingStore.Snapshot()
    private var entries: [String: AccessClaims] = [:]
    private var ringKids: [String] = []
    private var ringSecrets: [[UInt8]] = []

    func claims(for token: String, ring: KeyRing) -> AccessClaims? {
        guard !entries.isEmpty, sameRing(ring) else { return nil }
        return entries[token]
    }

    func remember(_ token: String, _ claims: AccessClaims, ring: KeyRing) {
        if !sameRing(ring) {
            entries.removeAll(keepingCapacity: true)
            ringKids = ring.keys.map(\.kid)
            ringSecrets = ring.keys.map(\.secret)
        }
        if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
        entries[token] = claims
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
