import AuthCore
import AuthFastCGI

/// Every param the responder uses, read once from the request's name-value pairs (our record
/// parser's `FastCGIRequest`) or, in CGI mode, from the environment.
struct FastCGIParams {
    var method = ""
    var requestURI = ""
    var documentURI = ""
    var remoteAddress = ""
    /// nginx's `$request_id` (`fastcgi_param AUTH_REQUEST_ID`), for the log line only.
    var requestID = ""
    var headers: [String: String] = [:]
    /// `AUTH_VERIFY` is set (only the internal verify locations set it).
    var isVerify = false
    var allow: String?
    var roles: String?
    /// `AUTH_REQUIRE_AAL` (read as a digit: no String on the verify path); 1 when unset.
    var requireAAL: Int64 = 1

    init(envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) {
        guard let envp else { return }
        headers.reserveCapacity(16)   // a browser request's headers without a rehash
        var index = 0
        while let entry = envp[index] {
            index += 1
            let length = strlen(entry)
            entry.withMemoryRebound(to: UInt8.self, capacity: length) {
                take(UnsafeBufferPointer(start: $0, count: length))
            }
        }
    }

    /// From a request our own record parser read (the name-value pairs as sent).
    init(request: FastCGIRequest) {
        headers.reserveCapacity(16)
        request.params.withUnsafeBufferPointer { all in
            for (name, value) in request.pairs {
                take(name: UnsafeBufferPointer(rebasing: all[name]), value: UnsafeBufferPointer(rebasing: all[value]))
            }
        }
    }

    private mutating func take(_ entry: UnsafeBufferPointer<UInt8>) {
        guard let eq = entry.firstIndex(of: UInt8(ascii: "=")) else { return }
        take(name: UnsafeBufferPointer(rebasing: entry[..<eq]), value: UnsafeBufferPointer(rebasing: entry[(eq + 1)...]))
    }

    private mutating func take(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
        if name.starts(with: Self.httpPrefix) {
            let headerName = Self.headerName(UnsafeBufferPointer(rebasing: name[Self.httpPrefix.count...]))
            if headers[headerName] == nil { headers[headerName] = string(value) }  // first wins (as libfcgi's FCGX_GetParam did)
            return
        }
        // Compared as bytes: a String per param name showed in the verify profile.
        switch Name(name) {
        case .requestMethod: method = string(value)
        case .requestURI: requestURI = string(value)
        case .documentURI: documentURI = string(value)
        case .remoteAddr: remoteAddress = string(value)
        case .contentType: if !value.isEmpty { headers["content-type"] = string(value) }
        case .contentLength: if !value.isEmpty { headers["content-length"] = string(value) }
        case .authVerify: isVerify = !value.isEmpty && !(value.count == 1 && value[0] == UInt8(ascii: "0"))
        case .authAllow: allow = string(value)
        case .authRoles: roles = string(value)
        case .authRequireAAL: requireAAL = value.count == 1 && value[0] == UInt8(ascii: "2") ? 2 : 1
        case .authRequestID: requestID = string(value)
        case .other: break
        }
    }

    /// The non-HTTP_ params the responder reads.
    private enum Name {
        case requestMethod, requestURI, documentURI, remoteAddr, contentType, contentLength
        case authVerify, authAllow, authRoles, authRequestID, authRequireAAL, other

        static let table: [([UInt8], Name)] = [
            (Array("REQUEST_METHOD".utf8), .requestMethod), (Array("REQUEST_URI".utf8), .requestURI),
            (Array("DOCUMENT_URI".utf8), .documentURI), (Array("REMOTE_ADDR".utf8), .remoteAddr),
            (Array("CONTENT_TYPE".utf8), .contentType), (Array("CONTENT_LENGTH".utf8), .contentLength),
            (Array("AUTH_VERIFY".utf8), .authVerify), (Array("AUTH_ALLOW".utf8), .authAllow),
            (Array("AUTH_ROLES".utf8), .authRoles), (Array("AUTH_REQUEST_ID".utf8), .authRequestID),
            (Array("AUTH_REQUIRE_AAL".utf8), .authRequireAAL),
        ]

        init(_ raw: UnsafeBufferPointer<UInt8>) {
            for (bytes, name) in Self.table where bytes.count == raw.count && bytes.elementsEqual(raw) {
                self = name
                return
            }
            self = .other
        }
    }

    /// The transport-free request. Path and query come from `REQUEST_URI` (raw, as the client
    /// sent it; in an `auth_request` subrequest it is the original request's URI, while
    /// `QUERY_STRING` is empty there).
    func makeRequest() -> Request {
        var path = requestURI
        var query = ""
        if let mark = requestURI.firstIndex(of: "?") {
            path = String(requestURI[..<mark])
            query = String(requestURI[requestURI.index(after: mark)...])
        }
        if path.isEmpty { path = documentURI }
        return Request(method: method.isEmpty ? "GET" : method, path: path, query: query,
                       headers: headers, remoteAddress: remoteAddress,
                       verify: isVerify ? GatePolicy(allow: allow, roles: roles, requireAAL: requireAAL) : nil)
    }

    /// The path for the access line: never the query. A verify is logged under its location.
    var logPath: String {
        if isVerify, !documentURI.isEmpty { return documentURI }
        if let mark = requestURI.firstIndex(of: "?") { return String(requestURI[..<mark]) }
        return requestURI.isEmpty ? documentURI : requestURI
    }

    private static let httpPrefix = Array("HTTP_".utf8)

    /// `HTTP_X_AUTH_KIND` -> `x-auth-kind`.
    private static func headerName(_ raw: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: raw.count) { out in
            for (i, byte) in raw.enumerated() {
                switch byte {
                case UInt8(ascii: "_"): out[i] = UInt8(ascii: "-")
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): out[i] = byte + 32
                default: out[i] = byte
                }
            }
            return raw.count
        }
    }

    private func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}

#if canImport(Glibc)
import Glibc
#endif
