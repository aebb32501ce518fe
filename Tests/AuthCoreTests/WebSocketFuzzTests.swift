import Testing
@testable import AuthWS
#if canImport(Glibc)
import Glibc
#endif

/// Randomized, time-bounded (~2 s) hostile input for both parsers: never crash, never buffer more
/// than their limits. The seed is printed so a failure can be replayed.
@Suite struct WebSocketFuzzTests {
    static let validRequest = WebSocketUpgradeParserTests.request

    /// Mutates a valid input: flips, inserts, deletes, duplicates slices, or pure noise.
    static func mutate(_ base: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
        var b = base
        switch rng.next() % 5 {
        case 0: return (0..<Int(rng.next() % 600)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 1:
            for _ in 0..<(1 + rng.next() % 4) where !b.isEmpty { b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next()) }
        case 2:
            if !b.isEmpty { b.removeSubrange(Int(rng.next() % UInt64(b.count))..<b.count) }
        case 3:
            let at = Int(rng.next() % UInt64(b.count + 1))
            b.insert(contentsOf: [13, 10, 0, 58, 32, 255, 127, 126][Int(rng.next() % 8)...], at: at)
        default:
            if !b.isEmpty {
                let from = Int(rng.next() % UInt64(b.count))
                b += b[from...]
                b += b[from...]
            }
        }
        return b
    }

    static func chunks(_ b: [UInt8], _ rng: inout SplitMix) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        while i < b.count {
            let n = 1 + Int(rng.next() % 64)
            out.append(Array(b[i..<min(b.count, i + n)]))
            i += n
        }
        return out
    }

    @Test func fuzzBothParsers() {
        var rng = SplitMix.seeded("WebSocketFuzzTests")
        let seed = rng.seed
        let frameBase = WebSocketFrame.encode(.text, Array("hi".utf8), fin: false, maskKey: [1, 2, 3, 4])
            + WebSocketFrame.encode(.ping, [1], maskKey: [5, 6, 7, 8])
            + WebSocketFrame.encode(.continuation, [UInt8](repeating: 9, count: 300), maskKey: [1, 1, 1, 1])
            + WebSocketFrame.encode(.close, [3, 232], maskKey: [0, 0, 0, 0])
        let deadline = monoMillis() + 2000
        var iterations = 0
        while monoMillis() < deadline {
            iterations += 1
            // HTTP head parser.
            var hp = HTTPUpgradeParser()
            var total = 0
            for c in Self.chunks(Self.mutate(Self.validRequest, &rng), &rng) {
                let r = hp.feed(c)
                #expect(hp.bufferedCount <= HTTPUpgradeParser.defaultMaxHeadSize, "seed \(seed)")
                if case let .complete(_, consumed) = r { #expect(consumed <= c.count); break }
                if case .failed = r { break }
                total += c.count
            }
            #expect(total <= HTTPUpgradeParser.defaultMaxHeadSize + 64)
            // Frame parser, as a relay pipe would drive it.
            var fp = FrameParser(source: rng.next() % 2 == 0 ? .client : .server, maxPayload: 1 << 16)
            outer: for c in Self.chunks(Self.mutate(frameBase, &rng), &rng) {
                var index = 0
                let ok: Bool = c.withUnsafeBytes { raw in
                    do {
                        while true {
                            let e = try fp.next(raw, at: &index)
                            if case let .payload(r, _) = e { #expect(r.lowerBound >= 0 && r.upperBound <= raw.count) }
                            if e == .needMore { return true }
                        }
                    } catch { return false }
                }
                #expect(index <= c.count, "seed \(seed)")
                if !ok { break outer }
            }
        }
        print("WebSocketFuzzTests iterations=\(iterations)")
        #expect(iterations > 100)
    }
}
