import AuthCore

/// Every param the responder uses, copied out of libfcgi at once: the pointers that
/// `FCGX_GetParam`/`envp` hand out die at the next `FCGX_Finish_r`/`FCGX_Accept_r`.
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

    init(envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) {
        guard let envp else { return }
        var index = 0
        while let entry = envp[index] {
            index += 1
            let length = strlen(entry)
            entry.withMemoryRebound(to: UInt8.self, capacity: length) {
                take(UnsafeBufferPointer(start: $0, count: length))
            }
        }
    }

    private mutating func take(_ entry: UnsafeBufferPointer<UInt8>) {
        guard let eq = entry.firstIndex(of: UInt8(ascii: "=")) else { return }
        let name = UnsafeBufferPointer(rebasing: entry[..<eq])
        let value = UnsafeBufferPointer(rebasing: entry[(eq + 1)...])
        if name.starts(with: Self.httpPrefix) {
            let headerName = Self.headerName(UnsafeBufferPointer(rebasing: name[Self.httpPrefix.count...]))
            if headers[headerName] == nil { headers[headerName] = string(value) }  // first wins, like FCGX_GetParam
            return
        }
        switch string(name) {
        case "REQUEST_METHOD": method = string(value)
        case "REQUEST_URI": requestURI = string(value)
        case "DOCUMENT_URI": documentURI = string(value)
        case "REMOTE_ADDR": remoteAddress = string(value)
        case "CONTENT_TYPE": if !value.isEmpty { headers["content-type"] = string(value) }
        case "CONTENT_LENGTH": if !value.isEmpty { headers["content-length"] = string(value) }
        case "AUTH_VERIFY": isVerify = !value.isEmpty && !(value.count == 1 && value[0] == UInt8(ascii: "0"))
        case "AUTH_ALLOW": allow = string(value)
        case "AUTH_ROLES": roles = string(value)
        case "AUTH_REQUEST_ID": requestID = string(value)
        default: break
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
                       verify: isVerify ? VerifyPolicy(allow: allow, roles: roles) : nil)
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
