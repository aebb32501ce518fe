import AuthCore
import Foundation
import TestSupport
import Testing

/// The HTTP door's access lines (issue 20's hot-path cuts): a door thread writes the lines of one
/// wake-up with one `write` and only then sends the answers they belong to. Every verify still
/// has exactly its one line, in the FastCGI door's format, and a line is in the log by the time
/// its answer reached the client, one request at a time and pipelined.
@Suite("HTTP verify door access lines")
struct HTTPDoorAccessLogTests {
    static func lines(_ stack: Stack, id: String) -> [Substring] {
        let log = (try? String(contentsOfFile: stack.responderLogPath, encoding: .utf8)) ?? ""
        return log.split(whereSeparator: \.isNewline).filter { $0.hasSuffix(" " + id) }
    }

    /// `2026-12-07T03:06:14.123Z 203.0.113.9 GET /verify 204 17us door-line-9`
    static func wellFormed(_ line: Substring, client: String, status: Int, id: String) -> Bool {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        return parts.count == 7 && parts[0].count == 24 && parts[0].hasSuffix("Z") && parts[1] == client && parts[2] == "GET"
            && parts[3] == "/verify" && parts[4] == "\(status)" && parts[5].hasSuffix("us") && Int(parts[5].dropLast(2)) != nil
            && parts[6] == id
    }

    @Test func everyAnswerHasItsLineWrittenBeforeIt() throws {
        var options = Stack.Options()
        options.companion = false
        try Stack.with(options) { stack in
            _ = try stack.makeTenant("demo.local")
            _ = try stack.makeUser("alice@demo.local", tenant: "demo.local")
            let alice = try stack.tokens("alice@demo.local").access
            let door = try DoorClient(stack.verifyHTTPSocketPath)
            func request(_ i: Int, run: String) -> (bytes: [UInt8], status: Int, id: String, client: String) {
                let id = "door-line-\(run)-\(i)", client = "203.0.113.\(i % 250)"
                let extra = [("X-Request-Id", id), ("X-Real-IP", client)]
                return i % 3 == 2 ? (DoorClient.request(extra: extra), 401, id, client)
                                  : (DoorClient.request(token: alice, extra: extra), 204, id, client)
            }
            // One at a time: the line is in the log as soon as the answer is here.
            var missing: [String] = []
            for i in 0..<60 {
                let r = request(i, run: "single")
                let answer = try door.ask(r.bytes)
                #expect(answer.status == r.status)
                let found = Self.lines(stack, id: r.id)
                if found.count != 1 || !Self.wellFormed(found[0], client: r.client, status: r.status, id: r.id) {
                    missing.append("\(r.id): \(found)")
                }
            }
            #expect(missing.isEmpty, "\(missing.prefix(3))")
            // Pipelined: 40 requests in one write, answered in order; each line once, in order,
            // and each in the log when its answer is read.
            let batch = (0..<40).map { request($0, run: "pipelined") }
            try door.send(batch.flatMap(\.bytes))
            for r in batch {
                let answer = try #require(try door.answer(), "an answer for \(r.id)")
                #expect(answer.status == r.status)
                let found = Self.lines(stack, id: r.id)
                #expect(found.count == 1 && Self.wellFormed(found[0], client: r.client, status: r.status, id: r.id), "\(r.id): \(found)")
            }
            let log = try String(contentsOfFile: stack.responderLogPath, encoding: .utf8)
            let order = log.split(whereSeparator: \.isNewline).compactMap { line in batch.firstIndex { line.hasSuffix(" " + $0.id) } }
            #expect(order == Array(0..<40), "\(order)")
        }
    }
}
