import AuthCrypto

/// The relying party: its RP ID and the exact origins a ceremony may come from, both from the
/// configuration (never from forwarded headers). `init` applies the WebAuthn rule at start: the RP
/// ID must equal every origin's host or be a suffix of it at a label boundary (`example.com` for
/// `https://login.example.com`; `calhost` is no RP ID for `localhost`).
public struct WebAuthnRelyingParty: Sendable, Equatable {
    public let rpID: String
    /// Serialized origins (`scheme://host[:port]`, lower case, default port dropped): what a browser
    /// puts in clientData.origin, compared byte for byte.
    public let origins: [String]
    /// SHA-256 of the RP ID: what authenticator data must start with.
    public let rpIDHash: [UInt8]

    public init(rpID: String, origins: [String]) throws(WebAuthnConfigError) {
        let id = rpID
        guard !id.isEmpty else { throw WebAuthnConfigError("the RP ID is empty") }
        guard id == id.lowercased() else { throw WebAuthnConfigError("the RP ID \(id) must be lower case") }
        let isIP = Self.isIPv4(id)
        if !isIP {
            guard Self.isDomain(id) else {
                throw WebAuthnConfigError("the RP ID \(id) is not a domain name (letters, digits, hyphens and dots; no scheme, port or path)")
            }
        }
        guard !origins.isEmpty else { throw WebAuthnConfigError("no allowed origin for the RP ID \(id)") }
        var normalized: [String] = []
        for origin in origins {
            let (serialized, host) = try Self.parseOrigin(origin)
            let matches = host == id || (!isIP && !Self.isIPv4(host) && host.hasSuffix("." + id))
            guard matches else {
                throw WebAuthnConfigError("the RP ID \(id) is neither the host of the origin \(serialized) (\(host)) nor a suffix of it at a label boundary")
            }
            // A suffix match on one label would be a top-level domain: browsers refuse public suffixes.
            guard host == id || id.contains(".") || id == "localhost" else {
                throw WebAuthnConfigError("the RP ID \(id) is a single label: as a suffix of \(host) it must be a registrable domain such as example.com")
            }
            if !normalized.contains(serialized) { normalized.append(serialized) }
        }
        self.rpID = id
        self.origins = normalized
        self.rpIDHash = Crypto.sha256(Array(id.utf8))
    }

    func allows(origin: String) -> Bool { origins.contains(origin) }

    /// `scheme://host[:port]` with nothing after it (a trailing `/` is tolerated): https, or http
    /// for localhost and 127.0.0.1 only (browsers treat those as secure contexts).
    static func parseOrigin(_ text: String) throws(WebAuthnConfigError) -> (String, String) {
        var rest = Substring(text.lowercased())
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let scheme: String
        if rest.hasPrefix("https://") { scheme = "https" } else if rest.hasPrefix("http://") { scheme = "http" } else {
            throw WebAuthnConfigError("the origin \(text) is not https://host[:port]")
        }
        rest = rest.dropFirst(scheme.count + 3)
        guard !rest.contains("/"), !rest.contains("?"), !rest.contains("#"), !rest.contains("@") else {
            throw WebAuthnConfigError("the origin \(text) has a path, query, fragment or user part: an origin is scheme://host[:port]")
        }
        var host = String(rest)
        var port: Int?
        if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else {
                throw WebAuthnConfigError("the origin \(text) has an invalid port")
            }
            port = p
        }
        guard Self.isIPv4(host) || Self.isDomain(host) else { throw WebAuthnConfigError("the origin \(text) has no valid host") }
        if scheme == "http" && host != "localhost" && host != "127.0.0.1" {
            throw WebAuthnConfigError("the origin \(text) is plain http: WebAuthn needs https (http only for localhost and 127.0.0.1)")
        }
        if port == (scheme == "https" ? 443 : 80) { port = nil }
        return ("\(scheme)://\(host)\(port.map { ":\($0)" } ?? "")", host)
    }

    static func isDomain(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253 else { return false }
        for label in s.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63, label.first != "-", label.last != "-" else { return false }
            guard label.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }) else { return false }
        }
        // An all-numeric last label would make it an IP address, not a name.
        return !(s.split(separator: ".").last!.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 })
    }

    static func isIPv4(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in
            !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isASCII) && p.allSatisfy(\.isNumber)
                && Int(p).map { $0 <= 255 } == true && (p == "0" || p.first != "0")
        }
    }
}
