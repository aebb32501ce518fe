/// What a client presented to a door, before anything about it is known.
public enum Credential: Sendable {
    /// `Authorization: Bearer …` (a session token, an API key or a node key), or the companion's
    /// `?token=` / access cookie.
    case bearer(String)
    /// A token that can only be a session token (the companion's `?token=` or access cookie): no
    /// key lookup, anything else is an invalid token.
    case sessionToken(String)
    /// A browser location's session cookies (`AUTH_ALLOW "… browser"`, no `Authorization`).
    case cookies(access: String?, refresh: String?)
}
