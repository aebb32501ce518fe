import AuthCore
import CFastCGI
import Glibc

/// One request/response exchange on a worker thread: params -> `Request` -> `Worker` ->
/// FastCGI `Status:` + headers + body. Owns the thread's scratch buffer.
struct FastCGIExchange {
    let worker: Worker
    private var chunk = [UInt8](repeating: 0, count: 16 * 1024)

    init(worker: Worker) { self.worker = worker }

    private static let verifyStatuses: Set<Int> = [204, 401, 403]

    mutating func serve(_ fcgi: UnsafeMutablePointer<FCGX_Request>) {
        let started = monotonicMicros()
        let app = worker.app
        let params = FastCGIParams(envp: authgate_fcgx_envp(fcgi))
        var request = params.makeRequest()
        let input = authgate_fcgx_in(fcgi)
        var response: Response

        if request.verify != nil {
            // The subrequest has no body and its CONTENT_LENGTH is the original's: never
            // cap or trust it, just consume stdin so the connection stays in sync.
            drain(input)
            response = worker.handle(request)
            if !Self.verifyStatuses.contains(response.status) {
                app.log.error("verify answered \(response.status); sent 401 instead (nginx would turn it into a 500)")
                response = Response(status: 401, headers: [("WWW-Authenticate", "Bearer")])
            }
        } else if let body = readBody(input, cap: app.settings.maxBody) {
            request.body = body
            response = worker.handle(request)
        } else {
            response = app.settings.profile.respond(.payloadTooLarge)
        }

        write(response, to: authgate_fcgx_out(fcgi))
        app.log.request(method: request.method, path: params.logPath, status: response.status,
                        micros: monotonicMicros() - started, client: params.remoteAddress, requestID: params.requestID)
    }

    /// Reads stdin to EOF. Returns nil when it holds more than `cap` bytes (still read to
    /// the end, so the connection is left in a clean state).
    private mutating func readBody(_ input: UnsafeMutablePointer<FCGX_Stream>?, cap: Int) -> [UInt8]? {
        var body: [UInt8] = []
        var tooLarge = false
        while true {
            let n = chunk.withUnsafeMutableBytes { authgate_fcgx_read($0.baseAddress, Int32($0.count), input) }
            guard n > 0 else { break }
            if tooLarge { continue }
            if body.count + Int(n) > cap {
                tooLarge = true
                body = []
            } else {
                body.append(contentsOf: chunk[0..<Int(n)])
            }
        }
        return tooLarge ? nil : body
    }

    private mutating func drain(_ input: UnsafeMutablePointer<FCGX_Stream>?) {
        while chunk.withUnsafeMutableBytes({ authgate_fcgx_read($0.baseAddress, Int32($0.count), input) }) > 0 {}
    }

    private func write(_ response: Response, to output: UnsafeMutablePointer<FCGX_Stream>?) {
        var out: [UInt8] = []
        out.reserveCapacity(160 + response.body.count)
        out.append(contentsOf: "Status: \(response.status) \(reasonPhrase(response.status))\r\n".utf8)
        var hasLength = false
        for (name, value) in response.headers {
            guard Self.isToken(name), Self.isFieldValue(value) else {
                worker.app.log.error("dropped invalid response header '\(name.filter { $0.isASCII && !$0.isNewline })'")
                continue
            }
            if !hasLength, Self.isContentLength(name) { hasLength = true }
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
        // A failed write means the client (nginx) went away: nothing left to do for it.
        _ = out.withUnsafeBytes { authgate_fcgx_write($0.baseAddress, Int32($0.count), output) }
    }

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

    /// No CR, LF, NUL or other control characters (tab allowed): a header value never
    /// splits into a second header line.
    private static func isFieldValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { b in b == 9 || (b >= 32 && b != 127) }
    }
}
