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
        if let raw = env["AUTH_READ_TIMEOUT_SECONDS"], !raw.isEmpty {
            guard let n = Double(raw), n >= 0.1, n <= 300 else {
                throw StartupError("AUTH_READ_TIMEOUT_SECONDS must be 0.1...300, got '\(raw)'")
            }
            limits.readTimeout = Int(n * 1_000_000)
        }
        if let raw = env["AUTH_MAX_WAITING_CONNECTIONS"], !raw.isEmpty {
            guard let n = Int(raw), n >= 1, n <= 1_000_000 else {
                throw StartupError("AUTH_MAX_WAITING_CONNECTIONS must be 1...1000000, got '\(raw)'")
            }
            limits.maxWaiting = n
        }
        if let raw = env["AUTH_WORKER_QUEUE"], !raw.isEmpty {
            guard let n = Int(raw), n >= 1, n <= 1_000_000 else {
                throw StartupError("AUTH_WORKER_QUEUE must be 1...1000000, got '\(raw)'")
            }
            limits.workerQueue = n
        }
        return limits
    }

    func queueSoftLimit(threads: Int) -> Int { workerQueue ?? max(64, threads * 8) }
}
