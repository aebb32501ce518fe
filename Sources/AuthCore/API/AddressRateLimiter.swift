import AuthCrypto

/// A token bucket per client address (`REMOTE_ADDR`), in memory, per process: the limit on the
/// routes that hash a password whatever sits in front of the responder (nginx with or without
/// the browser snippet, Apache, lighttpd). Bounded: past `maxAddresses` buckets, full ones
/// (the same as absent) are swept at most once a second, and any address that still finds no
/// room shares one overflow bucket.
public final class AddressRateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var at: Double
    }

    struct Table {
        var buckets: [String: Bucket] = [:]
        var lastSweep: Double = 0
    }

    public let limit: RateLimit
    let maxAddresses: Int
    private let table = Locked(Table())
    static let overflowKey = "(overflow)"

    public init(_ limit: RateLimit, maxAddresses: Int = 65_536) {
        self.limit = limit
        self.maxAddresses = maxAddresses
    }

    /// Takes one token for `address`: nil when allowed, else the seconds to wait (Retry-After).
    public func take(_ address: String, now: Double) -> Int? {
        table.withLock { t in
            var key = address
            if t.buckets[key] == nil && t.buckets.count >= maxAddresses {
                if now - t.lastSweep >= 1 {
                    t.lastSweep = now
                    t.buckets = t.buckets.filter { !isFull($0.value, now: now) }
                }
                if t.buckets.count >= maxAddresses { key = Self.overflowKey }
            }
            var b = t.buckets[key] ?? Bucket(tokens: Double(limit.burst), at: now)
            b.tokens = min(Double(limit.burst), b.tokens + max(0, now - b.at) * limit.perSecond)
            b.at = now
            guard b.tokens >= 1 else {
                t.buckets[key] = b
                return max(1, Int(((1 - b.tokens) / limit.perSecond).rounded(.up)))
            }
            b.tokens -= 1
            t.buckets[key] = b
            return nil
        }
    }

    /// Addresses with a bucket now (metrics and tests).
    public var trackedAddresses: Int { table.withLock { $0.buckets.count } }

    private func isFull(_ b: Bucket, now: Double) -> Bool {
        b.tokens + max(0, now - b.at) * limit.perSecond >= Double(limit.burst)
    }
}
