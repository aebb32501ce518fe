import AuthCrypto

/// The body of a browser route: `application/x-www-form-urlencoded` (a plain form post) or a
/// JSON object; anything else is refused before any work (part of the CSRF rule: a cross-site
/// `text/plain` or multipart post never reaches a flow).
enum BrowserBody {
    enum Kind { case form, json }

    static func kind(_ request: Request) -> Kind? {
        let type = (request.header("content-type") ?? "").split(separator: ";").first.map {
            $0.strippingChars(" \t").lowercased()
        } ?? ""
        switch type {
        case "application/x-www-form-urlencoded": return .form
        case "application/json": return .json
        default: return nil
        }
    }

    /// The answer's shape: JSON for a JSON body or a client that asks for it (the login page's
    /// script), else the plain form's 303 redirects.
    static func answersJSON(_ request: Request, _ kind: Kind) -> Bool {
        kind == .json || (request.header("accept") ?? "").lowercased().contains("application/json")
    }

    static func parse(_ request: Request) throws(AuthError) -> (Body, Kind) {
        guard let kind = kind(request) else {
            throw AuthError.forbidden("a browser route takes a form or JSON body")
        }
        switch kind {
        case .json: return (try Body(request), .json)
        case .form: return (try Body(form: request.body), .form)
        }
    }
}

extension Body {
    /// `a=1&b=2` (`+` is a space, `%XX` escapes, UTF-8): a JSON object of strings. A name given
    /// twice is refused, as in JSON bodies.
    init(form bytes: [UInt8]) throws(AuthError) {
        var pairs: [(String, JSON)] = []
        var seen = Set<String>()
        let text = String(decoding: bytes, as: UTF8.self)
        for part in text.split(separator: "&") where !part.isEmpty {
            let eq = part.firstIndex(of: "=")
            let rawName = eq.map { part[..<$0] } ?? part
            let rawValue = eq.map { part[part.index(after: $0)...] } ?? ""
            guard let name = Query.decode(rawName), let value = Query.decode(rawValue) else {
                throw AuthError.invalidRequest("malformed form body")
            }
            guard seen.insert(name).inserted else { throw AuthError.invalidRequest("\(name) given twice") }
            // An empty field of a form (an optional input left blank) is an absent one.
            if !value.isEmpty { pairs.append((name, .string(value))) }
        }
        self.init(object: .object(pairs))
    }

    init(object: JSON) { self.object = object }
}

extension String {
    func strippingChars(_ set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

extension Substring {
    func strippingChars(_ set: String) -> String { String(self).strippingChars(set) }
}
