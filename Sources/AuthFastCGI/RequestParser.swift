/// One complete FastCGI request, as the web server sent it.
public struct FastCGIRequest: Sendable {
    public var id: UInt16 = 0
    public var role: Role = .responder
    /// `FCGI_KEEP_CONN`: the web server keeps the connection for further requests.
    public var keepConnection = false
    /// The PARAMS stream (name-value pairs), and where each name and value lies in it.
    public var params: [UInt8] = []
    public var pairs: [(name: Range<Int>, value: Range<Int>)] = []
    /// STDIN up to the body cap; empty when it was larger (`bodyTooLarge`).
    public var body: [UInt8] = []
    public var bodyTooLarge = false
    public init() {}
}

/// Why a connection's byte stream was refused (the connection is closed).
public enum ParseError: Error, Equatable, Sendable {
    case badVersion
    case badBeginRequest
    case duplicateBeginRequest
    case paramsTooLarge
    case malformedParams
    case streamAfterItsEnd
}

/// Incremental FastCGI record parser for one connection: an enum state machine fed whatever
/// bytes arrived (split anywhere), reporting a request only once it is complete (PARAMS ended,
/// and for the Responder role STDIN ended too; Apache sends an Authorizer no STDIN at all).
/// One request at a time: a BEGIN_REQUEST for a second id while one is active is answered
/// `FCGI_CANT_MPX_CONN`; records of inactive ids are ignored (spec §3.3). Management records
/// (id 0) are answered: GET_VALUES with the values asked for, anything else UNKNOWN_TYPE.
public struct RequestParser: Sendable {
    public enum Event: Sendable {
        /// Need more bytes; everything up to the end of the buffer was consumed.
        case needMore
        case request(FastCGIRequest)
        /// Bytes to send back now (management answer or END_REQUEST of a refused or aborted
        /// request); `close` when the web server asked for the connection to end there.
        case reply([UInt8], close: Bool)
    }

    struct Header: Sendable {
        var type: RecordType
        var id: UInt16
        var length: Int
        var padding: Int
    }

    enum Sink: Sendable { case params, stdin, small, ignore }

    enum State: Sendable {
        case header(SIMD8<UInt8>, count: Int)
        case content(Header, remaining: Int, sink: Sink)
        case padding(remaining: Int)
        case failed(ParseError)
    }

    public var maxParams: Int
    public var maxBody: Int
    /// Answered to GET_VALUES for FCGI_MAX_CONNS and FCGI_MAX_REQS.
    public let maxConnections: Int
    private var state: State = .header(SIMD8(), count: 0)
    private var current = FastCGIRequest()
    private var active = false
    private var paramsEnded = false
    private var stdinEnded = false
    private var small: [UInt8] = []

    public init(maxParams: Int = 256 * 1024, maxBody: Int = 65536, maxConnections: Int = 1024) {
        self.maxParams = maxParams
        self.maxBody = maxBody
        self.maxConnections = maxConnections
    }

    /// Between requests: no record partly read and no request begun.
    public var idle: Bool {
        if case let .header(_, count) = state { return count == 0 && !active }
        return false
    }

    /// Returns the next event from `bytes` starting at `index`, advancing `index`.
    public mutating func next(_ bytes: UnsafeRawBufferPointer, at index: inout Int) throws(ParseError) -> Event {
        while index < bytes.count {
            switch state {
            case let .failed(e):
                throw e
            case .header(var h, var count):
                while count < 8 && index < bytes.count {
                    h[count] = bytes[index]
                    count += 1
                    index += 1
                }
                guard count == 8 else { state = .header(h, count: count); return .needMore }
                guard h[0] == 1 else { return try fail(.badVersion) }
                let header = Header(type: RecordType(rawValue: h[1]), id: UInt16(h[2]) << 8 | UInt16(h[3]),
                                    length: Int(h[4]) << 8 | Int(h[5]), padding: Int(h[6]))
                let sink = try open(header)
                if header.length > 0 {
                    state = .content(header, remaining: header.length, sink: sink)
                } else {
                    state = header.padding > 0 ? .padding(remaining: header.padding) : .header(SIMD8(), count: 0)
                    if let event = try close(header) { return event }
                }
            case let .content(header, remaining, sink):
                let n = min(remaining, bytes.count - index)
                let slice = UnsafeRawBufferPointer(rebasing: bytes[index..<(index + n)])
                index += n
                switch sink {
                case .params:
                    guard current.params.count + n <= maxParams else { return try fail(.paramsTooLarge) }
                    current.params.append(contentsOf: slice)
                case .stdin:
                    if current.bodyTooLarge { break }
                    if current.body.count + n > maxBody {
                        current.bodyTooLarge = true
                        current.body = []
                    } else {
                        current.body.append(contentsOf: slice)
                    }
                case .small:
                    small.append(contentsOf: slice)
                case .ignore:
                    break
                }
                if remaining > n {
                    state = .content(header, remaining: remaining - n, sink: sink)
                } else {
                    state = header.padding > 0 ? .padding(remaining: header.padding) : .header(SIMD8(), count: 0)
                    if let event = try close(header) { return event }
                }
            case let .padding(remaining):
                let n = min(remaining, bytes.count - index)
                index += n
                state = remaining > n ? .padding(remaining: remaining - n) : .header(SIMD8(), count: 0)
            }
        }
        return .needMore
    }

    private mutating func fail(_ error: ParseError) throws(ParseError) -> Event {
        state = .failed(error)
        throw error
    }

    private func isCurrent(_ header: Header) -> Bool { active && header.id == current.id }

    /// Where a record's content goes, decided from its header.
    private mutating func open(_ header: Header) throws(ParseError) -> Sink {
        small.removeAll(keepingCapacity: true)
        switch header.type {
        case .beginRequest:
            guard header.length == 8, header.id != 0 else { _ = try fail(.badBeginRequest); return .ignore }
            return .small
        case .params where isCurrent(header):
            guard !paramsEnded else { _ = try fail(.streamAfterItsEnd); return .ignore }
            return .params
        case .stdin where isCurrent(header):
            guard !stdinEnded else { _ = try fail(.streamAfterItsEnd); return .ignore }
            return .stdin
        case .getValues where header.id == 0:
            return .small
        default:
            return .ignore
        }
    }

    /// At the end of a record's content: what it completes.
    private mutating func close(_ header: Header) throws(ParseError) -> Event? {
        if header.id == 0 {
            if header.type == .getValues { return .reply(valuesResult(), close: false) }
            var out: [UInt8] = []
            RecordWriter.header(.unknownType, id: 0, length: 8, into: &out)
            out += [header.type.rawValue, 0, 0, 0, 0, 0, 0, 0]
            return .reply(out, close: false)
        }
        switch header.type {
        case .beginRequest:
            let role = Role(rawValue: UInt16(small[0]) << 8 | UInt16(small[1]))
            let keep = small[2] & 1 != 0
            if active {
                guard header.id != current.id else { return try fail(.duplicateBeginRequest) }
                var out: [UInt8] = []
                RecordWriter.endRequest(id: header.id, status: .cantMultiplex, into: &out)
                return .reply(out, close: false)
            }
            guard role == .responder || role == .authorizer else {
                var out: [UInt8] = []
                RecordWriter.endRequest(id: header.id, status: .unknownRole, into: &out)
                return .reply(out, close: !keep)
            }
            current = FastCGIRequest()
            current.id = header.id
            current.role = role
            current.keepConnection = keep
            active = true
            paramsEnded = false
            stdinEnded = false
            return nil
        case .abortRequest where isCurrent(header):
            active = false
            var out: [UInt8] = []
            RecordWriter.endRequest(id: header.id, status: .requestComplete, into: &out)
            return .reply(out, close: !current.keepConnection)
        case .params where isCurrent(header) && header.length == 0:
            guard let pairs = NameValuePairs.decode(current.params) else { return try fail(.malformedParams) }
            current.pairs = pairs
            paramsEnded = true
        case .stdin where isCurrent(header) && header.length == 0:
            stdinEnded = true
        default:
            return nil
        }
        guard paramsEnded && (stdinEnded || current.role == .authorizer) else { return nil }
        active = false
        let done = current
        current = FastCGIRequest()
        return .request(done)
    }

    /// FCGI_GET_VALUES_RESULT for the variables asked for that this responder knows.
    private func valuesResult() -> [UInt8] {
        var content: [UInt8] = []
        for (name, _) in NameValuePairs.decode(small) ?? [] {
            let asked = Array(small[name])
            switch String(decoding: asked, as: UTF8.self) {
            case "FCGI_MAX_CONNS", "FCGI_MAX_REQS": RecordWriter.nameValue(asked, Array("\(maxConnections)".utf8), into: &content)
            case "FCGI_MPXS_CONNS": RecordWriter.nameValue(asked, [UInt8(ascii: "0")], into: &content)
            default: break
            }
        }
        content = Array(content.prefix(65535))
        var out: [UInt8] = []
        RecordWriter.header(.getValuesResult, id: 0, length: content.count, into: &out)
        return out + content
    }
}
