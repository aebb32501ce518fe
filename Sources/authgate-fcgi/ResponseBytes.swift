import AuthCore

/// A `Response` as CGI/FastCGI response bytes: `Status:` line, headers, blank line, body.
/// Header names must be tokens and values free of control characters (a value never splits
/// into a second header line); anything else is dropped and logged.
enum ResponseBytes {
    static func encode(_ response: Response, log: Logger) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160 + response.body.count)
        // The verify answers' status lines are ready-made bytes (interpolation showed in the profile).
        switch response.status {
        case 204: out.append(contentsOf: Self.status204)
        case 401: out.append(contentsOf: Self.status401)
        case 403: out.append(contentsOf: Self.status403)
        default: out.append(contentsOf: "Status: \(response.status) \(reasonPhrase(response.status))\r\n".utf8)
        }
        var hasLength = false
        for (name, value) in response.headers {
            guard let isLength = append(name, value, to: &out) else {
                log.error("dropped invalid response header '\(name.filter { $0.isASCII && !$0.isNewline })'")
                continue
            }
            if isLength { hasLength = true }
        }
        if !hasLength, !response.body.isEmpty {
            out.append(contentsOf: "Content-Length: \(response.body.count)\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        out.append(contentsOf: response.body)
        return out
    }

    private static let status204 = Array("Status: 204 \(reasonPhrase(204))\r\n".utf8)
    private static let status401 = Array("Status: 401 \(reasonPhrase(401))\r\n".utf8)
    private static let status403 = Array("Status: 403 \(reasonPhrase(403))\r\n".utf8)

    /// Appends `name: value` CRLF when the name is a token and the value has no CR, LF, NUL or
    /// other control character (tab allowed); nil (nothing appended) otherwise, else whether the
    /// header is a Content-Length. One pass over each string's contiguous UTF-8: the generic
    /// UTF8View walks (validation, a byte-wise append) were 15k instructions of an allowed verify's
    /// seven headers in the callgrind profile. The HTTP door's answer uses it too.
    static func append(_ name: String, _ value: String, to out: inout [UInt8]) -> Bool? {
        var name = name
        var value = value
        return name.withUTF8 { n -> Bool? in
            value.withUTF8 { v -> Bool? in
                guard !n.isEmpty, n.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }),
                      v.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else { return nil }
                out.append(contentsOf: n)
                out.append(UInt8(ascii: ":"))
                out.append(UInt8(ascii: " "))
                out.append(contentsOf: v)
                out.append(13)
                out.append(10)
                return isContentLength(n)
            }
        }
    }

    /// Case-insensitive "content-length" without allocating a lowercased copy per header.
    private static func isContentLength(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        let target = "content-length".utf8
        guard name.count == target.count else { return false }
        return zip(name, target).allSatisfy { a, b in (a | 0x20) == b || (a == b) }
    }
}

/// HTTP reason phrases for the FastCGI `Status:` line (the core's answers carry only the status).
func reasonPhrase(_ status: Int) -> String {
    switch status {
    case 200: "OK"
    case 201: "Created"
    case 204: "No Content"
    case 302: "Found"
    case 303: "See Other"
    case 400: "Bad Request"
    case 401: "Unauthorized"
    case 403: "Forbidden"
    case 404: "Not Found"
    case 405: "Method Not Allowed"
    case 413: "Payload Too Large"
    case 429: "Too Many Requests"
    case 500: "Internal Server Error"
    case 502: "Bad Gateway"
    case 503: "Service Unavailable"
    default: "Status"
    }
}
