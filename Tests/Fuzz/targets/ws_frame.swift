// WebSocket frame parser, both directions, fragmented and control frames, input-chosen splits.
// Invariants: payload ranges lie inside the buffer and add up to the header's length; a control
// frame is never fragmented nor over 125 bytes; the result does not depend on how bytes are split.
@testable import AuthWS

func run(_ source: FrameParser.Source, _ chunks: [[UInt8]]) -> String {
    var p = FrameParser(source: source, maxPayload: 1 << 16)
    var log: [String] = []
    var current: FrameHeader?
    var seen: UInt64 = 0
    for c in chunks {
        var i = 0
        while true {
            let event: FrameParser.Event
            do {
                event = try c.withUnsafeBytes { raw in try p.next(raw, at: &i) }
            } catch { return log.joined(separator: ",") + ",error(\(error))" }
            switch event {
            case .needMore:
                fuzzCheck(i == c.count, "needMore before the end")
            case let .header(h):
                fuzzCheck(!(h.opcode.isControl && (!h.fin || h.length > 125)), "bad control frame accepted")
                current = h; seen = 0
                log.append("h\(h.opcode.rawValue):\(h.length)")
            case let .payload(r, offset):
                fuzzCheck(r.lowerBound >= 0 && r.upperBound <= c.count, "range \(r) of \(c.count)")
                fuzzCheck(offset == seen, "offset \(offset) != \(seen)")
                seen += UInt64(r.count)
            case let .frameEnd(h):
                fuzzCheck(current != nil && seen == h.length, "frame end after \(seen) of \(h.length)")
                log.append("e")
                current = nil
            }
            if case .needMore = event { break }
        }
    }
    return log.joined(separator: ",")
}

func fuzzOne(_ bytes: [UInt8]) {
    let chunks = fuzzChunks(bytes)
    let whole = [Array(bytes.dropFirst())]
    for source in [FrameParser.Source.client, .server] {
        let a = run(source, chunks), b = run(source, whole)
        fuzzCheck(a == b, "split-dependent: \(a) vs \(b)")
    }
}
