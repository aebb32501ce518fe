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
        var line: [UInt8] = []
        appendRequest(to: &line, method: method, path: path, status: status, micros: micros, client: client, requestID: requestID)
        emit(line)
    }

    /// The same line appended to `out` instead of written: a door thread collects the lines of
    /// one wake-up and writes them with one `write` (`emit(lines:)`).
    public func appendRequest(to out: inout [UInt8], method: String, path: String, status: Int, micros: Int,
                              client: String = "", requestID: String = "") {
        let id = Self.safeID(requestID)
        switch format {
        case .json:
            JSON.object([("ts", .string(Self.timestamp())), ("level", .string("info")), ("method", .string(method)),
                         ("path", .string(path)), ("status", .int(Int64(status))), ("us", .int(Int64(micros))),
                         ("client", .string(client)), ("request_id", .string(id))]).write(into: &out)
            out.append(10)
        case .logfmt:
            out.append(contentsOf: "ts=\(Self.timestamp()) level=info method=\(Self.lf(method)) path=\(Self.lf(path)) status=\(status) us=\(micros) client=\(Self.lf(client)) request_id=\(Self.lf(id))\n".utf8)
        case .text:
            // Bytes, not interpolation: this line is written for every verify (profiled; each
            // piece is one append of contiguous bytes).
            let needed = 96 + path.utf8.count + client.utf8.count + id.utf8.count
            // Doubling, not the exact size: a door thread appends a wake-up's lines to one buffer.
            if out.capacity - out.count < needed { out.reserveCapacity(Swift.max(out.count + needed, 2 * out.capacity)) }
            Self.appendTimestamp(&out)
            out.append(0x20)
            if client.isEmpty { out.append(0x2D) } else { Self.appendClean(client, to: &out) }
            out.append(0x20)
            Self.appendClean(method, to: &out)
            out.append(0x20)
            Self.appendClean(path, to: &out)
            out.append(0x20)
            Self.appendDecimal(&out, status)
            out.append(0x20)
            Self.appendDecimal(&out, micros)
            out.append(contentsOf: "us ".utf8)
            if id.isEmpty { out.append(0x2D) } else { Self.appendClean(id, to: &out) }
            out.append(0x0A)
        }
    }

    /// `clean(s)`'s bytes appended, without a new String when `s` holds no control character.
    static func appendClean(_ s: String, to out: inout [UInt8]) {
        var s = s
        let clean = s.withUTF8 { v -> Bool in
            for b in v where b < 0x20 || b == 0x7f { return false }
            out.append(contentsOf: v)
            return true
        }
        if !clean { out.append(contentsOf: Self.clean(s).utf8) }
    }

    static func appendDecimal(_ out: inout [UInt8], _ value: Int) {
        guard value > 0 else { out.append(value == 0 ? 0x30 : 0x2D); if value < 0 { appendDecimal(&out, -value) }; return }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // 24 bytes: Int.max has 19 digits
        withUnsafeMutableBytes(of: &digits) { buffer in
            var v = value, at = 24
            while v > 0 {
                at -= 1
                buffer[at] = UInt8(48 + v % 10)
                v /= 10
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[at...]))
        }
    }

    /// `2026-12-02T00:10:00.123Z` (24 bytes) appended to `out`, from digits (no String work).
    /// The civil date is computed from the day number (`civil(days:)`, the rule `gmtime_r`
    /// follows for every time after 1970), not by `gmtime_r`, which takes glibc's time-zone
    /// lock on every call: one lock shared by every thread that logs.
    static func appendTimestamp(_ out: inout [UInt8]) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let seconds = Int(ts.tv_sec)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let (year, month, day) = civil(days: days)
        let inDay = seconds - days * 86_400
        var text: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &text) { b in
            func put(_ value: Int, _ digits: Int, at end: Int) {
                var v = value
                for i in stride(from: end - 1, through: end - digits, by: -1) { b[i] = UInt8(truncatingIfNeeded: 48 + v % 10); v /= 10 }
            }
            put(year, 4, at: 4); b[4] = 0x2D
            put(month, 2, at: 7); b[7] = 0x2D
            put(day, 2, at: 10); b[10] = 0x54
            put(inDay / 3600, 2, at: 13); b[13] = 0x3A
            put(inDay / 60 % 60, 2, at: 16); b[16] = 0x3A
            put(inDay % 60, 2, at: 19); b[19] = 0x2E
            put(Int(ts.tv_nsec) / 1_000_000, 3, at: 23); b[23] = 0x5A
            out.append(contentsOf: UnsafeRawBufferPointer(b))
        }
    }

    /// Year, month (1...12) and day (1...31) of a day number (days since 1970-01-01, proleptic
    /// Gregorian): Howard Hinnant's `civil_from_days`.
    static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
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

    /// Whole lines (`appendRequest`'s) written at once, as each line alone would have been.
    public func emit(lines: [UInt8]) {
        if !lines.isEmpty { emit(lines) }
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
        var id = id   // the contiguous bytes, not the generic UTF-8 view (every access line)
        let safe = id.withUTF8 { v in
            v.count <= 64 && v.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 })
        }
        return safe ? id : ""
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
