/// The gate's answer, before any door renders it.
public enum Decision: Sendable {
    /// `renewal`: a browser session was renewed; its two `Set-Cookie` lines go back to the
    /// client. `cacheable`: the allow may sit in a micro-cache keyed on the credential (never
    /// with a renewal, never for an unsafe method's cookie allow).
    case allow(Identity, renewal: Renewal?, cacheable: Bool)
    case deny(AuthError)

    public struct Renewal: Sendable {
        public var accessCookie: String
        public var refreshCookie: String
    }

    public var identity: Identity? {
        if case let .allow(identity, _, _) = self { return identity }
        return nil
    }
}
