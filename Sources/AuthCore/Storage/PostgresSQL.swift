/// `?` and `?N` placeholders to PostgreSQL's `$N`, outside quoted strings and identifiers.
enum PostgresSQL {
    static func translate(_ sql: String) -> String {
        var out = ""
        out.reserveCapacity(sql.utf8.count + 8)
        var next = 0
        var quote: Character?
        let chars = Array(sql)
        var i = 0
        while i < chars.count {
            let ch = chars[i]
            if let q = quote {
                out.append(ch)
                if ch == q { quote = nil }
                i += 1
                continue
            }
            if ch == "'" || ch == "\"" {
                quote = ch
                out.append(ch)
                i += 1
                continue
            }
            if ch == "?" {
                var j = i + 1
                var digits = ""
                while j < chars.count, chars[j].isASCII, chars[j].isNumber { digits.append(chars[j]); j += 1 }
                if digits.isEmpty {
                    next += 1
                    out += "$\(next)"
                } else {
                    out += "$" + digits
                }
                i = j
                continue
            }
            out.append(ch)
            i += 1
        }
        return out
    }
}

/// What a `AUTH_DB_URL` may look like, and how it is printed (never with its password).
public enum PostgresURL {
    public static func isPostgres(_ url: String) -> Bool {
        url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") || url.contains("=")
    }

    /// `postgresql://user:secret@host/db?password=x` -> `postgresql://user:***@host/db?password=***`;
    /// keyword form `password=x` -> `password=***`.
    public static func redacted(_ url: String) -> String {
        var s = url
        if let scheme = s.range(of: "://") {
            let rest = s[scheme.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@"),
               let colon = rest[..<at].firstIndex(of: ":") {
                s.replaceSubrange(s.index(after: colon)..<at, with: "***")
            }
        }
        // password=... in a query string or keyword form
        var out = ""
        var remaining = Substring(s)
        while let r = remaining.range(of: "password=") {
            out += remaining[..<r.upperBound]
            out += "***"
            let after = remaining[r.upperBound...]
            let end = after.firstIndex(where: { $0 == "&" || $0 == " " }) ?? after.endIndex
            remaining = after[end...]
        }
        return out + remaining
    }
}
