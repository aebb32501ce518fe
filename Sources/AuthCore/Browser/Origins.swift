/// Same-origin rules for cookie-authenticated requests (CSRF) and for CORS.
public struct Origins: Sendable {
    public let settings: BrowserSettings

    public init(_ settings: BrowserSettings) { self.settings = settings }

    /// The site's own origin: AUTH_SITE_ORIGIN, else `https://` + Host (cookies are Secure:
    /// the browser mode is HTTPS only).
    public func siteOrigin(host: String?) -> String? {
        if let fixed = settings.siteOrigin { return fixed }
        guard let host, !host.isEmpty, !host.contains(where: { $0 == "/" || $0 == " " || $0 == "@" }) else { return nil }
        return "https://" + host.lowercased()
    }

    public func isListed(_ origin: String) -> Bool { settings.corsOrigins.contains(origin) }

    /// A state-changing cookie request is let through only with the site's own `Origin` (or a
    /// listed one), or, without `Origin`, `Sec-Fetch-Site: same-origin`. Browsers set both;
    /// neither can be forged by a page of another site.
    /// `Origin: null` (what Chromium sends with a plain form post from a page whose
    /// Referrer-Policy is `no-referrer`, as the login and second-factor pages are) is judged by
    /// `Sec-Fetch-Site` as well: a sandboxed or opaque page of another site gets `cross-site` there.
    public func allowsCookieWrite(origin: String?, secFetchSite: String?, host: String?) -> Bool {
        if origin == "null" { return secFetchSite == "same-origin" }
        if let origin {
            return origin == siteOrigin(host: host) || isListed(origin)
        }
        return secFetchSite == "same-origin"
    }

    /// A cookie-authenticated WebSocket upgrade (cross-site WebSocket hijacking is the
    /// WebSocket form of CSRF): browsers always send `Origin` with it.
    public func allowsUpgrade(origin: String?, host: String?) -> Bool {
        guard let origin else { return false }
        return origin == siteOrigin(host: host) || isListed(origin)
    }
}
