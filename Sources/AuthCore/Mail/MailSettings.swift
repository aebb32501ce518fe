import Foundation

/// The mail settings (issue 23, README "Mail"): one transport (the host's sendmail or an SMTP
/// server through libcurl), the sender address, the origin links point to, the token lifetimes
/// and the outbox's retry policy.
public struct MailSettings: Sendable, Equatable {
    public enum Transport: Sendable, Equatable {
        /// `AUTH_MAIL_SENDMAIL`: `<path> -t -i`, the message on stdin.
        case sendmail(path: String)
        case smtp(SMTPURL)
    }

    public var transport: Transport?
    /// `AUTH_SMTP_CA_FILE`: the CA bundle the SMTP server's certificate is checked against
    /// (nil: the system's).
    public var caFile: String?
    /// `AUTH_SMTP_PASSWORD_FILE`: read at each delivery (first line), never from the URL.
    public var passwordFile: String?
    /// `AUTH_MAIL_FROM`.
    public var from: String
    /// `AUTH_PUBLIC_URL`: the origin of the links in mails (nil: AUTH_SITE_ORIGIN, else the request's host).
    public var publicURL: String?
    public var resetTTL: Int64
    public var inviteTTL: Int64
    /// `AUTH_EMAIL_CHANGE_TTL_SECONDS`: the new address's verification link.
    public var emailChangeTTL: Int64
    public var maxAttempts: Int
    /// The first retry's delay; each next one doubles, at most an hour.
    public var retrySeconds: Double
    /// The deadline of one delivery attempt (sendmail's run, libcurl's whole transfer).
    public var timeoutSeconds: Double

    public init(environment env: [String: String]) throws {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        func int(_ name: String, _ fallback: Int64, min: Int64 = 1) throws -> Int64 {
            guard let raw = value(name) else { return fallback }
            guard let v = Int64(raw), v >= min else { throw ConfigError("\(name) must be an integer >= \(min), got '\(raw)'") }
            return v
        }
        func seconds(_ name: String, _ fallback: Double) throws -> Double {
            guard let raw = value(name) else { return fallback }
            guard let v = Double(raw), v.isFinite, v > 0, v <= 86400 else {
                throw ConfigError("\(name) must be a number of seconds in (0, 86400], got '\(raw)'")
            }
            return v
        }
        let sendmail = value("AUTH_MAIL_SENDMAIL")
        let smtp = value("AUTH_SMTP_URL")
        if sendmail != nil && smtp != nil {
            throw ConfigError("AUTH_MAIL_SENDMAIL and AUTH_SMTP_URL are both set: choose one mail transport")
        }
        if let sendmail {
            guard sendmail.hasPrefix("/") else { throw ConfigError("AUTH_MAIL_SENDMAIL must be an absolute path, got '\(sendmail)'") }
            transport = .sendmail(path: sendmail)
        } else if let smtp {
            transport = .smtp(try SMTPURL(smtp))
        }
        caFile = value("AUTH_SMTP_CA_FILE")
        passwordFile = value("AUTH_SMTP_PASSWORD_FILE")
        from = value("AUTH_MAIL_FROM") ?? "authgate@localhost"
        guard MailMessage.isPlainAddress(MailMessage.address(in: from)),
              !from.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw ConfigError("AUTH_MAIL_FROM must be an address (or Name <address>), got '\(from)'")
        }
        publicURL = value("AUTH_PUBLIC_URL").map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        if let url = publicURL, !(url.hasPrefix("https://") || url.hasPrefix("http://")) || url.dropFirst(8).contains("/") {
            throw ConfigError("AUTH_PUBLIC_URL must be an origin like https://auth.example.com, got '\(url)'")
        }
        resetTTL = try int("AUTH_RESET_TTL_SECONDS", 1800)
        inviteTTL = try int("AUTH_INVITE_TTL_SECONDS", 604_800)
        emailChangeTTL = try int("AUTH_EMAIL_CHANGE_TTL_SECONDS", 86400)
        maxAttempts = Int(try int("AUTH_MAIL_MAX_ATTEMPTS", 8))
        retrySeconds = try seconds("AUTH_MAIL_RETRY_SECONDS", 30)
        timeoutSeconds = try seconds("AUTH_MAIL_TIMEOUT_SECONDS", 30)
    }

    /// The delay before attempt `attempts + 1` (after `attempts` failures).
    public func backoffMillis(afterAttempts attempts: Int) -> Int64 {
        let delay = min(3600, retrySeconds * pow(2, Double(max(0, attempts - 1))))
        return Int64(delay * 1000)
    }

    /// One line for logs and `doctor` (never a password).
    public var transportDescription: String {
        switch transport {
        case nil: return "none (AUTH_MAIL_SENDMAIL and AUTH_SMTP_URL unset: mail waits in the outbox)"
        case let .sendmail(path): return "sendmail \(path) -t -i"
        case let .smtp(url): return "smtp \(url.redacted)"
        }
    }
}

/// `AUTH_SMTP_URL`: `smtp://[user@]host[:port]` (STARTTLS required, port 587 by default),
/// `smtps://[user@]host[:port]` (TLS from the first byte, 465), or `smtp://…?tls=none` (plain,
/// only to a loopback address). A password in the URL is refused: AUTH_SMTP_PASSWORD_FILE.
public struct SMTPURL: Sendable, Equatable {
    public var implicitTLS: Bool
    public var plain: Bool
    public var user: String?
    public var host: String
    public var port: Int

    public init(_ raw: String) throws {
        guard let c = URLComponents(string: raw), let scheme = c.scheme?.lowercased(), scheme == "smtp" || scheme == "smtps",
              let host = c.host, !host.isEmpty, c.path.isEmpty || c.path == "/" else {
            throw ConfigError("AUTH_SMTP_URL must look like smtp://user@host:587 or smtps://user@host:465, got '\(raw.prefix(200))'")
        }
        if c.password != nil {
            throw ConfigError("AUTH_SMTP_URL holds a password: put it in AUTH_SMTP_PASSWORD_FILE instead")
        }
        implicitTLS = scheme == "smtps"
        var plain = false
        for item in c.queryItems ?? [] {
            guard item.name == "tls", item.value == "none", !implicitTLS else {
                throw ConfigError("AUTH_SMTP_URL: the only query it takes is ?tls=none (smtp:// to a loopback address), got '\(c.query ?? "")'")
            }
            plain = true
        }
        self.plain = plain
        user = c.user.flatMap { $0.isEmpty ? nil : $0.removingPercentEncoding }
        self.host = host
        port = c.port ?? (implicitTLS ? 465 : 587)
        if plain && !Self.isLoopback(host) {
            throw ConfigError("AUTH_SMTP_URL: ?tls=none (plain SMTP) is allowed only to a loopback address (127.0.0.1, ::1, localhost), got host '\(host)'")
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        let h = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if h == "localhost" || h == "::1" { return true }
        let parts = h.split(separator: ".")
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// What libcurl connects to (no user, no query).
    public var curlURL: String {
        let h = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(implicitTLS ? "smtps" : "smtp")://\(h):\(port)"
    }

    public var redacted: String {
        let h = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(implicitTLS ? "smtps" : "smtp")://" + (user.map { "\($0)@" } ?? "") + "\(h):\(port)" + (plain ? "?tls=none" : "")
    }
}
