import AuthCore

extension GatePolicy {
    /// A location's policy from its params (`fastcgi_param AUTH_ALLOW "user api_key node browser"`
    /// and `AUTH_ROLES "admin platform_admin"`, space- or comma-separated; Apache/lighttpd set the
    /// same names in the environment). Unset or empty: user tokens, any role. `AUTH_REQUIRE_AAL 2`
    /// (issue 21, read as a digit by FastCGIParams): a session token must carry `aal` 2.
    init(allow: String?, roles: String?, requireAAL: Int64 = 1) {
        let level = requireAAL >= 2 ? 2 : 0
        // The common location (`user`, any role) without splitting strings on every verify.
        if allow == nil || allow == "user", roles == nil || roles == "" {
            self.init(requiredLevel: level)
            return
        }
        let words = (allow ?? "user").split(whereSeparator: { $0 == " " || $0 == "," })
        var kinds: Kinds = []
        if words.isEmpty || words.contains("user") { kinds.insert(.user) }
        if words.contains("api_key") { kinds.insert(.apiKey) }
        if words.contains("node") { kinds.insert(.node) }
        if words.contains("browser") { kinds.insert(.browser) }
        self.init(kinds: kinds, roles: (roles ?? "").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init),
                  requiredLevel: level)
    }
}
