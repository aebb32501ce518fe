import AuthCrypto

/// Silent renewal at a browser location is a database write reached by any request with a
/// refresh cookie (review finding 9). This bounds it to one rotation attempt a second per
/// session, per process: the attempt runs under its session's stripe lock, so requests racing
/// it (a page's parallel loads) wait for it and are handed the same renewal; any other attempt
/// within the second is refused without touching the database (the access cookie, while still
/// good, keeps serving). Bounded memory: entries live one second (a stripe past `sweepAbove`
/// entries drops the expired ones), and a stripe that still holds `maxPerStripe` live ones
/// refuses new sessions until they age out.
final class RenewalThrottle: Sendable {
    /// What a renewal hands the browser (the access token for the identity, both cookie lines).
    struct Renewal: Sendable {
        var accessToken: String
        var claims: AccessClaims
        var cookies: (access: String, refresh: String)?
    }

    enum Outcome {
        case pending
        case renewed(Renewal)
        /// The location's policy refused the session's user (nothing rotated): the same token
        /// is judged on this user, in memory, for the rest of the second.
        case denied(User)
        case failed
    }

    struct Entry {
        var at: Int64
        var counter: UInt64
        var outcome: Outcome
    }

    static let windowNanos: Int64 = 1_000_000_000
    static let stripeCount = 64
    static let sweepAbove = 16
    let maxPerStripe: Int
    private let stripes: [Locked<[String: Entry]>]

    init(maxPerStripe: Int = 1024) {
        self.maxPerStripe = maxPerStripe
        stripes = (0..<Self.stripeCount).map { _ in Locked([:]) }
    }

    /// Runs `rotate` for (session, presented counter) unless an attempt for that session ran
    /// within the last second: then the same refresh token gets that attempt's renewal (or, when
    /// the policy refused it, `admit` judges the same user again in memory and only a user it now
    /// admits goes on to rotate), and anything else is refused. `rotate` runs holding the
    /// session's stripe; it names the user when the policy refused.
    func renew(sessionID: String, counter: UInt64, now: Int64, admit: (User) throws(AuthError) -> Void,
               _ rotate: (inout User?) throws(AuthError) -> Renewal) throws(AuthError) -> Renewal {
        var hasher = Hasher()
        hasher.combine(sessionID)
        let stripe = stripes[Int(UInt(bitPattern: hasher.finalize()) % UInt(Self.stripeCount))]
        return try stripe.withLock { (entries: inout [String: Entry]) throws(AuthError) -> Renewal in
            if let last = entries[sessionID], now - last.at < Self.windowNanos {
                switch last.outcome {
                case let .renewed(renewal) where last.counter == counter: return renewal
                case let .denied(user) where last.counter == counter: try admit(user)
                default: throw AuthError.invalidToken("renewal throttled")
                }
            }
            // Expired entries go early (they hold a refresh token for a second only), and a
            // stripe that is still full refuses a new session until its entries age out.
            if entries.count >= Self.sweepAbove {
                entries = entries.filter { now - $0.value.at < Self.windowNanos }
                guard entries.count < maxPerStripe else { throw AuthError.invalidToken("renewal throttled") }
            }
            entries[sessionID] = Entry(at: now, counter: counter, outcome: .pending)
            var denied: User?
            do throws(AuthError) {
                let renewal = try rotate(&denied)
                entries[sessionID]?.outcome = .renewed(renewal)
                return renewal
            } catch {
                entries[sessionID]?.outcome = denied.map { .denied($0) } ?? .failed
                throw error
            }
        }
    }
}
