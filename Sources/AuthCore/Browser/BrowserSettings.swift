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
        for origin in origins where !Self.isSecureOrigin(origin) {
            throw ConfigError(Self.plainHTTPRefusal("AUTH_CORS_ORIGINS", origin))
        }
        corsOrigins = origins
        siteOrigin = value("AUTH_SITE_ORIGIN")
        if let siteOrigin, !Self.isOrigin(siteOrigin) {
            throw ConfigError("AUTH_SITE_ORIGIN must be an origin like https://auth.example.com, got '\(siteOrigin)'")
        }
        if let siteOrigin, !Self.isSecureOrigin(siteOrigin) {
            throw ConfigError(Self.plainHTTPRefusal("AUTH_SITE_ORIGIN", siteOrigin))
        }
        guard let renew = Int64(value("AUTH_COOKIE_RENEW_SECONDS") ?? "60"), renew >= 0 else {
            throw ConfigError("AUTH_COOKIE_RENEW_SECONDS must be a non-negative integer")
        }
        renewBeforeSeconds = renew
    }

    /// An origin listed here passes the CSRF, CORS-with-credentials and cookie-WebSocket checks:
    /// a plain `http://` one would let a network attacker who injects script into that origin
    /// act as the user. Only loopback (a developer's machine) may be plain HTTP.
    static func isSecureOrigin(_ s: String) -> Bool {
        guard s.hasPrefix("http://") else { return true }
        var host = s.dropFirst("http://".count)
        if host.hasPrefix("[") {
            return host.hasPrefix("[::1]") && (host.count == 5 || host.dropFirst(5).hasPrefix(":"))
        }
        if let colon = host.firstIndex(of: ":") { host = host[..<colon] }
        if host == "localhost" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { p in UInt8(p) != nil }
    }

    static func plainHTTPRefusal(_ key: String, _ origin: String) -> String {
        "\(key): plain http:// origins are refused except loopback (localhost, 127.x.x.x, [::1]): a network attacker could inject script there and pass the CSRF and CORS checks; use https://, got '\(origin)'"
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
