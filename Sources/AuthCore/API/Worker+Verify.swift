// STUB (lead): the verify route lands here.
extension Worker {
    func verify(_ request: Request, policy: VerifyPolicy) -> Response {
        Response(status: 401, headers: [("WWW-Authenticate", "Bearer")])
    }
}
