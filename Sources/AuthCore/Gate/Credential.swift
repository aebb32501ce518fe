/// What a client presented to a door, before anything about it is known.
public enum Credential: Sendable {
    /// `Authorization: Bearer …` (a session token, an API key or a node key), or the companion's
    /// `?token=` / access cookie.
    case bearer(String)
    /// A browser location's session cookies (`AUTH_ALLOW "… browser"`, no `Authorization`).
    case cookies(access: String?, refresh: String?)
}
