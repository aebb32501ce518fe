/// The browser mode's settings (README "Protecting a browser app"), read with the others.
public struct BrowserSettings: Sendable, Equatable {
    /// The access JWT: HttpOnly, Secure, SameSite=Lax, Path=/, Max-Age = the token's lifetime.
    public var accessCookie: String
    /// The refresh token: HttpOnly, Secure, SameSite=Strict, Path=/ (the gate renews on any path).
    public var refreshCookie: String
    /// Exact origins (`https://app.example.com`) allowed to call the JSON API from another origin,
    /// with credentials; they also pass the CSRF and WebSocket origin checks. Default: none.
    public var corsOrigins: [String]
    /// The site's own origin when the `Host` header cannot tell it (a proxy in front of nginx);
    /// default: `https://` + the request's Host.
    public var siteOrigin: String?
    /// The gate renews an access cookie this close to its expiry (capped at a quarter of the TTL).
    public var renewBeforeSeconds: Int64

    public init(environment env: [String: String]) throws {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        accessCookie = value("AUTH_COOKIE_NAME") ?? "__Host-authgate"
        refreshCookie = value("AUTH_REFRESH_COOKIE_NAME") ?? "__Host-authgate-refresh"
        for (setting, name) in [("AUTH_COOKIE_NAME", accessCookie), ("AUTH_REFRESH_COOKIE_NAME", refreshCookie)] {
            guard Cookies.isValidName(name) else {
                throw ConfigError("\(setting) must be a cookie name (letters, digits, - _ .), got '\(name)'")
            }
        }
        guard accessCookie != refreshCookie else {
            throw ConfigError("AUTH_COOKIE_NAME and AUTH_REFRESH_COOKIE_NAME must differ")
        }
        let origins = (value("AUTH_CORS_ORIGINS") ?? "").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        for origin in origins where !Self.isOrigin(origin) {
            throw ConfigError("AUTH_CORS_ORIGINS takes exact origins like https://app.example.com (no path, no *), got '\(origin)'")
        }
        corsOrigins = origins
        siteOrigin = value("AUTH_SITE_ORIGIN")
        if let siteOrigin, !Self.isOrigin(siteOrigin) {
            throw ConfigError("AUTH_SITE_ORIGIN must be an origin like https://auth.example.com, got '\(siteOrigin)'")
        }
        guard let renew = Int64(value("AUTH_COOKIE_RENEW_SECONDS") ?? "60"), renew >= 0 else {
            throw ConfigError("AUTH_COOKIE_RENEW_SECONDS must be a non-negative integer")
        }
        renewBeforeSeconds = renew
    }

    /// `scheme://host[:port]`, lowercase, nothing after the authority.
    static func isOrigin(_ s: String) -> Bool {
        guard s.hasPrefix("https://") || s.hasPrefix("http://") else { return false }
        let authority = s.drop(while: { $0 != "/" }).dropFirst(2)
        return !authority.isEmpty && authority.allSatisfy { c in
            c.isASCII && (c.isLowercase || c.isNumber || c == "." || c == "-" || c == ":" || c == "[" || c == "]")
        }
    }
}
