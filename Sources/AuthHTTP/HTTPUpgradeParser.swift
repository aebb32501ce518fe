/// Why a request or response head was refused.
public enum HTTPParseError: Error, Equatable, Sendable {
    case tooLarge
    case malformed(String)
}

/// Strict incremental parser for an HTTP/1.1 head (request line or status line, then headers),
/// bounded to `maxHeadSize` bytes and `maxHeaders` header lines in total. The one head parser of
/// the project: the companion's upgrade requests and upstream answers, and the responder's HTTP
/// verify door (authgate-fcgi HTTPDoor*), which feeds it request after request on a kept
/// connection (a fresh parser per request; `consumed` says where a pipelined next one starts). An enum state machine over lines: bytes are fed in
/// any split, and the result says how many bytes of the last chunk belonged to the head (the
/// rest, e.g. WebSocket frames after a 101, belongs to the caller).
public struct HTTPUpgradeParser: Sendable {
    public enum Kind: Sendable { case request, response }

    public enum Result: Equatable, Sendable {
        case needMore
        case complete(HTTPHead, consumed: Int)
        case failed(HTTPParseError)
    }

    enum State: Sendable {
        case startLine
        case headers
        case complete(HTTPHead)
        case failed(HTTPParseError)
    }

    public static let defaultMaxHeadSize = 8192
    public static let maxHeaders = 100

    public let kind: Kind
    public let maxHeadSize: Int
    /// Header lines accepted (one more is `.tooLarge`).
    public let maxHeaderCount: Int
    /// Accept `HTTP/1.0` request lines too (the demo upstream behind nginx's default proxy_pass).
    public let acceptHTTP10: Bool
    private var state: State = .startLine
    private var line: [UInt8] = []
    private var total = 0
    private var head = HTTPHead()

    public init(kind: Kind = .request, maxHeadSize: Int = HTTPUpgradeParser.defaultMaxHeadSize,
                acceptHTTP10: Bool = false, maxHeaders: Int = HTTPUpgradeParser.maxHeaders) {
        self.kind = kind
        self.maxHeadSize = maxHeadSize
        self.maxHeaderCount = maxHeaders
        self.acceptHTTP10 = acceptHTTP10
    }

    /// Bytes buffered for the current, unfinished line (bounded by `maxHeadSize`).
    public var bufferedCount: Int { line.count }

    public mutating func feed(_ bytes: [UInt8]) -> Result {
        bytes.withUnsafeBytes { feed($0) }
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Result {
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

    private mutating func fail(_ e: HTTPParseError) -> Result {
        state = .failed(e)
        line = []
        return .failed(e)
    }

    /// Handles one line without its CRLF; returns an error or advances the state.
    private mutating func processLine() -> HTTPParseError? {
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

    /// RFC 9110 tchar.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case 33, 35, 36, 37, 38, 39, 42, 43, 45, 46, 94, 95, 96, 124, 126:  // !#$%&'*+-.^_`|~
            return true
        default:
            return false
        }
    }
}
