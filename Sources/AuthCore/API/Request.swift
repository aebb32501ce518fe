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
        guard var value = headers["authorization"] else { return nil }
        // "bearer " in any ASCII case, then the credential without surrounding spaces/tabs; on
        // the contiguous UTF-8 bytes (no lowercased copy, no index walk: it is on the verify path).
        let bounds = value.withUTF8 { v -> (Int, Int)? in
            guard v.count > 7,
                  v[0] | 0x20 == 0x62, v[1] | 0x20 == 0x65, v[2] | 0x20 == 0x61, v[3] | 0x20 == 0x72,
                  v[4] | 0x20 == 0x65, v[5] | 0x20 == 0x72, v[6] == 0x20 else { return nil }   // "bearer "
            var i = 7, end = v.count
            while i < end, v[i] == 0x20 || v[i] == 0x09 { i += 1 }
            while end > i, v[end - 1] == 0x20 || v[end - 1] == 0x09 { end -= 1 }
            return (i, end)
        }
        guard let (i, end) = bounds else { return nil }
        // Both bounds sit next to ASCII bytes: scalar boundaries, so the slice is valid UTF-8 as is.
        let utf8 = value.utf8
        return String(value[utf8.index(utf8.startIndex, offsetBy: i)..<utf8.index(utf8.startIndex, offsetBy: end)])
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
