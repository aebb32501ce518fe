import AuthCore
import AuthFastCGI

/// One request/response exchange on a worker thread: a complete request from the connection
/// reader -> `Request` -> `Worker` -> FastCGI `Status:` + headers + body (the STDOUT stream).
struct FastCGIExchange {
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

    /// The answer's STDOUT bytes.
    func serve(_ fcgi: FastCGIRequest) -> [UInt8] {
        let started = monotonicMicros()
        let app = worker.app
        let params = FastCGIParams(request: fcgi)
        worker.takeReloadedSettings()
        if fcgi.role == .authorizer {
            return serveAuthorizer(params: params, started: started)
        }
        var request = params.makeRequest()
        var response: Response

        if let policy = request.verify {
            // The subrequest has no body and its CONTENT_LENGTH is the original's: never
            // cap or trust it (the reader read STDIN to its end whatever it held).
            var credentialSent = false
            let (decision, now) = verify.decision(request, policy: policy, credentialSent: &credentialSent)
            if case let .allow(identity, nil, cacheable) = decision,
               let out = VerifyAllowBytes.fastcgi(identity, cacheable: cacheable, now: now, cache: identityBytes) {
                app.log.request(method: request.method, path: params.logPath, status: 204,
                                micros: monotonicMicros() - started, client: params.remoteAddress, requestID: params.requestID)
                return out
            }
            response = verify.response(decision, now: now, request: request, policy: policy, credentialSent: credentialSent)
            if !Self.verifyStatuses.contains(response.status) {
                app.log.error("verify answered \(response.status); sent 401 instead (nginx would turn it into a 500)")
                response = Response(status: 401, headers: [("WWW-Authenticate", "Bearer")])
            }
        } else if !fcgi.bodyTooLarge {
            request.body = fcgi.body
            response = worker.handle(request)
        } else {
            response = worker.profile.respond(.payloadTooLarge)
        }

        let out = ResponseBytes.encode(response, log: worker.app.log)
        app.log.request(method: request.method, path: params.logPath, status: response.status,
                        micros: monotonicMicros() - started, client: params.remoteAddress, requestID: params.requestID)
        return out
    }
}
