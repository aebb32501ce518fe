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
        if fcgi.pointee.role == fcgiAuthorizerRole {
            return serveAuthorizer(fcgi, params: params, started: started)
        }
        var request = params.makeRequest()
        worker.takeReloadedSettings()
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
        } else if let body = readBody(input, cap: worker.settings.maxBody) {
            request.body = body
            response = worker.handle(request)
        } else {
            response = worker.profile.respond(.payloadTooLarge)
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

    mutating func drainInput(_ fcgi: UnsafeMutablePointer<FCGX_Request>) { drain(authgate_fcgx_in(fcgi)) }

    private mutating func drain(_ input: UnsafeMutablePointer<FCGX_Stream>?) {
        while chunk.withUnsafeMutableBytes({ authgate_fcgx_read($0.baseAddress, Int32($0.count), input) }) > 0 {}
    }

    func write(_ response: Response, to output: UnsafeMutablePointer<FCGX_Stream>?) {
        let out = ResponseBytes.encode(response, log: worker.app.log)
        // A failed write means the client (nginx) went away: nothing left to do for it.
        _ = out.withUnsafeBytes { authgate_fcgx_write($0.baseAddress, Int32($0.count), output) }
    }
}
