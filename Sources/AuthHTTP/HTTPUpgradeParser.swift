#if canImport(Glibc)
import Glibc
#endif

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

    /// A line at a time: each complete line is handled straight from `bytes` (only a line split
    /// across two feeds is buffered), so the door's verify path does not append its head byte by
    /// byte (the old loop, kept as the reference in VerifyHotPathRuleTests, grew and freed the
    /// line buffer for every header). The same results for every input and every split: the head
    /// is too large as soon as a byte past `maxHeadSize` arrives, a line is checked at its LF.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Result {
        switch state {
        case let .complete(h): return .complete(h, consumed: 0)
        case let .failed(e): return .failed(e)
        case .startLine, .headers: break
        }
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return .needMore }
        let count = bytes.count
        var i = 0
        while i < count {
            guard let found = memchr(base + i, 10, count - i) else {
                // No LF: the rest is an unfinished line (bounded by maxHeadSize).
                guard count - i <= maxHeadSize - total else { return fail(.tooLarge) }
                total += count - i
                line.append(contentsOf: UnsafeBufferPointer(start: base + i, count: count - i))
                return .needMore
            }
            let lf = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            guard lf + 1 - i <= maxHeadSize - total else { return fail(.tooLarge) }
            total += lf + 1 - i
            let error: HTTPParseError?
            if line.isEmpty {
                error = processLine(UnsafeBufferPointer(start: base + i, count: lf - i))
            } else {
                line.append(contentsOf: UnsafeBufferPointer(start: base + i, count: lf - i))
                error = line.withUnsafeBufferPointer { processLine($0) }
                line.removeAll(keepingCapacity: false)
            }
            i = lf + 1
            if let error { return fail(error) }
            if case let .complete(h) = state { return .complete(h, consumed: i) }
        }
        return .needMore
    }

    private mutating func fail(_ e: HTTPParseError) -> Result {
        state = .failed(e)
        line = []
        return .failed(e)
    }

    /// Handles one line up to its LF (its CR still on); returns an error or advances the state.
    private mutating func processLine(_ withCR: UnsafeBufferPointer<UInt8>) -> HTTPParseError? {
        guard withCR.last == 13 else { return .malformed("bare LF") }
        let line = UnsafeBufferPointer(rebasing: withCR[..<(withCR.count - 1)])
        if let base = line.baseAddress, memchr(base, 13, line.count) != nil || memchr(base, 0, line.count) != nil {
            return .malformed("control byte in line")
        }
        switch state {
        case .startLine:
            let parts = line.split(separator: 32, maxSplits: 2, omittingEmptySubsequences: false)
            switch kind {
            case .request:
                guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(Self.isTokenByte),
                      parts[1].first == UInt8(ascii: "/"), parts[1].allSatisfy({ $0 > 32 && $0 < 127 }),
                      parts[2].elementsEqual("HTTP/1.1".utf8) || (acceptHTTP10 && parts[2].elementsEqual("HTTP/1.0".utf8))
                else { return .malformed("bad request line") }
                head.version = String(decoding: UnsafeBufferPointer(rebasing: parts[2]), as: UTF8.self)
                head.method = String(decoding: UnsafeBufferPointer(rebasing: parts[0]), as: UTF8.self)
                head.target = String(decoding: UnsafeBufferPointer(rebasing: parts[1]), as: UTF8.self)
            case .response:
                guard parts.count >= 2, parts[0].elementsEqual("HTTP/1.1".utf8), parts[1].count == 3,
                      parts[1].allSatisfy({ $0 >= 48 && $0 <= 57 })
                else { return .malformed("bad status line") }
                head.status = Int(String(decoding: UnsafeBufferPointer(rebasing: parts[1]), as: UTF8.self)) ?? 0
                head.reason = parts.count == 3 ? String(decoding: UnsafeBufferPointer(rebasing: parts[2]), as: UTF8.self) : ""
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
            let value = UnsafeBufferPointer(rebasing: line[(colon + 1)...])
            let (valid, ascii) = Self.scanValue(value)
            guard valid else { return .malformed("control byte in header value") }
            guard head.headers.count < maxHeaderCount else { return .tooLarge }
            if head.headers.isEmpty { head.headers.reserveCapacity(16) }
            head.headers.append(HTTPHeader(String(decoding: UnsafeBufferPointer(rebasing: line[..<colon]), as: UTF8.self),
                                           ascii ? Self.trimmedASCII(value) : String(decoding: value, as: UTF8.self).trimmingSpaces()))
        case .complete, .failed:
            break
        }
        return nil
    }

    /// Whether every byte is a tab or at least 0x20 and not 0x7F (a header value's bytes), and
    /// whether all are ASCII: eight bytes at a time while they are plain printable ASCII (an
    /// Authorization value is a few hundred of them), byte by byte from the first other word.
    @inline(__always)
    static func scanValue(_ v: UnsafeBufferPointer<UInt8>) -> (valid: Bool, ascii: Bool) {
        var i = HeaderValueBytes.plainWords(v, stopAtHighBytes: true)
        var ascii = true
        while i < v.count {
            let b = v[i]
            guard b == 9 || (b >= 32 && b != 127) else { return (false, ascii) }
            if b >= 0x80 { ascii = false }
            i += 1
        }
        return (true, ascii)
    }

    /// `String(decoding: value, as: UTF8.self).trimmingSpaces()` for an all-ASCII value (every
    /// byte a Character of its own: CR, the one byte that would join the next, never gets here),
    /// without the intermediate String.
    static func trimmedASCII(_ value: UnsafeBufferPointer<UInt8>) -> String {
        var start = 0, end = value.count
        while start < end, value[start] == 32 || value[start] == 9 { start += 1 }
        while end > start, value[end - 1] == 32 || value[end - 1] == 9 { end -= 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: value[start..<end]), as: UTF8.self)
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
