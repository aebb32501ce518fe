// FastCGI record parser (the responder's transport): the input is a byte stream from a client,
// fed whole and again in chunks chosen by its own bytes. Invariants: the same requests, replies
// and error whatever the split; a request only once complete; a body never over its cap; every
// pair range inside the params; the writer's answer parses back to the same STDOUT.
import AuthFastCGI

struct Outcome: Equatable {
    var requests: [[UInt8]] = []
    var replies: [[UInt8]] = []
    var error: ParseError?
}

func run(_ chunks: [[UInt8]]) -> Outcome {
    var parser = RequestParser(maxParams: 2048, maxBody: 512, maxConnections: 8)
    var out = Outcome()
    for chunk in chunks {
        var index = 0
        do {
            loop: while true {
                let event = try chunk.withUnsafeBytes { try parser.next($0, at: &index) }
                switch event {
                case .needMore: break loop
                case let .reply(bytes, _): out.replies.append(bytes)
                case let .request(r):
                    fuzzCheck(r.body.count <= 512, "body over its cap: \(r.body.count)")
                    fuzzCheck(!r.bodyTooLarge || r.body.isEmpty, "a too-large body kept bytes")
                    fuzzCheck(r.params.count <= 2048, "params over their cap")
                    var flat: [UInt8] = [UInt8(r.id & 0xff), UInt8(r.role.rawValue), r.keepConnection ? 1 : 0, r.bodyTooLarge ? 1 : 0]
                    for (n, v) in r.pairs {
                        fuzzCheck(n.upperBound <= r.params.count && v.upperBound <= r.params.count, "pair outside params")
                        flat += r.params[n] + [0] + r.params[v] + [0]
                    }
                    out.requests.append(flat + [0xff] + r.body)
                }
            }
            fuzzCheck(index == chunk.count, "needMore before the end of the chunk")
        } catch {
            out.error = error as? ParseError
            return out
        }
    }
    return out
}

func fuzzOne(_ bytes: [UInt8]) {
    let whole = run([Array(bytes.dropFirst())])
    let split = run(fuzzChunks(bytes))
    fuzzCheck(whole == split, "split changed the outcome: \(whole) vs \(split)")
    // The writer: what it encodes reads back as the same STDOUT stream.
    let answer = RecordWriter.response(id: UInt16(bytes.count & 0xffff), stdout: Array(bytes.prefix(3000)))
    var i = 0, stdout: [UInt8] = []
    while i + 8 <= answer.count {
        let n = Int(answer[i + 4]) << 8 | Int(answer[i + 5])
        if answer[i + 1] == 6 { stdout += answer[(i + 8)..<(i + 8 + n)] }
        i += 8 + n
    }
    fuzzCheck(i == answer.count && stdout == Array(bytes.prefix(3000)), "writer round trip")
}
