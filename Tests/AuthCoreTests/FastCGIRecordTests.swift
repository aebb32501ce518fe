import AuthFastCGI
import Testing

/// Issue 19: the responder's own FastCGI record parser (it replaced libfcgi's blocking reads).
/// Every input is also fed split at every position and byte by byte: the result must not depend
/// on how the bytes arrived.
@Suite("FastCGI record parser")
struct FastCGIRecordTests {
    static func record(_ type: UInt8, id: UInt16 = 1, _ content: [UInt8], padding: Int = 0) -> [UInt8] {
        [1, type, UInt8(id >> 8), UInt8(id & 0xff), UInt8(content.count >> 8), UInt8(content.count & 0xff), UInt8(padding), 0]
            + content + [UInt8](repeating: 0, count: padding)
    }

    static func begin(id: UInt16 = 1, role: UInt8 = 1, keep: Bool = false) -> [UInt8] {
        record(1, id: id, [0, role, keep ? 1 : 0, 0, 0, 0, 0, 0])
    }

    static func params(id: UInt16 = 1, _ pairs: [(String, String)]) -> [UInt8] {
        var stream: [UInt8] = []
        for (n, v) in pairs { RecordWriter.nameValue(Array(n.utf8), Array(v.utf8), into: &stream) }
        return record(4, id: id, stream, padding: 3) + record(4, id: id, [])
    }

    static func stdin(id: UInt16 = 1, _ body: [UInt8]) -> [UInt8] {
        (body.isEmpty ? [] : record(5, id: id, body)) + record(5, id: id, [])
    }

    /// Every event `bytes` produce when fed in `chunks`.
    static func events(_ chunks: [[UInt8]], maxBody: Int = 65536) -> (requests: [FastCGIRequest], replies: [[UInt8]], error: ParseError?) {
        var parser = RequestParser(maxBody: maxBody)
        var requests: [FastCGIRequest] = [], replies: [[UInt8]] = []
        for chunk in chunks {
            var index = 0
            do {
                while true {
                    let event = try chunk.withUnsafeBytes { try parser.next($0, at: &index) }
                    switch event {
                    case .needMore: break
                    case let .request(r): requests.append(r); continue
                    case let .reply(bytes, _): replies.append(bytes); continue
                    }
                    break
                }
            } catch { return (requests, replies, error as? ParseError) }
        }
        return (requests, replies, nil)
    }

    /// The same bytes whole, split at every position, and one byte at a time.
    static func splits(_ bytes: [UInt8]) -> [[[UInt8]]] {
        var out: [[[UInt8]]] = [[bytes], bytes.map { [$0] }]
        for i in 1..<bytes.count { out.append([Array(bytes[..<i]), Array(bytes[i...])]) }
        return out
    }

    static func param(_ r: FastCGIRequest, _ name: String) -> String? {
        for (n, v) in r.pairs where Array(r.params[n]) == Array(name.utf8) { return String(decoding: r.params[v], as: UTF8.self) }
        return nil
    }

    @Test func responderRequestUnderEverySplit() {
        let long = String(repeating: "x", count: 300)   // a four-byte length
        let bytes = Self.begin(keep: true) + Self.params([("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/a?b=1"), ("HTTP_X", long)])
            + Self.stdin(Array("{\"a\":1}".utf8))
        for chunks in Self.splits(bytes) {
            let (requests, replies, error) = Self.events(chunks)
            #expect(error == nil && replies.isEmpty && requests.count == 1)
            guard let r = requests.first else { continue }
            #expect(r.id == 1 && r.role == .responder && r.keepConnection)
            #expect(Self.param(r, "REQUEST_URI") == "/a?b=1" && Self.param(r, "HTTP_X") == long)
            #expect(String(decoding: r.body, as: UTF8.self) == "{\"a\":1}" && !r.bodyTooLarge)
        }
    }

    @Test func incompleteRequestsAreNeverHandedOn() {
        let full = Self.begin() + Self.params([("REQUEST_URI", "/x")]) + Self.stdin([1, 2, 3])
        for cut in 0..<full.count {
            #expect(Self.events([Array(full[..<cut])]).requests.isEmpty, "a request after \(cut) of \(full.count) bytes")
        }
    }

    /// Apache sends an Authorizer no STDIN; lighttpd an empty one (ignored after the answer).
    @Test func authorizerIsCompleteAtTheEndOfParams() {
        let apache = Self.begin(role: 2) + Self.params([("REQUEST_URI", "/gated")])
        #expect(Self.events([apache]).requests.first?.role == .authorizer)
        let lighttpd = apache + Self.stdin([]) + Self.begin(id: 1, role: 2) + Self.params([("REQUEST_URI", "/second")])
        for chunks in Self.splits(lighttpd) {
            let (requests, _, error) = Self.events(chunks)
            #expect(error == nil && requests.map { Self.param($0, "REQUEST_URI") } == ["/gated", "/second"])
        }
    }

    @Test func bodyOverTheCapIsReadToItsEndAndFlagged() {
        let bytes = Self.begin() + Self.params([("A", "b")]) + Self.stdin([UInt8](repeating: 7, count: 5000))
        for chunks in [[bytes], bytes.map { [$0] }] {
            let r = Self.events(chunks, maxBody: 4096).requests
            #expect(r.count == 1 && r[0].bodyTooLarge && r[0].body.isEmpty)
        }
    }

    @Test func managementRecordsAreAnswered() {
        var asked: [UInt8] = []
        RecordWriter.nameValue(Array("FCGI_MPXS_CONNS".utf8), [], into: &asked)
        let (requests, replies, error) = Self.events([Self.record(9, id: 0, asked) + Self.record(42, id: 0, [])])
        #expect(error == nil && requests.isEmpty && replies.count == 2)
        #expect(replies[0][1] == 10 && replies[0].suffix(18).elementsEqual([15, 1] + Array("FCGI_MPXS_CONNS0".utf8)))
        #expect(replies[1][1] == 11 && replies[1][8] == 42)
    }

    @Test func secondRequestIdIsRefusedAndAbortEndsTheRequest() {
        let mpx = Self.begin(id: 1) + Self.begin(id: 2) + Self.params(id: 1, [("A", "1")]) + Self.stdin(id: 1, [])
        let (requests, replies, _) = Self.events([mpx])
        #expect(requests.count == 1 && requests[0].id == 1)
        #expect(replies.count == 1 && replies[0][1] == 3 && replies[0][12] == 1)   // END_REQUEST, CANT_MPX_CONN
        let aborted = Self.events([Self.begin(id: 3) + Self.record(2, id: 3, []) + Self.params(id: 3, [("A", "1")])])
        #expect(aborted.requests.isEmpty && aborted.replies.count == 1 && aborted.replies[0][1] == 3)
        let filter = Self.events([Self.begin(role: 3)])
        #expect(filter.replies.count == 1 && filter.replies[0][12] == 3)   // UNKNOWN_ROLE
    }

    @Test func brokenStreamsAreRefused() {
        #expect(Self.events([[2, 1, 0, 1, 0, 0, 0, 0]]).error == .badVersion)
        #expect(Self.events([Self.record(1, id: 1, [0, 1, 0])]).error == .badBeginRequest)
        #expect(Self.events([Self.begin() + Self.begin()]).error == .duplicateBeginRequest)
        #expect(Self.events([Self.begin() + Self.record(4, [200, 1]) + Self.record(4, [])]).error == .malformedParams)
        #expect(Self.events([Self.begin() + Self.record(5, []) + Self.record(5, [1])]).error == .streamAfterItsEnd)
        var big = RequestParser(maxParams: 100)
        let over = Self.begin() + Self.record(4, [UInt8](repeating: 1, count: 200))
        var index = 0
        #expect(throws: ParseError.paramsTooLarge) { _ = try over.withUnsafeBytes { try big.next($0, at: &index) } }
    }

    @Test func writerSplitsLongAnswersIntoRecords() {
        let body = [UInt8](repeating: 65, count: 70_000)
        let out = RecordWriter.response(id: 7, stdout: body)
        var i = 0, stdout: [UInt8] = [], types: [UInt8] = []
        while i + 8 <= out.count {
            let n = Int(out[i + 4]) << 8 | Int(out[i + 5])
            types.append(out[i + 1])
            #expect(out[i + 2] == 0 && out[i + 3] == 7)
            if out[i + 1] == 6 { stdout += out[(i + 8)..<(i + 8 + n)] }
            i += 8 + n + Int(out[i + 6])
        }
        #expect(i == out.count && types == [6, 6, 6, 3] && stdout == body)
    }
}

extension FastCGIRecordTests {
    /// The fuzz target's seeds (Tests/Fuzz/corpus/fcgi_records): the same outcome whole and byte by byte.
    @Test func fuzzSeedsParseTheSameUnderAnySplit() {
        let seeds = FuzzRegressionTests.inputs("fcgi_records")
        #expect(!seeds.isEmpty)
        for (name, bytes) in seeds {
            let body = Array(bytes.dropFirst())
            let whole = Self.events([body]), single = Self.events(body.map { [$0] })
            #expect(whole.requests.count == single.requests.count && whole.replies == single.replies
                    && whole.error == single.error, "\(name)")
            #expect(!whole.requests.isEmpty || !whole.replies.isEmpty, "\(name) produced nothing")
        }
    }
}
