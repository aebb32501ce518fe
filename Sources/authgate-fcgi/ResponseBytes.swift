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
            guard isToken(name), isFieldValue(value) else {
                log.error("dropped invalid response header '\(name.filter { $0.isASCII && !$0.isNewline })'")
                continue
            }
            if !hasLength, isContentLength(name) { hasLength = true }
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: value.utf8)
            out.append(contentsOf: "\r\n".utf8)
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

    /// Case-insensitive "content-length" without allocating a lowercased copy per header.
    private static func isContentLength(_ name: String) -> Bool {
        let target = "content-length".utf8
        guard name.utf8.count == target.count else { return false }
        return zip(name.utf8, target).allSatisfy { a, b in (a | 0x20) == b || (a == b) }
    }

    private static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { b in
            b > 32 && b < 127 && b != UInt8(ascii: ":")
        }
    }

    /// No CR, LF, NUL or other control characters (tab allowed).
    private static func isFieldValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { b in b == 9 || (b >= 32 && b != 127) }
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
