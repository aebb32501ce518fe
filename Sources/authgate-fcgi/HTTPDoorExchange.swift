import AuthCore

/// The HTTP verify door on a worker thread: a request the reader read -> `Worker` -> an HTTP/1.1
/// answer. Renders the verify route's result exactly as the FastCGI door does (FastCGIExchange):
/// only 204/401/403 ever leave (anything else is logged and sent as 401), always with
/// `Content-Length: 0` and no body, so nginx keeps the upstream connection; the error code in
/// `X-Auth-Error` (a 401 without one says `invalid_token`).
struct HTTPDoorExchange {
    let worker: Worker
    /// The verify route over this worker.
    let verify: VerifyRoute
    /// This thread's rendered allow pieces (identity lines per token, X-Accel-Expires per second).
    let identityBytes = AllowBytesCache()

    init(worker: Worker) {
        self.worker = worker
        verify = VerifyRoute(worker: worker)
    }

    private static let verifyStatuses: Set<Int> = [204, 401, 403]

    /// The answer; its access line written at once (a worker thread's door request).
    func serve(_ door: HTTPDoorRequest) -> [UInt8] {
        var line: [UInt8] = []
        let out = serve(door, lines: &line)
        worker.app.log.emit(lines: line)
        return out
    }

    /// The answer; its access line appended to `lines`, which the caller writes before the
    /// answer leaves (a door thread writes the lines of one wake-up at once).
    func serve(_ door: HTTPDoorRequest, lines: inout [UInt8]) -> [UInt8] {
        let started = monotonicMicros()
        worker.takeReloadedSettings()
        let request = door.request
        let policy = request.verify ?? GatePolicy()
        var credentialSent = false
        let (decision, now) = verify.decision(request, policy: policy, credentialSent: &credentialSent)
        if case let .allow(identity, nil, cacheable) = decision,
           let out = VerifyAllowBytes.http(identity, cacheable: cacheable, now: now,
                                           tail: door.close ? HTTPDoorResponse.tailClose : HTTPDoorResponse.tailKeep,
                                           cache: identityBytes) {
            worker.app.log.appendRequest(to: &lines, method: request.method, path: door.logPath, status: 204,
                                         micros: monotonicMicros() - started, client: request.remoteAddress, requestID: door.requestID)
            return out
        }
        var response = verify.response(decision, now: now, request: request, policy: policy, credentialSent: credentialSent)
        if !Self.verifyStatuses.contains(response.status) {
            worker.app.log.error("verify answered \(response.status); sent 401 instead (nginx would turn it into a 500)")
            response = Response(status: 401, headers: [("WWW-Authenticate", "Bearer")])
        }
        let out = HTTPDoorResponse.encode(response, close: door.close, log: worker.app.log)
        worker.app.log.appendRequest(to: &lines, method: door.request.method, path: door.logPath, status: response.status,
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
            // The name's class over its contiguous bytes, never a lowercased copy (the verify path).
            var name = name
            let which = name.withUTF8 { Self.classify($0, identity: response.status == 204) }
            if which == Self.skip { continue }
            // Validated and copied in one pass (ResponseBytes.append, as the FastCGI door's answer).
            guard ResponseBytes.append(name, value, to: &out) != nil else {
                log.error("dropped invalid response header '\(name.filter { $0.isASCII && !$0.isNewline })'")
                continue
            }
            if which == Self.error { hasError = true } else if which >= 0 { named |= 1 << which }
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
    private static let identityLower = identityHeaders.map { Array($0.lowercased().utf8) }
    private static let skipped = ["content-length", "connection", "transfer-encoding", "keep-alive"].map { Array($0.utf8) }
    private static let errorLower = Array("x-auth-error".utf8)
    private static let skip = -1, error = -2, other = -3

    /// A header name's class: one the door writes itself (`skip`), `X-Auth-Error`, the index of
    /// an identity header (when `identity`), or `other`. ASCII case-insensitive.
    private static func classify(_ name: UnsafeBufferPointer<UInt8>, identity: Bool) -> Int {
        if skipped.contains(where: { same(name, $0) }) { return skip }
        if same(name, errorLower) { return error }
        if identity, let i = identityLower.firstIndex(where: { same(name, $0) }) { return i }
        return other
    }

    @inline(__always) private static func same(_ name: UnsafeBufferPointer<UInt8>, _ lower: [UInt8]) -> Bool {
        guard name.count == lower.count else { return false }
        for i in 0..<name.count where name[i] | (name[i] &- 65 < 26 ? 0x20 : 0) != lower[i] { return false }
        return true
    }

    private static let identityEmpty = identityHeaders.map { Array("\($0): \r\n".utf8) }

    private static let status204 = Array("HTTP/1.1 204 \(reasonPhrase(204))\r\n".utf8)
    private static let status401 = Array("HTTP/1.1 401 \(reasonPhrase(401))\r\n".utf8)
    private static let status403 = Array("HTTP/1.1 403 \(reasonPhrase(403))\r\n".utf8)
    static let tailKeep = Array("Content-Length: 0\r\n\r\n".utf8)
    static let tailClose = Array("Content-Length: 0\r\nConnection: close\r\n\r\n".utf8)
}
