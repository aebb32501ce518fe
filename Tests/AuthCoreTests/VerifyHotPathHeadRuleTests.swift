@testable import AuthHTTP
import Testing

/// The HTTP door's verify path cuts (issue 20): the head parser handles each complete line
/// straight from the bytes read instead of appending them one at a time, and trims an ASCII
/// header value on bytes. Each must answer exactly what the byte-at-a-time parser answered, for
/// every input, in every split.
@Suite struct VerifyHotPathHeadRuleTests {
    /// The parser before the cut (HTTPUpgradeParser's byte loop and Character trimming).
    struct ByteParser {
        enum State { case startLine, headers, complete(HTTPHead), failed(HTTPParseError) }
        let kind: HTTPUpgradeParser.Kind
        let maxHeadSize: Int
        let maxHeaderCount: Int
        let acceptHTTP10: Bool
        var state = State.startLine
        var line: [UInt8] = []
        var total = 0
        var head = HTTPHead()

        mutating func feed(_ bytes: [UInt8]) -> HTTPUpgradeParser.Result {
            switch state {
            case let .complete(h): return .complete(h, consumed: 0)
            case let .failed(e): return .failed(e)
            case .startLine, .headers: break
            }
            var i = 0
            while i < bytes.count {
                let b = bytes[i]
                i += 1
                total += 1
                if total > maxHeadSize { return fail(.tooLarge) }
                if b != 10 {
                    line.append(b)
                    continue
                }
                guard line.last == 13 else { return fail(.malformed("bare LF")) }
                line.removeLast()
                if let error = processLine() { return fail(error) }
                line.removeAll(keepingCapacity: false)
                if case let .complete(h) = state { return .complete(h, consumed: i) }
            }
            return .needMore
        }

        mutating func fail(_ e: HTTPParseError) -> HTTPUpgradeParser.Result {
            state = .failed(e)
            line = []
            return .failed(e)
        }

        static func isTokenByte(_ b: UInt8) -> Bool {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            case 33, 35, 36, 37, 38, 39, 42, 43, 45, 46, 94, 95, 96, 124, 126: true
            default: false
            }
        }

        mutating func processLine() -> HTTPParseError? {
            for b in line where b == 13 || b == 0 { return .malformed("control byte in line") }
            switch state {
            case .startLine:
                let parts = line.split(separator: 32, maxSplits: 2, omittingEmptySubsequences: false)
                switch kind {
                case .request:
                    guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(Self.isTokenByte),
                          parts[1].first == UInt8(ascii: "/"), parts[1].allSatisfy({ $0 > 32 && $0 < 127 }),
                          parts[2].elementsEqual("HTTP/1.1".utf8) || (acceptHTTP10 && parts[2].elementsEqual("HTTP/1.0".utf8))
                    else { return .malformed("bad request line") }
                    head.version = String(decoding: parts[2], as: UTF8.self)
                    head.method = String(decoding: parts[0], as: UTF8.self)
                    head.target = String(decoding: parts[1], as: UTF8.self)
                case .response:
                    guard parts.count >= 2, parts[0].elementsEqual("HTTP/1.1".utf8), parts[1].count == 3,
                          parts[1].allSatisfy({ $0 >= 48 && $0 <= 57 })
                    else { return .malformed("bad status line") }
                    head.status = Int(String(decoding: parts[1], as: UTF8.self)) ?? 0
                    head.reason = parts.count == 3 ? String(decoding: parts[2], as: UTF8.self) : ""
                }
                state = .headers
            case .headers:
                if line.isEmpty {
                    state = .complete(head)
                    return nil
                }
                if line[0] == 32 || line[0] == 9 { return .malformed("obsolete line folding") }
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0,
                      line[..<colon].allSatisfy(Self.isTokenByte)
                else { return .malformed("bad header line") }
                let value = line[(colon + 1)...]
                guard value.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else {
                    return .malformed("control byte in header value")
                }
                guard head.headers.count < maxHeaderCount else { return .tooLarge }
                head.headers.append(HTTPHeader(String(decoding: line[..<colon], as: UTF8.self),
                                               String(decoding: value, as: UTF8.self).trimmingSpaces()))
            case .complete, .failed:
                break
            }
            return nil
        }
    }

    /// Every feed's result of both parsers, the input cut at `cuts`.
    static func compare(_ input: [UInt8], cuts: [Int], kind: HTTPUpgradeParser.Kind, max: Int, maxHeaders: Int, http10: Bool) -> Bool {
        var fast = HTTPUpgradeParser(kind: kind, maxHeadSize: max, acceptHTTP10: http10, maxHeaders: maxHeaders)
        var slow = ByteParser(kind: kind, maxHeadSize: max, maxHeaderCount: maxHeaders, acceptHTTP10: http10)
        var start = 0
        for end in cuts + [input.count] where end >= start {
            let chunk = Array(input[start..<end])
            start = end
            let a = fast.feed(chunk), b = slow.feed(chunk)
            guard a == b, fast.bufferedCount == slow.line.count else { return false }
        }
        return true
    }

    @Test func valueScanAgreesWithTheByteRuleForEveryByteAtEveryPosition() {
        for filler: [UInt8] in [Array("abcdefghijklmnopqrstuvwx".utf8), Array("é€ÿ~ \t".utf8) + Array(repeating: 0xC3, count: 16)] {
            for length in 1...24 {
                for position in 0..<length {
                    for b in 0...255 {
                        var bytes = Array(filler.prefix(length))
                        bytes[position] = UInt8(b)
                        let (valid, ascii) = bytes.withUnsafeBufferPointer { HTTPUpgradeParser.scanValue($0) }
                        let rule = bytes.allSatisfy { $0 == 9 || ($0 >= 32 && $0 != 127) }
                        #expect(valid == rule, "byte \(b) at \(position) of \(length)")
                        if rule { #expect(ascii == bytes.allSatisfy { $0 < 0x80 }, "byte \(b) at \(position) of \(length)") }
                    }
                }
            }
        }
    }

    static let realistic = Array(("GET /verify HTTP/1.1\r\nHost: app.example.com\r\nX-Original-URI: /app/orders?page=2\r\n"
        + "X-Original-Method: GET\r\nX-Authgate-Allow: user\r\nX-Real-IP: 203.0.113.7\r\nUser-Agent:  Mozilla/5.0 \t \r\n"
        + "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln \r\nAccept: */*\r\n\r\nGET /next").utf8)

    @Test func aRealisticHeadAgreesInEverySplit() {
        for kind in [HTTPUpgradeParser.Kind.request, .response] {
            for cut in 0...Self.realistic.count {
                #expect(Self.compare(Self.realistic, cuts: [cut], kind: kind, max: 8192, maxHeaders: 100, http10: false), "cut \(cut)")
            }
        }
        // Every size bound around the head's own size, in one piece and byte by byte.
        for max in 1...(Self.realistic.count + 2) {
            #expect(Self.compare(Self.realistic, cuts: [], kind: .request, max: max, maxHeaders: 100, http10: false), "max \(max)")
            #expect(Self.compare(Self.realistic, cuts: Array(1..<Self.realistic.count), kind: .request, max: max, maxHeaders: 100,
                                 http10: false), "max \(max), bytewise")
        }
        for maxHeaders in 0...8 {
            #expect(Self.compare(Self.realistic, cuts: [40, 41], kind: .request, max: 8192, maxHeaders: maxHeaders, http10: false))
        }
    }

    @Test func randomHeadsAgreeInRandomSplits() {
        var rng = SystemRandomNumberGenerator()
        // Bytes that matter to the rules: CR, LF, NUL, DEL, space, tab, ':', '/', token and
        // non-token bytes, and UTF-8 that Character trimming treats differently from bytes (a
        // combining acute after a space, an Arabic number sign that joins the space after it).
        let pieces: [[UInt8]] = [[13, 10], [10], [13], [0], [127], [32], [9], [58], [47], Array("GET".utf8), Array("HTTP/1.1".utf8),
                                 Array("HTTP/1.0".utf8), Array("x-a".utf8), Array("204".utf8), [0xCC, 0x81], [0xD8, 0x80], [0xC3],
                                 [0xFF], Array("é".utf8), [40], [64], Array("Host".utf8), Array(" v ".utf8)]
        let starts: [[UInt8]] = [Array("GET / HTTP/1.1\r\n".utf8), Array("HTTP/1.1 101 Switching\r\n".utf8),
                                 Array("HEAD /verify HTTP/1.0\r\n".utf8), []]
        for _ in 0..<6_000 {
            var input = starts.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 0...30, using: &rng) {
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    input += Array("\r\nN: ".utf8)
                }
                input += pieces.randomElement(using: &rng)!
            }
            if Bool.random(using: &rng) { input += [13, 10, 13, 10] + Array("tail".utf8) }
            let cuts = (0..<Int.random(in: 0...4, using: &rng)).map { _ in Int.random(in: 0...input.count, using: &rng) }.sorted()
            let kind: HTTPUpgradeParser.Kind = Bool.random(using: &rng) ? .request : .response
            let max = Bool.random(using: &rng) ? 8192 : Int.random(in: 1...80, using: &rng)
            let maxHeaders = Int.random(in: 0...6, using: &rng)
            let http10 = Bool.random(using: &rng)
            #expect(Self.compare(input, cuts: cuts, kind: kind, max: max, maxHeaders: maxHeaders, http10: http10),
                    "\(input) cut at \(cuts), \(kind), max \(max)/\(maxHeaders)")
        }
    }

    /// Heads that mostly parse: the header values (their trimming, the word-at-a-time check)
    /// are compared, not only the first error.
    @Test func randomWellFormedHeadsAgree() {
        var rng = SystemRandomNumberGenerator()
        let valuePieces: [[UInt8]] = [[32], [9], [32, 9], Array("Bearer".utf8), Array("eyJhbGciOiJIUzI1NiJ9".utf8), [0xCC, 0x81],
                                      [0xD8, 0x80], Array("\u{E9}".utf8), [127], [0], [0xFF], Array(",;=/".utf8), Array("abcdefgh".utf8)]
        for _ in 0..<6_000 {
            var input = Array("GET /verify HTTP/1.1\r\n".utf8)
            for h in 0..<Int.random(in: 0...6, using: &rng) {
                input += Array("X-H\(h):".utf8)
                for _ in 0..<Int.random(in: 0...8, using: &rng) {
                    // Mostly bytes a value may hold; now and then one it may not.
                    let piece = valuePieces.randomElement(using: &rng)!
                    if piece == [127] || piece == [0], Int.random(in: 0..<8, using: &rng) != 0 { continue }
                    input += piece
                }
                input += [13, 10]
            }
            input += [13, 10]
            let cuts = (0..<Int.random(in: 0...3, using: &rng)).map { _ in Int.random(in: 0...input.count, using: &rng) }.sorted()
            #expect(Self.compare(input, cuts: cuts, kind: .request, max: 8192, maxHeaders: 100, http10: false),
                    "\(input) cut at \(cuts)")
        }
    }

    // MARK: the door's header names and URI, on bytes (HTTPNameBytes.swift)

    static let doorNames = ["content-length", "transfer-encoding", "connection", "x-authgate-allow", "x-authgate-roles",
                            "x-authgate-require-aal", "x-original-uri", "x-original-method", "host", "x-real-ip", "x-request-id",
                            "x-forwarded-uri", "x-forwarded-method", "x-forwarded-host", "x-forwarded-for", "host"]

    static func randomName(_ rng: inout SystemRandomNumberGenerator) -> String {
        var name: String
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: name = doorNames.randomElement(using: &rng)!
        case 1: name = "x-authgate-" + ["", "x", "Allow", "ALLOW"].randomElement(using: &rng)!
        case 2: name = String((0..<Int.random(in: 0...20, using: &rng)).map { _ in "aAzZ-_x!~09".randomElement(using: &rng)! })
        default: name = doorNames.randomElement(using: &rng)!.dropLast(Int.random(in: 0...2, using: &rng)) + ["", "s", "-"].randomElement(using: &rng)!
        }
        // Random case per character.
        return String(name.map { Bool.random(using: &rng) ? Character($0.uppercased()) : $0 })
    }

    @Test func headerNamesAgreeWithLowercasedComparison() {
        var rng = SystemRandomNumberGenerator()
        let table = HTTPHeaderNameTable(Self.doorNames)
        let prefix = Array("x-authgate-".utf8)
        for _ in 0..<8_000 {
            var name = Self.randomName(&rng)
            let lowered = name.lowercased()
            let (index, prefixed) = name.withUTF8 { (table.index(of: $0), HTTPHeaderNameTable.hasPrefix($0, lowercased: prefix)) }
            #expect(index == Self.doorNames.firstIndex(of: lowered), "\(name)")
            #expect(prefixed == lowered.hasPrefix("x-authgate-"), "\(name)")
            #expect(name.lowercasedASCII() == lowered, "\(name)")
        }
        for name in ["", "Stra\u{DF}e", "\u{130}stanbul", "K\u{212A}", "\u{C9}t\u{C9}", "ABC\u{301}", "x-Authgate-\u{212A}"] {
            #expect(name.lowercasedASCII() == name.lowercased(), "\(name)")
        }
    }

    /// `String.firstIndex(of: "?")` splits by Characters: a "?" that a combining mark joins (or
    /// that an Arabic number sign before it joins) is no separator there, nor on bytes.
    @Test func uriSplitAgreesWithTheCharacterSearch() {
        var rng = SystemRandomNumberGenerator()
        let pieces = ["/", "?", "a", "=", "&", "%3F", "\u{301}", "\u{600}", "\u{E9}", "??", "/app/orders", "tenant_id=t1", " "]
        for _ in 0..<6_000 {
            let uri = (0..<Int.random(in: 0...8, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            let (before, after) = uri.splitAtQuestionMark()
            if let mark = uri.firstIndex(of: "?") {
                #expect(before == String(uri[..<mark]) && after == String(uri[uri.index(after: mark)...]), "\(uri.unicodeScalars.map(\.value))")
            } else {
                #expect(before == uri && after == "", "\(uri.unicodeScalars.map(\.value))")
            }
            #expect(before[...] == uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0])
        }
    }
}
