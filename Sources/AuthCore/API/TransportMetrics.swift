import Synchronization

/// The responder transport's counters (its connection reader is one thread; workers add sheds).
/// Rendered with the rest of `GET /api/v1/metrics`.
public final class TransportMetrics: Sendable {
    /// Why a connection was closed before it delivered a complete request.
    public enum Drop: Int, CaseIterable, Sendable {
        /// No complete request within AUTH_READ_TIMEOUT_SECONDS of its first byte (or of the accept).
        case deadline
        /// Over AUTH_MAX_WAITING_CONNECTIONS: the oldest waiting connection makes room.
        case cap
        /// Bytes that are not FastCGI (or a request past the params cap).
        case protocolError
        /// An answer the peer did not take within the write deadline.
        case writeTimeout

        var label: String {
            switch self {
            case .deadline: "deadline"
            case .cap: "cap"
            case .protocolError: "protocol"
            case .writeTimeout: "write_timeout"
            }
        }
    }

    private let deadline = Atomic<Int>(0)
    private let cap = Atomic<Int>(0)
    private let protocolError = Atomic<Int>(0)
    private let writeTimeout = Atomic<Int>(0)
    private let shed = Atomic<Int>(0)
    private let waiting = Atomic<Int>(0)

    public init() {}

    public func dropped(_ reason: Drop, count: Int = 1) {
        switch reason {
        case .deadline: deadline.add(count, ordering: .relaxed)
        case .cap: cap.add(count, ordering: .relaxed)
        case .protocolError: protocolError.add(count, ordering: .relaxed)
        case .writeTimeout: writeTimeout.add(count, ordering: .relaxed)
        }
    }

    public func droppedCount(_ reason: Drop) -> Int {
        switch reason {
        case .deadline: deadline.load(ordering: .relaxed)
        case .cap: cap.load(ordering: .relaxed)
        case .protocolError: protocolError.load(ordering: .relaxed)
        case .writeTimeout: writeTimeout.load(ordering: .relaxed)
        }
    }
    /// A complete request answered 503 because every worker was busy and the queue full.
    public func shedOne() { shed.add(1, ordering: .relaxed) }
    public var shedCount: Int { shed.load(ordering: .relaxed) }
    /// Connections accepted that have not yet delivered a complete request.
    public func setWaiting(_ n: Int) { waiting.store(n, ordering: .relaxed) }
    /// Each connection reader adds the change of its own count (the HTTP door has readers of its own).
    public func addWaiting(_ delta: Int) { if delta != 0 { waiting.add(delta, ordering: .relaxed) } }

    func render(into out: inout String) {
        out += "# HELP authgate_connections_dropped_total Connections closed before a complete request (or answer), by reason.\n"
        out += "# TYPE authgate_connections_dropped_total counter\n"
        for reason in Drop.allCases {
            out += "authgate_connections_dropped_total{reason=\"\(reason.label)\"} \(droppedCount(reason))\n"
        }
        out += "# HELP authgate_requests_shed_total Complete requests answered 503 because the worker queue was full.\n"
        out += "# TYPE authgate_requests_shed_total counter\n"
        out += "authgate_requests_shed_total \(shedCount)\n"
        out += "# HELP authgate_connections_waiting Connections accepted that have not yet sent a complete request.\n"
        out += "# TYPE authgate_connections_waiting gauge\n"
        out += "authgate_connections_waiting \(waiting.load(ordering: .relaxed))\n"
    }
}
