// The companion's HTTP upgrade parser (request and response heads), fed in input-chosen chunks.
// Invariants: never buffers more than maxHeadSize; `consumed` lies inside the chunk; the same
// bytes fed in one piece or in chunks give the same head or the same failure class.
@testable import AuthWS

func run(_ kind: HTTPUpgradeParser.Kind, _ chunks: [[UInt8]]) -> String {
    var p = HTTPUpgradeParser(kind: kind, maxHeadSize: 2048)
    for c in chunks {
        let r = p.feed(c)
        fuzzCheck(p.bufferedCount <= 2048, "buffered \(p.bufferedCount)")
        switch r {
        case .needMore: continue
        case let .complete(head, consumed):
            fuzzCheck(consumed >= 0 && consumed <= c.count, "consumed \(consumed) of \(c.count)")
            return "complete \(head)"
        case .failed(.tooLarge): return "tooLarge"
        case .failed: return "malformed"
        }
    }
    return "needMore"
}

func fuzzOne(_ bytes: [UInt8]) {
    let chunks = fuzzChunks(bytes)
    let whole = [Array(bytes.dropFirst())]
    for kind in [HTTPUpgradeParser.Kind.request, .response] {
        let a = run(kind, chunks), b = run(kind, whole)
        fuzzCheck(a == b, "split-dependent result: \(a) vs \(b)")
    }
}
