import AuthCrypto

/// A transport-free HTTP request: what the FastCGI responder (or a test) hands the router.
public struct Request: Sendable {
    public var method: String
    /// Path without the query string, as the client sent it (not decoded).
    public var path: String
    /// Raw query string without `?` (may be empty).
    public var query: String
    /// Header names lowercased (`authorization`, `content-type`, ...).
    public var headers: [String: String]
    public var body: [UInt8]
    public var remoteAddress: String
    /// Set when the request came through an internal `auth_request` verify location.
    public var verify: GatePolicy?

    public init(method: String, path: String, query: String = "", headers: [String: String] = [:],
                body: [UInt8] = [], remoteAddress: String = "", verify: GatePolicy? = nil) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        self.verify = verify
    }

    public func header(_ name: String) -> String? { headers[name] }

    /// The bearer credential of the `Authorization` header, if any.
    public var bearer: String? {
        guard let value = headers["authorization"] else { return nil }
        // "bearer " in any ASCII case, then the credential without surrounding spaces/tabs;
        // on the UTF-8 view (no lowercased copy, no Character walk: it is on the verify path).
        let utf8 = value.utf8
        let prefix: [UInt8] = [0x62, 0x65, 0x61, 0x72, 0x65, 0x72, 0x20]   // "bearer "
        guard utf8.count > prefix.count else { return nil }
        var i = utf8.startIndex
        for p in prefix {
            let b = utf8[i]
            guard ((b >= 0x41 && b <= 0x5A) ? b | 0x20 : b) == p else { return nil }
            i = utf8.index(after: i)
        }
        var end = utf8.endIndex
        while i < end, utf8[i] == 0x20 || utf8[i] == 0x09 { i = utf8.index(after: i) }
        while end > i, utf8[utf8.index(before: end)] == 0x20 || utf8[utf8.index(before: end)] == 0x09 { end = utf8.index(before: end) }
        return String(value[i..<end])
    }

    /// Values of one query parameter, raw (not percent-decoded), through the shared parser
    /// (`Query.parameters`: `&` and `;` separate pairs).
    public func rawQueryValues(_ name: String) -> [Substring] {
        Query.parameters(query).filter { $0.name == name }.map { $0.value ?? "" }
    }
}

extension String {
    func trimmingASCIISpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
