/// `AUTH_RATE_LIMIT`: the responder's own per-address limit on the routes that hash a password
/// (and the cookie renewal route), as nginx's `limit_req` spells it: `10r/s burst=20`
/// (the default), `30r/m burst=5`, or `off`.
public struct RateLimit: Sendable, Equatable {
    /// Tokens added per second.
    public var perSecond: Double
    /// Bucket size: this many requests at once from one address before the rate applies.
    public var burst: Int

    /// `10r/s burst=20`, nginx's login limit (render-nginx.sh's LOGIN_RATE / LOGIN_BURST).
    public static let `default` = RateLimit(perSecond: 10, burst: 21)

    public init(perSecond: Double, burst: Int) {
        self.perSecond = perSecond
        self.burst = burst
    }

    /// nil for `off`; throws for anything else that is not `<n>r/s|r/m [burst=<n>]`.
    public static func parse(_ text: String) throws -> RateLimit? {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," })
        if words.count == 1 && words[0] == "off" { return nil }
        let bad = ConfigError("AUTH_RATE_LIMIT must look like 10r/s burst=20 (or r/m, or off), got '\(text)'")
        guard (1...2).contains(words.count) else { throw bad }
        let rate = words[0]
        let perMinute = rate.hasSuffix("r/m")
        guard rate.hasSuffix("r/s") || perMinute, let n = Int(rate.dropLast(3)), n > 0, n <= 1_000_000 else { throw bad }
        var burst = 0
        if words.count == 2 {
            guard words[1].hasPrefix("burst="), let b = Int(words[1].dropFirst(6)), b >= 0, b <= 1_000_000 else { throw bad }
            burst = b
        }
        // nginx's burst counts requests beyond the first; here the bucket also holds that first one.
        return RateLimit(perSecond: perMinute ? Double(n) / 60 : Double(n), burst: burst + 1)
    }
}
