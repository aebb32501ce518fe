import CLibpq
import Foundation

/// `?` and `?N` placeholders to PostgreSQL's `$N`, outside quoted strings and identifiers,
/// numbered exactly as SQLite numbers them, so one SQL text binds the same values on both stores.
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
                    // As SQLite numbers them: a bare `?` after `?N` is one more than the largest
                    // number so far (`?1, ?` is `$1, $2`, never `$1, $1`).
                    next = max(next, Int(digits) ?? next)
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

    /// The connection string as libpq reads it (`PQconninfoParse`: blanks around `=`, quoted
    /// values, percent-encoded URI keywords...), rebuilt in keyword form with every secret option
    /// (libpq marks them: `password`, `sslpassword`) shown as `***`:
    /// `postgresql://u:pw@h/db?sslmode=verify-full` -> `user=u password=*** dbname=db host=h sslmode=verify-full`.
    /// A string libpq cannot parse, or a URI whose `user:password@` part libpq reads as something
    /// else (`postgresql://u:pa/ss@h`: host `u`, port `pa`), is never echoed (review finding 14).
    public static func redacted(_ url: String) -> String {
        guard let options = parse(url) else { return "(a connection string libpq cannot parse)" }
        if let intended = uriPassword(url), !options.contains(where: { $0.secret && $0.value == intended }) {
            return "(a postgresql:// URI whose user:password@ part libpq cannot read)"
        }
        return options.map { $0.secret ? "\($0.keyword)=***" : "\($0.keyword)=\(quoted($0.value))" }
            .joined(separator: " ")
    }

    /// Whether `url` carries a password (or another secret libpq option) itself.
    public static func hasPassword(_ url: String) -> Bool {
        if uriPassword(url).map({ !$0.isEmpty }) ?? false { return true }
        return parse(url)?.contains { $0.secret && !$0.value.isEmpty } ?? url.contains("pass")
    }

    /// A libpq error message about `url`, with the secrets it could quote removed; for a string
    /// `redacted` would not echo, libpq's message is withheld altogether.
    public static func scrubbed(_ message: String, url: String) -> String {
        guard let options = parse(url), uriPassword(url).map({ p in options.contains { $0.secret && $0.value == p } }) ?? true
        else { return "libpq's message withheld: it may quote the malformed connection string" }
        var out = message
        for option in options where option.secret && !option.value.isEmpty {
            out = out.replacingOccurrences(of: option.value, with: "***")
        }
        return out
    }

    /// The password a `postgresql://user:password@host` URI means to carry (percent-decoded),
    /// whatever libpq makes of it: the text between the first `:` and the last `@` before `?`.
    static func uriPassword(_ url: String) -> String? {
        guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://"),
              let scheme = url.range(of: "://") else { return nil }
        let rest = url[scheme.upperBound...]
        let beforeQuery = rest[..<(rest.firstIndex(of: "?") ?? rest.endIndex)]
        guard let at = beforeQuery.lastIndex(of: "@"), let colon = beforeQuery[..<at].firstIndex(of: ":") else { return nil }
        let raw = String(beforeQuery[beforeQuery.index(after: colon)..<at])
        return raw.removingPercentEncoding ?? raw
    }

    struct Option {
        var keyword: String
        var value: String
        var secret: Bool
    }

    /// The options set in `url` (libpq's order), nil when libpq cannot parse it.
    static func parse(_ url: String) -> [Option]? {
        var error: UnsafeMutablePointer<CChar>?
        guard let list = PQconninfoParse(url, &error) else {
            if let error { PQfreemem(error) }
            return nil
        }
        defer { PQconninfoFree(list) }
        var options: [Option] = []
        var p = list
        while let keyword = p.pointee.keyword {
            if let value = p.pointee.val {
                let secret = p.pointee.dispchar.map { String(cString: $0).hasPrefix("*") } ?? false
                options.append(Option(keyword: String(cString: keyword), value: String(cString: value), secret: secret))
            }
            p += 1
        }
        return options
    }

    /// libpq's keyword-value quoting: single quotes around a value that is empty or holds a
    /// blank, a quote or a backslash; `'` and `\\` escaped with a backslash.
    static func quoted(_ value: String) -> String {
        guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "'" || $0 == "\\" || $0.isWhitespace }) else {
            return value
        }
        var out = "'"
        for ch in value {
            if ch == "'" || ch == "\\" { out.append("\\") }
            out.append(ch)
        }
        return out + "'"
    }
}
