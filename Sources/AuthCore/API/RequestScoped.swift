/// A route group or a shared capability (`LoginRoutes`, `Authenticator`, `TokenIssuer`...) made
/// for one request from the worker serving it (the request's context). It holds nothing but
/// that reference, and reads the context's store, settings and profile through these few
/// forwards, so a flow reads as it did when it extended `Worker`: `store { try db.users... }`.
protocol RequestScoped: SendableMetatype {
    var worker: Worker { get }
    init(worker: Worker)
}

extension RequestScoped {
    /// A route's handler: this group made for the request's worker, then `route` on it.
    static func handler(_ route: @escaping @Sendable (Self) -> (Request) throws(AuthError) -> Response) -> Router.Handler {
        { worker, request, _ throws(AuthError) in try route(Self(worker: worker))(request) }
    }

    /// The same for a route with path parameters (`{}` segments).
    static func handler(_ route: @escaping @Sendable (Self) -> (Request, [String]) throws(AuthError) -> Response) -> Router.Handler {
        { worker, request, params throws(AuthError) in try route(Self(worker: worker))(request, params) }
    }
}

extension RequestScoped {
    var app: App { worker.app }
    var db: Database { worker.db }
    var settings: Settings { worker.settings }
    var profile: APIProfile { worker.profile }

    /// `Worker.store`: a storage call, its failure mapped to the client's answer.
    func store<T>(_ body: () throws -> T) throws(AuthError) -> T { try worker.store(body) }

    /// `Worker.write`: a write transaction run through `store`.
    func write<T>(_ body: () throws -> T) throws(AuthError) -> T { try worker.write(body) }

    /// `Worker.recordAudit`: an audit row that is part of a `write`.
    func recordAudit(_ event: String, tenantID: String?, actor: String?, request: Request, detail: String? = nil) throws {
        try worker.recordAudit(event, tenantID: tenantID, actor: actor, request: request, detail: detail)
    }

    /// `Worker.audit`: a best-effort audit row, outside any transaction.
    func audit(_ event: String, tenantID: String?, actor: String?, request: Request, detail: String? = nil) {
        worker.audit(event, tenantID: tenantID, actor: actor, request: request, detail: detail)
    }

    /// The shared capabilities, made on use (one reference each).
    var auth: Authenticator { Authenticator(worker: worker) }
    var issuer: TokenIssuer { TokenIssuer(worker: worker) }
    var hasher: PasswordHasher { PasswordHasher(app: worker.app) }
}
