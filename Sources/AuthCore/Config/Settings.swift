import Foundation

/// Every `AUTH_*` setting (CONTRACT.md), read once from the environment (merged with the config
/// file by `Settings.load`, see ConfigFile.swift). Paths default to the installed layout
/// (`/var/lib/authgate`, `/run/authgate`); `make run` and the tests set them explicitly.
public struct Settings: Sendable {
    public var dbPath: String
    /// `AUTH_DB_URL`: a PostgreSQL URL (`postgresql://…`, `postgres://…`) or libpq keyword
    /// string (`host=… dbname=…`); set, it replaces the SQLite file at `dbPath`.
    public var dbURL: String?
    /// `AUTH_DB_POOL`: PostgreSQL connections per process (the responder's threads share them).
    public var dbPool: Int
    /// The PostgreSQL connection budget, pooler, LISTEN URL and commit durability (issue 24).
    public var postgres: PostgresOptions
    /// `AUTH_WS_STALE_GRACE_SECONDS`: how long the companion keeps live WebSockets open while the
    /// verify state is stale (new upgrades are refused at once). Default 0 on SQLite (a stale
    /// local file is a real fault), 60 on PostgreSQL (a database blink closes nothing).
    public var wsStaleGraceSeconds: Double
    public var keysFile: String
    /// `AUTH_SECRETS_FILE`: the AES-256-GCM keys that seal TOTP seeds at rest (SecretBox), the key
    /// ring's format and mode rule. Default: `secrets` next to the key ring.
    public var secretsFile: String
    /// `AUTH_MFA_ISSUER`: the issuer an authenticator app shows; nil: the request's host.
    public var mfaIssuer: String?
    public var socketPath: String
    public var wsSocketPath: String
    public var socketGroup: String?
    public var profile: APIProfile
    public var issuer: String
    public var audience: String
    public var jwtTTL: Int64
    public var refreshTTL: Int64
    public var sessionMax: Int64
    public var refreshReuse: Int64
    public var clockLeeway: Int64
    public var lockoutThreshold: Int
    public var lockoutSeconds: Int64
    public var minPasswordLength: Int
    public var maxBody: Int
    public var loginMaxTenants: Int
    public var auditRetentionDays: Int
    public var defaultDomain: String?
    public var platformDomain: String
    public var scrypt: String
    public var hashConcurrency: Int
    public var hashQueue: Int
    public var threads: Int
    public var verifyCacheSeconds: Int
    /// Past this age without a confirmed-current verify state, every verify is refused.
    public var stateMaxStaleSeconds: Double
    public var logJSON: Bool
    /// Cookie sessions, CORS and origins (Browser/BrowserSettings.swift).
    public var browser: BrowserSettings
    /// Passkeys (Config/WebAuthnSettings.swift): off unless AUTH_WEBAUTHN_RP_ID is set.
    public var webauthn: WebAuthnSettings
    /// `text`, `logfmt` or `json`.
    public var logFormat: String
    /// `AUTH_METRICS=off`: the verify path counts nothing (no decision counters, no histogram).
    public var metrics: Bool
    /// `AUTH_RATE_LIMIT`: the responder's per-address limit on the routes that hash a password
    /// (API/RateLimit.swift); nil: `off`.
    public var rateLimit: RateLimit?
    /// Issue 23: the mail transport, addresses, link origin, token lifetimes, outbox retries.
    public var mail: MailSettings
    /// Problems worth a warning but not a refusal, found while reading the configuration
    /// (`ConfigFileAudit`); the responder logs them at start.
    public var startupWarnings: [String] = []

    public init(environment env: [String: String] = ProcessInfo.processInfo.environment) throws {
        func int(_ name: String, _ fallback: Int64) throws -> Int64 {
            guard let raw = env[name], !raw.isEmpty else { return fallback }
            guard let v = Int64(raw), v >= 0 else {
                throw ConfigError("\(name) must be a non-negative integer, got '\(raw)'")
            }
            return v
        }
        let d = Settings.defaultPaths
        dbPath = env["AUTH_DB_PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? d.db
        dbURL = env["AUTH_DB_URL"].flatMap { $0.isEmpty ? nil : $0 }
        if let url = dbURL, !PostgresURL.isPostgres(url) {
            throw ConfigError("AUTH_DB_URL must be a PostgreSQL URL (postgresql://user@host/db) or libpq keyword string (host=... dbname=...), got '\(PostgresURL.redacted(url))'; for SQLite set AUTH_DB_PATH")
        }
        dbPool = max(1, Int(try int("AUTH_DB_POOL", 8)))
        postgres = try PostgresOptions(environment: env)
        wsStaleGraceSeconds = Double(try int("AUTH_WS_STALE_GRACE_SECONDS", dbURL == nil ? 0 : 60))
        keysFile = env["AUTH_KEYS_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? d.keys
        secretsFile = env["AUTH_SECRETS_FILE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? Settings.sibling(of: keysFile, named: "secrets")
        mfaIssuer = env["AUTH_MFA_ISSUER"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = env["AUTH_SOCKET"].flatMap { $0.isEmpty ? nil : $0 } ?? d.socket
        wsSocketPath = env["AUTH_WS_SOCKET"].flatMap { $0.isEmpty ? nil : $0 } ?? d.wsSocket
        socketGroup = env["AUTH_SOCKET_GROUP"].flatMap { $0.isEmpty ? nil : $0 }
        let profileName = env["AUTH_API_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "2signal"
        guard let p = APIProfile(rawValue: profileName) else {
            throw ConfigError("AUTH_API_PROFILE must be 2signal or get2dial, got '\(profileName)'")
        }
        profile = p
        issuer = env["AUTH_ISSUER"].flatMap { $0.isEmpty ? nil : $0 } ?? "authgate"
        audience = env["AUTH_AUDIENCE"].flatMap { $0.isEmpty ? nil : $0 } ?? p.rawValue
        jwtTTL = try int("AUTH_JWT_TTL_SECONDS", p == .get2dial ? 43200 : 3600)
        refreshTTL = try int("AUTH_REFRESH_TTL_SECONDS", 2_592_000)
        sessionMax = try int("AUTH_SESSION_MAX_SECONDS", 7_776_000)
        refreshReuse = try int("AUTH_REFRESH_REUSE_SECONDS", 10)
        clockLeeway = try int("AUTH_CLOCK_LEEWAY_SECONDS", 30)
        lockoutThreshold = Int(try int("AUTH_LOCKOUT_THRESHOLD", 10))
        lockoutSeconds = try int("AUTH_LOCKOUT_SECONDS", 900)
        minPasswordLength = Int(try int("AUTH_MIN_PASSWORD_LENGTH", 12))
        maxBody = Int(try int("AUTH_MAX_BODY", 65536))
        loginMaxTenants = Int(try int("AUTH_LOGIN_MAX_TENANTS", 3))
        auditRetentionDays = Int(try int("AUTH_AUDIT_RETENTION_DAYS", 90))
        defaultDomain = env["AUTH_DEFAULT_DOMAIN"].flatMap { $0.isEmpty ? nil : $0 }
        platformDomain = env["AUTH_PLATFORM_DOMAIN"].flatMap { $0.isEmpty ? nil : $0 } ?? "platform.local"
        scrypt = env["AUTH_SCRYPT"].flatMap { $0.isEmpty ? nil : $0 } ?? "ln=15,r=8,p=3"
        let cores = ProcessInfo.processInfo.activeProcessorCount
        hashConcurrency = max(1, Int(try int("AUTH_HASH_CONCURRENCY", Int64(cores))))
        hashQueue = Int(try int("AUTH_HASH_QUEUE", 64))
        threads = max(1, Int(try int("AUTH_THREADS", 64)))
        verifyCacheSeconds = Int(try int("AUTH_VERIFY_CACHE_SECONDS", 1))
        let stale = env["AUTH_STATE_MAX_STALE_SECONDS"].flatMap { $0.isEmpty ? nil : $0 } ?? "1"
        guard let staleSeconds = Double(stale), staleSeconds.isFinite, staleSeconds > 0, staleSeconds <= 3600 else {
            throw ConfigError("AUTH_STATE_MAX_STALE_SECONDS must be a number of seconds in (0, 3600], got '\(stale)'")
        }
        stateMaxStaleSeconds = staleSeconds
        let format = env["AUTH_LOG_FORMAT"].flatMap { $0.isEmpty ? nil : $0 } ?? "text"
        guard format == "text" || format == "json" || format == "logfmt" else {
            throw ConfigError("AUTH_LOG_FORMAT must be text, logfmt or json, got '\(format)'")
        }
        logJSON = format == "json"
        browser = try BrowserSettings(environment: env)
        webauthn = try WebAuthnSettings(environment: env, siteOrigin: browser.siteOrigin)
        logFormat = format
        let metricsSwitch = env["AUTH_METRICS"].flatMap { $0.isEmpty ? nil : $0 } ?? "on"
        guard metricsSwitch == "on" || metricsSwitch == "off" else {
            throw ConfigError("AUTH_METRICS must be on or off, got '\(metricsSwitch)'")
        }
        metrics = metricsSwitch == "on"
        mail = try MailSettings(environment: env)
        rateLimit = try env["AUTH_RATE_LIMIT"].flatMap { $0.isEmpty ? nil : $0 }.map(RateLimit.parse) ?? .default
    }

    /// `name` in the directory of `path` (the secrets file next to the key ring).
    static func sibling(of path: String, named name: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return name }
        return String(path[...slash]) + name
    }

    /// What a message names as the database: the SQLite path or the redacted PostgreSQL URL.
    public var dbDescription: String { dbURL.map(PostgresURL.redacted) ?? dbPath }
    public var usesPostgres: Bool { dbURL != nil }
    /// Where the verify state's LISTEN connection goes: `AUTH_DB_LISTEN_URL`, else `AUTH_DB_URL`.
    public var dbListenURL: String? { dbURL.map { postgres.listenURL ?? $0 } }

    /// The installed layout's absolute defaults (never relative to the current directory).
    public static let defaultPaths = (db: "/var/lib/authgate/authgate.db", keys: "/var/lib/authgate/keys",
                                      socket: "/run/authgate/authgate.sock", wsSocket: "/run/authgate/authgate-ws.sock")
}

public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
