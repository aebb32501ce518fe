/// Reading the `Cookie` header and writing `Set-Cookie` lines for the browser session.
public enum Cookies {
    /// The value of the first cookie called `name` (the same "first wins" rule as the nginx map
    /// that keys the verify micro-cache on it), nil when absent or empty.
    public static func value(_ name: String, in header: String?) -> String? {
        guard let header, !header.isEmpty else { return nil }
        for part in header.split(separator: ";") {
            var pair = part[...]
            while pair.first == " " || pair.first == "\t" { pair.removeFirst() }
            guard let eq = pair.firstIndex(of: "="), pair[..<eq] == name[...] else { continue }
            var v = pair[pair.index(after: eq)...]
            while v.last == " " || v.last == "\t" { v.removeLast() }
            if v.count >= 2, v.first == "\"", v.last == "\"" { v = v.dropFirst().dropLast() }
            return v.isEmpty ? nil : String(v)
        }
        return nil
    }

    /// The `Cookie` header without the named cookies (nil when nothing is left): what an
    /// upstream app receives, so it never holds Authgate's tokens.
    public static func removing(_ names: Set<String>, from header: String) -> String? {
        let kept = header.split(separator: ";").filter { part in
            let pair = part.drop(while: { $0 == " " || $0 == "\t" })
            let name = pair.prefix(while: { $0 != "=" })
            return !names.contains(String(name)) && !pair.isEmpty
        }.map { $0.drop(while: { $0 == " " || $0 == "\t" }) }
        return kept.isEmpty ? nil : kept.joined(separator: "; ")
    }

    /// RFC 6265 token characters we accept in a configured name.
    static func isValidName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.unicodeScalars.allSatisfy { c in
            c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "-" || c == "_" || c == ".")
        }
    }

    /// `HttpOnly; Secure; Path=/` always (the `__Host-` prefix requires Secure, Path=/ and no Domain).
    static func line(_ name: String, _ value: String, maxAge: Int64, sameSite: String) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(max(0, maxAge)); Secure; HttpOnly; SameSite=\(sameSite)"
    }
}

extension Worker {
    /// The access and refresh cookies for a freshly issued pair.
    func sessionCookies(_ t: IssuedTokens, session: Session, now: Int64) -> (access: String, refresh: String) {
        let b = settings.browser
        let refreshAge = min(settings.refreshTTL, session.createdAt + settings.sessionMax - now)
        return (Cookies.line(b.accessCookie, t.accessToken, maxAge: t.expiresAt - now, sameSite: "Lax"),
                Cookies.line(b.refreshCookie, t.refreshToken, maxAge: refreshAge, sameSite: "Strict"))
    }

    /// Both cookies expired at once (logout, a dead session).
    var clearedCookies: [(String, String)] {
        let b = settings.browser
        return [("Set-Cookie", Cookies.line(b.accessCookie, "", maxAge: 0, sameSite: "Lax")),
                ("Set-Cookie", Cookies.line(b.refreshCookie, "", maxAge: 0, sameSite: "Strict"))]
    }

    func accessCookie(_ request: Request) -> String? {
        Cookies.value(settings.browser.accessCookie, in: request.header("cookie"))
    }

    func refreshCookie(_ request: Request) -> String? {
        Cookies.value(settings.browser.refreshCookie, in: request.header("cookie"))
    }
}
