import Synchronization

/// Silent renewal at a browser location is a database write reached by any request with a
/// refresh cookie (review finding 9). This bounds it to one rotation attempt a second per
/// session, per process: the attempt runs under its session's stripe lock, so requests racing
/// it (a page's parallel loads) wait for it and are handed the same renewal; any other attempt
/// within the second is refused without touching the database (the access cookie, while still
/// good, keeps serving). Bounded memory: entries live one second, and a stripe that still holds
/// `maxPerStripe` live ones refuses new sessions until they age out.
final class RenewalThrottle: Sendable {
    /// What a renewal hands the browser (the access token for the identity, both cookie lines).
    struct Renewal: Sendable {
        var accessToken: String
        var cookies: (access: String, refresh: String)?
    }

    struct Entry {
        var at: Int64
        var counter: UInt64
        var renewal: Renewal?
    }

    static let windowNanos: Int64 = 1_000_000_000
    static let stripeCount = 64
    let maxPerStripe: Int
    private final class Stripe: Sendable {
        let entries = Mutex<[String: Entry]>([:])
    }
    private let stripes: [Stripe]

    init(maxPerStripe: Int = 1024) {
        self.maxPerStripe = maxPerStripe
        stripes = (0..<Self.stripeCount).map { _ in Stripe() }
    }

    /// Runs `rotate` for (session, presented counter) unless an attempt for that session ran
    /// within the last second: then the same refresh token gets that attempt's renewal, and
    /// anything else `.throttled`. `rotate` runs holding the session's stripe.
    func renew(sessionID: String, counter: UInt64, now: Int64,
               _ rotate: () throws(AuthError) -> Renewal) throws(AuthError) -> Renewal {
        var hasher = Hasher()
        hasher.combine(sessionID)
        let stripe = stripes[Int(UInt(bitPattern: hasher.finalize()) % UInt(Self.stripeCount))]
        return try stripe.entries.withLock { (entries: inout [String: Entry]) throws(AuthError) -> Renewal in
            if let last = entries[sessionID], now - last.at < Self.windowNanos {
                if let renewal = last.renewal, last.counter == counter { return renewal }
                throw AuthError.invalidToken("renewal throttled")
            }
            if entries.count >= maxPerStripe {
                entries = entries.filter { now - $0.value.at < Self.windowNanos }
                guard entries.count < maxPerStripe else { throw AuthError.invalidToken("renewal throttled") }
            }
            entries[sessionID] = Entry(at: now, counter: counter, renewal: nil)
            let renewal = try rotate()
            entries[sessionID]?.renewal = renewal
            return renewal
        }
    }
}
