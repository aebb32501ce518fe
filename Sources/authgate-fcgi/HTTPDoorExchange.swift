import AuthCore

/// The HTTP verify door on a worker thread: a request the reader read -> `Worker` -> an HTTP/1.1
/// answer. Renders the verify route's result exactly as the FastCGI door does (FastCGIExchange):
/// only 204/401/403 ever leave (anything else is logged and sent as 401), always with
/// `Content-Length: 0` and no body, so nginx keeps the upstream connection; the error code in
/// `X-Auth-Error` (a 401 without one says `invalid_token`).
struct HTTPDoorExchange {
    let worker: Worker

    private static let verifyStatuses: Set<Int> = [204, 401, 403]

    func serve(_ door: HTTPDoorRequest) -> [UInt8] {
        let started = monotonicMicros()
        worker.takeReloadedSettings()
        var response = worker.handle(door.request)
        if !Self.verifyStatuses.contains(response.status) {
            worker.app.log.error("verify answered \(response.status); sent 401 instead (nginx would turn it into a 500)")
            response = Response(status: 401, headers: [("WWW-Authenticate", "Bearer")])
        }
        let out = HTTPDoorResponse.encode(response, close: door.close, log: worker.app.log)
        worker.app.log.request(method: door.request.method, path: door.logPath, status: response.status,
                               micros: monotonicMicros() - started, client: door.request.remoteAddress, requestID: door.requestID)
        return out
    }
}

/// The door's answer bytes. Header names must be tokens and values free of control characters
/// (as ResponseBytes); `Content-Length`/`Connection`/`Transfer-Encoding` from the route are never
/// copied (the door writes its own); the body is never sent. An allow names every identity
/// header, empty when the identity has no such field: a gateway that copies a list of answer
/// headers then copies "" instead of keeping the client's value or inventing one (Caddy 2.6's
/// forward_auth `copy_headers` hands the app its literal `{http.reverse_proxy.header.X-Auth-Role}`
/// placeholder for a header the answer lacks; CaddyGateTests).
enum HTTPDoorResponse {
    static func encode(_ response: Response, close: Bool, log: Logger) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        switch response.status {
        case 204: out.append(contentsOf: Self.status204)
        case 401: out.append(contentsOf: Self.status401)
        case 403: out.append(contentsOf: Self.status403)
        default: out.append(contentsOf: "HTTP/1.1 \(response.status) \(reasonPhrase(response.status))\r\n".utf8)
        }
        var hasError = false
        var named: UInt16 = 0
        for (name, value) in response.headers {
            guard isToken(name), isFieldValue(value) else {
                log.error("dropped invalid response header '\(name.filter { $0.isASCII && !$0.isNewline })'")
                continue
            }
            let lower = name.lowercased()
            switch lower {
            case "content-length", "connection", "transfer-encoding", "keep-alive": continue
            case "x-auth-error": hasError = true
            default:
                if response.status == 204, let i = identityLower.firstIndex(of: lower) { named |= 1 << i }
            }
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        if response.status == 204 {
            for (i, empty) in identityEmpty.enumerated() where named & (1 << i) == 0 { out.append(contentsOf: empty) }
        }
        if response.status == 401 && !hasError { out.append(contentsOf: "X-Auth-Error: invalid_token\r\n".utf8) }
        out.append(contentsOf: close ? Self.tailClose : Self.tailKeep)
        return out
    }

    /// A refused request head: answered and closed.
    static func refusal(_ refusal: HTTPDoorRefusal) -> [UInt8] {
        var text = "HTTP/1.1 \(refusal.status) \(reasonPhrase(refusal.status))\r\nX-Auth-Error: \(refusal.code)\r\n"
        if refusal.status == 405 { text += "Allow: GET, HEAD\r\n" }
        return Array(text.utf8) + tailClose
    }

    /// The identity headers of an allow (CONTRACT.md "Verify", authgate-identity.conf).
    static let identityHeaders = ["X-Auth-Kind", "X-Auth-User-Id", "X-Auth-Tenant-Id", "X-Auth-Home-Tenant-Id", "X-Auth-Role",
                                  "X-Auth-Email", "X-Auth-Session-Id", "X-Auth-Project-Id", "X-Auth-Node-Id"]
    private static let identityLower = identityHeaders.map { $0.lowercased() }
    private static let identityEmpty = identityHeaders.map { Array("\($0): \r\n".utf8) }

    private static let status204 = Array("HTTP/1.1 204 \(reasonPhrase(204))\r\n".utf8)
    private static let status401 = Array("HTTP/1.1 401 \(reasonPhrase(401))\r\n".utf8)
    private static let status403 = Array("HTTP/1.1 403 \(reasonPhrase(403))\r\n".utf8)
    private static let tailKeep = Array("Content-Length: 0\r\n\r\n".utf8)
    private static let tailClose = Array("Content-Length: 0\r\nConnection: close\r\n\r\n".utf8)

    private static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { b in b > 32 && b < 127 && b != UInt8(ascii: ":") }
    }

    private static func isFieldValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { b in b == 9 || (b >= 32 && b != 127) }
    }
}
