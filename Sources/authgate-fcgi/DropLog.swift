import AuthCore

/// Counts every dropped connection at once (metrics) and logs them once per burst: the first
/// drop of a quiet period is logged when it happens, the rest as one summary line at most every
/// 10 s. A flood of idle connections therefore costs a few log lines, not one per connection.
struct DropLog {
    let log: Logger
    let metrics: TransportMetrics
    let limits: TransportLimits
    private var pending: [TransportMetrics.Drop: Int] = [:]
    private var pendingShed = 0
    private var lastLine = Int.min / 2
    private var lastDetail = ""
    static let interval = 10_000_000

    init(log: Logger, metrics: TransportMetrics, limits: TransportLimits) {
        self.log = log
        self.metrics = metrics
        self.limits = limits
    }

    mutating func dropped(_ reason: TransportMetrics.Drop, detail: String = "") {
        metrics.dropped(reason)
        pending[reason, default: 0] += 1
        if !detail.isEmpty { lastDetail = detail }
        flush(monotonicMicros())
    }

    mutating func shed(_ capacity: Int) {
        pendingShed += 1
        flush(monotonicMicros())
    }

    private var lastAcceptLine = Int.min / 2

    mutating func acceptFailed(_ reason: String) {
        let now = monotonicMicros()
        if now - lastAcceptLine >= Self.interval {
            lastAcceptLine = now
            log.error("authgate-fcgi: accept failed (\(reason)); pausing accepts for 100 ms")
        }
    }

    mutating func flush(_ now: Int) {
        guard pendingShed > 0 || !pending.isEmpty, now - lastLine >= Self.interval else { return }
        var parts: [String] = []
        let seconds = Double(limits.readTimeout) / 1e6
        if let n = pending[.deadline] { parts.append("\(n) without a complete request within \(seconds) s (AUTH_READ_TIMEOUT_SECONDS)") }
        if let n = pending[.cap] { parts.append("\(n) over AUTH_MAX_WAITING_CONNECTIONS=\(limits.maxWaiting) (the oldest waiting ones)") }
        if let n = pending[.protocolError] { parts.append("\(n) sending bytes that are not FastCGI (\(lastDetail))") }
        if let n = pending[.writeTimeout] { parts.append("\(n) not reading their answer") }
        if !parts.isEmpty {
            log.warning("authgate-fcgi: closed slow or broken client connection(s): \(parts.joined(separator: "; ")); "
                + "counted in authgate_connections_dropped_total, next summary in 10 s at the earliest")
        }
        if pendingShed > 0 {
            log.warning("authgate-fcgi: \(pendingShed) request(s) answered 503 (every worker busy and the queue full); "
                + "counted in authgate_requests_shed_total")
        }
        pending = [:]
        pendingShed = 0
        lastDetail = ""
        lastLine = now
    }
}
