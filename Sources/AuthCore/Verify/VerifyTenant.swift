import AuthCrypto

extension Query.TenantRefusal {
    /// The 403 the gate and the companion answer (code `forbidden`, as for every tenant refusal).
    public var authError: AuthError {
        switch self {
        case .disguised: AuthError.forbidden("encoded tenant_id")
        case .repeated: AuthError.forbidden("repeated tenant_id")
        case .malformedValue: AuthError.forbidden("malformed tenant_id")
        }
    }
}

extension Request {
    /// `?tenant_id=` of the original request through the shared parser (`Query.tenant`): nil when
    /// absent, 403 for a repeated one or for any spelling a framework could read as `tenant_id`.
    /// Applies to every credential kind (users, API keys, node keys).
    func requestedTenant() throws(AuthError) -> String? {
        switch Query.tenant(query) {
        case let .success(tenant): return tenant
        case let .failure(refusal): throw refusal.authError
        }
    }
}
