import AuthCrypto
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One line per event on stderr, each starting with a UTC timestamp (millisecond). Formats
/// (`AUTH_LOG_FORMAT`): `text` (`2026-12-02T00:10:00.123Z info: message`), `logfmt`
/// (`ts=… level=info msg="…"`) and `json`. Callers never pass tokens, passwords or query strings.
public struct Logger: Sendable {
    public enum Format: String, Sendable, CaseIterable { case text, logfmt, json }
    /// Shared by every copy of this logger, so SIGHUP can switch the format of a running process
    /// (App.reload) without a lock on the logging path.
    private final class FormatCell: Sendable {
        let raw: Atomic<Int>
        init(_ format: Format) { raw = Atomic(Format.allCases.firstIndex(of: format) ?? 0) }
    }
    private let cell: FormatCell
    public var format: Format {
        get { Format.allCases[cell.raw.load(ordering: .relaxed)] }
        nonmutating set { cell.raw.store(Format.allCases.firstIndex(of: newValue) ?? 0, ordering: .relaxed) }
    }
    public var json: Bool { format == .json }

    public init(json: Bool = false) { cell = FormatCell(json ? .json : .text) }
    public init(format: Format) { cell = FormatCell(format) }
    public init(settings: Settings) { cell = FormatCell(Format(rawValue: settings.logFormat) ?? .text) }

    public func info(_ message: String) { write("info", message) }
    public func warning(_ message: String) { write("warning", message) }
    public func error(_ message: String) { write("error", message) }

    /// The access line of the responder: method, path without query, status, microseconds,
    /// client address (nginx's `REMOTE_ADDR`) and nginx's request id (joins nginx's access log).
    public func request(method: String, path: String, status: Int, micros: Int, client: String = "", requestID: String = "") {
        let id = Self.safeID(requestID)
        switch format {
        case .json:
            var out: [UInt8] = []
            JSON.object([("ts", .string(Self.timestamp())), ("level", .string("info")), ("method", .string(method)),
                         ("path", .string(path)), ("status", .int(Int64(status))), ("us", .int(Int64(micros))),
                         ("client", .string(client)), ("request_id", .string(id))]).write(into: &out)
            out.append(10)
            emit(out)
        case .logfmt:
            emit(Array("ts=\(Self.timestamp()) level=info method=\(Self.lf(method)) path=\(Self.lf(path)) status=\(status) us=\(micros) client=\(Self.lf(client)) request_id=\(Self.lf(id))\n".utf8))
        case .text:
            // Bytes, not interpolation: this line is written for every verify (profiled).
            var line: [UInt8] = []
            line.reserveCapacity(96 + path.utf8.count)
            Self.appendTimestamp(&line)
            line.append(0x20)
            line.append(contentsOf: client.isEmpty ? "-".utf8 : Self.clean(client).utf8)
            line.append(0x20)
            line.append(contentsOf: Self.clean(method).utf8)
            line.append(0x20)
            line.append(contentsOf: Self.clean(path).utf8)
            line.append(0x20)
            Self.appendDecimal(&line, status)
            line.append(0x20)
            Self.appendDecimal(&line, micros)
            line.append(contentsOf: "us ".utf8)
            line.append(contentsOf: id.isEmpty ? "-".utf8 : id.utf8)
            line.append(0x0A)
            emit(line)
        }
    }

    static func appendDecimal(_ out: inout [UInt8], _ value: Int) {
        guard value > 0 else { out.append(value == 0 ? 0x30 : 0x2D); if value < 0 { appendDecimal(&out, -value) }; return }
        let start = out.count
        var v = value
        while v > 0 { out.append(UInt8(48 + v % 10)); v /= 10 }
        out[start...].reverse()
    }

    /// `2026-12-02T00:10:00.123Z` (24 bytes) appended to `out`, from digits (no String work).
    static func appendTimestamp(_ out: inout [UInt8]) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var parts = tm()
        gmtime_r(&t, &parts)
        func put(_ value: Int, _ digits: Int) {
            let start = out.count
            var v = value
            for _ in 0..<digits { out.append(UInt8(48 + v % 10)); v /= 10 }
            out[start...].reverse()
        }
        put(Int(parts.tm_year) + 1900, 4); out.append(0x2D)
        put(Int(parts.tm_mon) + 1, 2); out.append(0x2D)
        put(Int(parts.tm_mday), 2); out.append(0x54)
        put(Int(parts.tm_hour), 2); out.append(0x3A)
        put(Int(parts.tm_min), 2); out.append(0x3A)
        put(Int(parts.tm_sec), 2); out.append(0x2E)
        put(ts.tv_nsec / 1_000_000, 3); out.append(0x5A)
    }

    func write(_ level: String, _ message: String) {
        switch format {
        case .json:
            var out = JSON.object([("ts", .string(Self.timestamp())), ("level", .string(level)), ("msg", .string(message))]).encoded()
            out.append(10)
            emit(out)
        case .logfmt:
            emit(Array("ts=\(Self.timestamp()) level=\(level) msg=\(Self.lf(message))\n".utf8))
        case .text:
            emit(Array("\(Self.timestamp()) \(level): \(Self.clean(message))\n".utf8))
        }
    }

    func emit(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }

    /// `2026-12-02T00:10:00.123Z`, formatted by hand (no formatter globals, see DESIGN.md).
    public static func timestamp() -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        appendTimestamp(&bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A request id as nginx makes it (hex), at most 64 of [A-Za-z0-9-]; anything else is dropped.
    static func safeID(_ id: String) -> String {
        guard id.utf8.count <= 64, id.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 })
        else { return "" }
        return id
    }

    /// Control characters never reach a log line (a forged path cannot add lines).
    static func clean(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) else { return s }
        return String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "?" : $0 }))
    }

    /// A logfmt value: bare when safe, else quoted with `"` and `\` escaped.
    static func lf(_ s: String) -> String {
        let c = clean(s)
        if !c.isEmpty && !c.utf8.contains(where: { $0 == 32 || $0 == 34 || $0 == 61 || $0 == 92 }) { return c }
        return "\"" + c.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
