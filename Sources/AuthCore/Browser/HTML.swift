/// The pages' shared pieces: the HTML frame with its security headers, the message region,
/// the escaper, the static assets' answer and the 303 of a plain form post.
public enum HTML {
    /// The message region: the shown text for `code`, and every text as a data attribute for the script.
    static func messageBox(_ messages: [String: String], code: String) -> String {
        let attributes = messages.sorted { $0.key < $1.key }.map { " data-m-\($0.key)=\"\(escape($0.value))\"" }.joined()
        let shown = messages[code] ?? ""
        return #"<p id="message" class="error" role="alert" tabindex="-1""# + attributes
            + (shown.isEmpty ? " hidden>" : ">") + escape(shown) + "</p>"
    }

    static func page(title: String, body: String) -> Response {
        let text = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) · Authgate</title>
            <link rel="stylesheet" href="/auth/assets/authgate.css">
            <script src="/auth/assets/authgate.js" defer></script>
            </head>
            <body>
            <main>
            \(body)
            </main>
            </body>
            </html>

            """
        return Response(status: 200, headers: pageHeaders("text/html; charset=utf-8") + [("Cache-Control", "no-store")],
                        body: Array(text.utf8))
    }

    static func asset(_ text: String, _ type: String) -> Response {
        Response(status: 200, headers: pageHeaders(type) + [("Cache-Control", "public, max-age=300")], body: Array(text.utf8))
    }

    static func pageHeaders(_ type: String) -> [(String, String)] {
        [("Content-Type", type), ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
         ("Referrer-Policy", "no-referrer"),
         ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            + "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")]
    }

    /// The one HTML escaper (the pages and the demo dashboard): text and attribute values, quoted
    /// with either quote.
    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}

extension Response {
    /// A plain form post's answer: 303 to `location` (never cached).
    static func seeOther(_ location: String, _ headers: [(String, String)] = []) -> Response {
        Response(status: 303, headers: [("Location", location), ("Cache-Control", "no-store")] + headers)
    }
}
