import Foundation
import Testing
@testable import AuthCore

/// The access line is written for every verify of both doors: its hand-written parts (the date
/// from the day number instead of `gmtime_r`, digits into a fixed buffer, the control-byte scan
/// on contiguous bytes) must give exactly the line the generic forms gave.
@Suite struct VerifyHotPathLogRuleTests {
    @Test func civilDateAgreesWithGmtime() {
        var rng = SystemRandomNumberGenerator()
        // Every day of 1970...2100 at one second, and random seconds up to year 10000.
        var samples = (0...(131 * 366)).map { $0 * 86_400 + 43_210 }
        samples += (0..<20_000).map { _ in Int.random(in: 0...253_402_300_799, using: &rng) }
        samples += [0, 86_399, 86_400, 951_782_400, 951_868_799, 4_107_542_400, 253_402_300_799]
        for t in samples {
            var time = time_t(t)
            var parts = tm()
            gmtime_r(&time, &parts)
            let days = t / 86_400
            let (y, m, d) = Logger.civil(days: days)
            #expect(y == Int(parts.tm_year) + 1900 && m == Int(parts.tm_mon) + 1 && d == Int(parts.tm_mday), "t=\(t)")
        }
    }

    @Test func timestampHasTheFormat() {
        var out: [UInt8] = Array("x".utf8)
        Logger.appendTimestamp(&out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.count == 25)
        #expect(text.range(of: #"^x\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression) != nil, "\(text)")
        // The date and time of day are the wall clock's (within the seconds this test may take).
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let parsed = formatter.date(from: String(text.dropFirst()))
        #expect(parsed != nil && abs(parsed!.timeIntervalSinceNow) < 60, "\(text)")
    }

    @Test func decimalsAgreeWithString() {
        var rng = SystemRandomNumberGenerator()
        for v in [0, 1, 9, 10, 99, 100, 204, 401, Int.max, -1, -204] + (0..<2_000).map({ _ in Int.random(in: -1_000_000...Int.max, using: &rng) }) {
            var out: [UInt8] = [0x41]
            Logger.appendDecimal(&out, v)
            #expect(String(decoding: out.dropFirst(), as: UTF8.self) == String(v), "\(v)")
        }
    }

    /// The text line without its timestamp, as the interpolating form wrote it.
    static func reference(method: String, path: String, status: Int, micros: Int, client: String, requestID: String) -> String {
        let id = Logger.safeID(requestID)
        return " \(client.isEmpty ? "-" : Logger.clean(client)) \(Logger.clean(method)) \(Logger.clean(path)) \(status) \(micros)us \(id.isEmpty ? "-" : id)\n"
    }

    @Test func accessLineAgreesWithTheInterpolatedLine() {
        let log = Logger(format: .text)
        let cases: [(String, String, Int, Int, String, String)] = [
            ("GET", "/_authgate/verify/user", 204, 17, "203.0.113.7", "8c1f9d2ab34e4c5f9a0b1c2d3e4f5a6b"),
            ("HEAD", "/verify", 401, 0, "", ""),
            ("GET", "/a\nb\u{7f}c\tz", 403, 123_456, "::1\r", "not a safe id!"),
            ("P\u{1}ST", "/caf\u{E9}/\u{301}", 204, 5, "fe80::1%eth0", String(repeating: "a", count: 65)),
            ("GET", "/x", 204, 1, "10.0.0.1", "abc-DEF-123"),
        ]
        for (method, path, status, micros, client, id) in cases {
            var out: [UInt8] = Array("previous line\n".utf8)
            log.appendRequest(to: &out, method: method, path: path, status: status, micros: micros, client: client, requestID: id)
            let line = String(decoding: out.dropFirst(14 + 24), as: UTF8.self)
            #expect(line == Self.reference(method: method, path: path, status: status, micros: micros, client: client, requestID: id))
        }
    }
}
