import AuthCrypto
import Foundation

/// The config file (`/etc/authgate/authgate.conf`, or `AUTH_CONFIG`): `KEY=value` lines with the
/// environment variables' names, `#` comments, blank lines, optional quotes around a value. The
/// environment wins over the file. Unknown keys and bad values are refused with the line number.
public struct ConfigFile: Sendable {
    public static let defaultPath = "/etc/authgate/authgate.conf"

    /// Every key the file may hold: name, default (as text), one-line meaning.
    public static let keys: [(name: String, fallback: String, meaning: String)] = [
        ("AUTH_DB_PATH", Settings.defaultPaths.db, "SQLite database (with -wal and -shm beside it, mode 0600)"),
        ("AUTH_DB_URL", "", "PostgreSQL instead of SQLite: postgresql://user@host/db?sslmode=verify-full (checks the server's certificate; or libpq keywords); password better in ~/.pgpass or PGPASSWORD"),
        ("AUTH_DB_POOL", "8", "PostgreSQL connections per process at most (responder threads share them)"),
        ("AUTH_DB_POOL_IDLE_SECONDS", "30", "a pooled PostgreSQL connection unused this long is closed (0: never)"),
        ("AUTH_DB_POOLER", "none", "transaction: AUTH_DB_URL names a transaction-mode pooler (PgBouncer): no prepared statements, no session state"),
        ("AUTH_DB_LISTEN_URL", "(AUTH_DB_URL)", "the LISTEN connection's URL: direct to PostgreSQL when AUTH_DB_URL names a pooler"),
        ("AUTH_DB_SYNC_COMMIT", "on", "synchronous_commit of every writing transaction (on, remote_apply, remote_write, local; server: leave it)"),
        ("AUTH_DB_SYNC_TIMEOUT_SECONDS", "5", "a writing COMMIT waits this long for the synchronous standby, then 503"),
        ("AUTH_WS_STALE_GRACE_SECONDS", "0 (SQLite), 60 (PostgreSQL)", "live WebSockets kept this long while the verify state is stale"),
        ("AUTH_KEYS_FILE", Settings.defaultPaths.keys, "key ring, mode 0600: kid:base64url-secret per line, the last signs"),
        ("AUTH_SECRETS_FILE", "secrets next to AUTH_KEYS_FILE", "AES-256-GCM keys sealing TOTP seeds at rest, mode 0600, the key ring's format; the last seals"),
        ("AUTH_MFA_ISSUER", "the request's host", "issuer an authenticator app shows for TOTP factors"),
        ("AUTH_SOCKET", Settings.defaultPaths.socket, "responder's Unix socket (ignored under socket activation)"),
        ("AUTH_WS_SOCKET", Settings.defaultPaths.wsSocket, "companion's Unix socket (ignored under socket activation)"),
        ("AUTH_SOCKET_GROUP", "", "group given to sockets the processes bind themselves (needs root or membership)"),
        ("AUTH_NGINX_USER", "www-data", "nginx's worker user (socket-group warning, authgate doctor)"),
        ("AUTH_API_PROFILE", "2signal", "2signal or get2dial"),
        ("AUTH_ISSUER", "authgate", "JWT iss"),
        ("AUTH_AUDIENCE", "(the profile name)", "JWT aud"),
        ("AUTH_JWT_TTL_SECONDS", "3600 (2signal), 43200 (get2dial)", "access token lifetime"),
        ("AUTH_REFRESH_TTL_SECONDS", "2592000", "refresh token lifetime (idle)"),
        ("AUTH_SESSION_MAX_SECONDS", "7776000", "absolute session lifetime"),
        ("AUTH_REFRESH_REUSE_SECONDS", "10", "grace for a replay of the just-rotated refresh token"),
        ("AUTH_CLOCK_LEEWAY_SECONDS", "30", "exp/iat leeway for HTTP verify"),
        ("AUTH_LOCKOUT_THRESHOLD", "10", "failed logins before a lockout"),
        ("AUTH_LOCKOUT_SECONDS", "900", "lockout length"),
        ("AUTH_MIN_PASSWORD_LENGTH", "12", "minimum length of every new password"),
        ("AUTH_MAX_BODY", "65536", "request body cap (413 above)"),
        ("AUTH_LOGIN_MAX_TENANTS", "3", "tenants tried when a login names no tenant_domain"),
        ("AUTH_AUDIT_RETENTION_DAYS", "90", "audit rows older than this are pruned"),
        ("AUTH_DEFAULT_DOMAIN", "(the platform tenant's domain)", "tenant tried when an email exists nowhere"),
        ("AUTH_PLATFORM_DOMAIN", "platform.local", "domain of the reserved platform tenant"),
        ("AUTH_SCRYPT", "ln=15,r=8,p=3", "password hash parameters"),
        ("AUTH_HASH_CONCURRENCY", "(cores)", "password hashes at once"),
        ("AUTH_HASH_QUEUE", "64", "logins waiting for a hash before 503"),
        ("AUTH_RATE_LIMIT", "10r/s burst=20", "per client address, in the responder: login, password and session routes (429; off = none)"),
        ("AUTH_THREADS", "64", "responder worker threads"),
        ("AUTH_VERIFY_CACHE_SECONDS", "1", "nginx micro-cache of verify allows (render-nginx.sh; 0 = off)"),
        ("AUTH_STATE_MAX_STALE_SECONDS", "1", "verify refused when the verify state is older than this"),
        ("AUTH_LOG_FORMAT", "text", "text, logfmt or json"),
        ("AUTH_COOKIE_NAME", "__Host-authgate", "browser mode: the access cookie (render-nginx.sh keys its cache on it)"),
        ("AUTH_REFRESH_COOKIE_NAME", "__Host-authgate-refresh", "browser mode: the refresh cookie"),
        ("AUTH_COOKIE_RENEW_SECONDS", "60", "the gate renews an access cookie this close to its end"),
        ("AUTH_CORS_ORIGINS", "", "exact origins allowed to call the JSON API cross-origin, with credentials"),
        ("AUTH_SITE_ORIGIN", "https:// + Host", "the site's origin for the CSRF and WebSocket origin checks"),
        ("AUTH_WEBAUTHN_RP_ID", "", "passkeys: the relying-party ID (a registrable domain, e.g. example.com); unset: passkeys off"),
        ("AUTH_WEBAUTHN_ORIGINS", "AUTH_SITE_ORIGIN", "passkeys: the exact origins a passkey ceremony may come from (checked against the RP ID at start)"),
        ("AUTH_METRICS", "on", "off: the verify path counts nothing (GET /api/v1/metrics still answers)"),
        ("AUTH_MAIL_SENDMAIL", "", "mail through the host's MTA: this sendmail, run as `sendmail -t -i` (message on stdin)"),
        ("AUTH_SMTP_URL", "", "mail through an SMTP server: smtp://user@host:587 (STARTTLS required), smtps://user@host:465, smtp://127.0.0.1:25?tls=none (loopback only)"),
        ("AUTH_SMTP_CA_FILE", "(the system's CAs)", "CA bundle the SMTP server's certificate is checked against"),
        ("AUTH_SMTP_PASSWORD_FILE", "", "the SMTP password (first line), never in the URL"),
        ("AUTH_MAIL_FROM", "authgate@localhost", "From: of every mail (address, or Name <address>)"),
        ("AUTH_PUBLIC_URL", "AUTH_SITE_ORIGIN, else https:// + Host", "origin the links in mails point to"),
        ("AUTH_RESET_TTL_SECONDS", "1800", "password reset links' lifetime"),
        ("AUTH_INVITE_TTL_SECONDS", "604800", "invite links' lifetime"),
        ("AUTH_EMAIL_CHANGE_TTL_SECONDS", "86400", "lifetime of the link that verifies a new email address"),
        ("AUTH_MAIL_MAX_ATTEMPTS", "8", "delivery attempts before a message is dead"),
        ("AUTH_MAIL_RETRY_SECONDS", "30", "delay before the first retry (doubles each time, at most an hour)"),
        ("AUTH_MAIL_TIMEOUT_SECONDS", "30", "deadline of one delivery attempt (sendmail run, SMTP transfer)"),
        ("AUTH_WS_ROUTES", "(two default routes)", "companion routes: PATH=UPSTREAM|ROLE,ROLE;..."),
        ("AUTH_WS_METRICS_SOCKET", "", "companion metrics socket (Prometheus text for any HTTP request); unset: none"),
        ("AUTH_WS_UPSTREAM", "unix:<dir of AUTH_WS_SOCKET>/demo-upstream.sock", "upstream of the default WebSocket routes"),
    ]
    static let known: Set<String> = Set(keys.map(\.name))

    public let path: String
    /// key -> (value, line)
    public let entries: [String: (value: String, line: Int)]

    public static func parse(_ text: String, path: String) throws -> ConfigFile {
        var entries: [String: (String, Int)] = [:]
        for (index, raw) in text.textFileLines.enumerated() {
            let line = index + 1
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let eq = trimmed.firstIndex(of: "=") else {
                throw ConfigError("\(path):\(line): expected KEY=value, got '\(Self.printable(trimmed))'")
            }
            let key = trimmed[..<eq].trimmingCharacters(in: .whitespaces)
            var value = trimmed[trimmed.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard known.contains(key) else {
                throw ConfigError("\(path):\(line): unknown key '\(Self.printable(key))' (see authgate config --help for the keys)")
            }
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
                value = String(value.dropFirst().dropLast())
            }
            if let earlier = entries[key] {
                throw ConfigError("\(path):\(line): \(key) already set on line \(earlier.1)")
            }
            entries[key] = (value, line)
        }
        return ConfigFile(path: path, entries: entries)
    }

    /// The file named by `AUTH_CONFIG` (must exist), else the default path when it exists, else nil.
    public static func locate(environment env: [String: String]) throws -> ConfigFile? {
        let explicit = env["AUTH_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let path = explicit ?? defaultPath
        guard FileManager.default.fileExists(atPath: path) else {
            if explicit != nil { throw ConfigError("AUTH_CONFIG: \(path) does not exist") }
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("cannot read the config file \(path) (permission denied?)")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw ConfigError("\(path): not UTF-8") }
        return try parse(text, path: path)
    }

    static func printable(_ s: some StringProtocol) -> String {
        String(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "?" : Character($0) }.prefix(80))
    }
}

/// The effective configuration: every key's value and where it came from.
public struct EffectiveConfig: Sendable {
    public enum Source: String, Sendable { case defaultValue = "default", file, environment }
    public let file: ConfigFile?
    /// The environment with the file's keys merged under it (what `Settings` reads).
    public let merged: [String: String]
    public let environment: [String: String]

    public init(environment env: [String: String]) throws {
        environment = env
        file = try ConfigFile.locate(environment: env)
        var m = env
        for (k, e) in file?.entries ?? [:] where env[k] == nil || env[k]!.isEmpty { m[k] = e.value }
        merged = m
    }

    public func source(_ key: String) -> Source {
        if let file, let entry = file.entries[key], merged[key] == entry.value,
           environment[key].map({ $0.isEmpty }) ?? true { return .file }
        if let v = merged[key], !v.isEmpty { return .environment }
        return .defaultValue
    }

    /// Settings from the merged values; a bad value from the file names its line.
    public func settings() throws -> Settings {
        do {
            var s = try Settings(environment: merged)
            guard ScryptParameters(s.scrypt) != nil else {
                throw ConfigError("AUTH_SCRYPT must look like ln=15,r=8,p=3, got '\(s.scrypt)'")
            }
            if let file, let exposed = ConfigFileAudit.exposedPassword(file) { s.startupWarnings.append(exposed) }
            return s
        } catch let error as ConfigError {
            if let file, let key = ConfigFile.keys.map(\.name).first(where: { error.description.hasPrefix($0) }),
               source(key) == .file, let line = file.entries[key]?.line {
                throw ConfigError("\(file.path):\(line): \(error.description)")
            }
            throw error
        }
    }
}

extension Settings {
    /// Environment plus config file (`AUTH_CONFIG` or /etc/authgate/authgate.conf): what every
    /// binary starts with.
    public static func load(environment env: [String: String] = ProcessInfo.processInfo.environment) throws -> Settings {
        try EffectiveConfig(environment: env).settings()
    }
}
