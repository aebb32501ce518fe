import Foundation

/// The connection reader's limits, from the environment (like AUTH_LISTEN_TCP: transport knobs,
/// not config-file keys). Generous on purpose: a web server starved of CPU for a second still
/// gets its request read; only a client that holds a connection without finishing a request is cut.
struct TransportLimits: Sendable {
    /// AUTH_READ_TIMEOUT_SECONDS (default 5): from the accept, or from the first byte of a
    /// request on a kept connection, to the complete request.
    var readTimeout = 5_000_000
    /// AUTH_MAX_WAITING_CONNECTIONS (default 512): accepted connections that have not yet sent
    /// a complete request; over it, the oldest of them is closed to make room.
    var maxWaiting = 512
    /// A kept connection (FCGI_KEEP_CONN) idle between requests: closed after 120 s (nginx's
    /// upstream keepalive_timeout defaults to 60 s, so nginx normally closes first).
    var keptIdle = 120_000_000
    /// An answer the peer does not take: dropped after this long.
    var writeTimeout = 5_000_000
    /// AUTH_WORKER_QUEUE (default 8 × the pool's threads, at least 64): queued complete requests
    /// at which the reader stops accepting for that pool; 4 times it, a request is shed (503).
    var workerQueue: Int?
    /// Stop: connections with part of a request get this long to finish it.
    var stopGrace = 1_500_000

    static func fromEnvironment() throws(StartupError) -> TransportLimits {
        let env = ProcessInfo.processInfo.environment
        var limits = TransportLimits()
        if let micros = try env.micros("AUTH_READ_TIMEOUT_SECONDS", 0.1...300) { limits.readTimeout = micros }
        if let n = try env.count("AUTH_MAX_WAITING_CONNECTIONS", 1...1_000_000) { limits.maxWaiting = n }
        if let n = try env.count("AUTH_WORKER_QUEUE", 1...1_000_000) { limits.workerQueue = n }
        return limits
    }

    func queueSoftLimit(threads: Int) -> Int { workerQueue ?? max(64, threads * 8) }
}

/// The transport's numeric knobs (TransportLimits, HTTPDoorConfig): unset or empty is nil;
/// anything else outside the range stops the start with the name, the range and the value.
extension Dictionary where Key == String, Value == String {
    func count(_ name: String, _ range: ClosedRange<Int>) throws(StartupError) -> Int? {
        guard let raw = self[name], !raw.isEmpty else { return nil }
        guard let n = Int(raw), range.contains(n) else { throw StartupError("\(name) must be \(range), got '\(raw)'") }
        return n
    }

    /// Seconds (fractions allowed) as microseconds.
    func micros(_ name: String, _ range: ClosedRange<Double>) throws(StartupError) -> Int? {
        guard let raw = self[name], !raw.isEmpty else { return nil }
        guard let n = Double(raw), range.contains(n) else {
            throw StartupError("\(name) must be \(String(format: "%g", range.lowerBound))...\(String(format: "%g", range.upperBound)), got '\(raw)'")
        }
        return Int(n * 1_000_000)
    }
}
