import Foundation

/// What SIGHUP changes in a running process. The live keys are read per request (or per log
/// line) through the worker's settings, so a reload takes them at the next request; every
/// other key shapes something built once at start (sockets, threads, the database and key-ring
/// paths, the hash limiter, the verify state's windows, the token format) and needs a restart,
/// which loses no request under socket activation or `--hold-socket`.
extension Settings {
    /// Applied by SIGHUP in the responder (the companion applies AUTH_LOG_FORMAT only).
    public static let liveKeys: Set<String> = [
        "AUTH_LOG_FORMAT", "AUTH_METRICS",
        "AUTH_LOCKOUT_THRESHOLD", "AUTH_LOCKOUT_SECONDS", "AUTH_MIN_PASSWORD_LENGTH", "AUTH_MAX_BODY",
        "AUTH_LOGIN_MAX_TENANTS", "AUTH_DEFAULT_DOMAIN", "AUTH_AUDIT_RETENTION_DAYS",
        "AUTH_REFRESH_TTL_SECONDS", "AUTH_SESSION_MAX_SECONDS",
        "AUTH_CORS_ORIGINS", "AUTH_SITE_ORIGIN", "AUTH_COOKIE_RENEW_SECONDS",
    ]

    /// Read by other programs, never by the daemons: changing them needs no restart of Authgate.
    public static let notDaemonKeys: Set<String> = ["AUTH_VERIFY_CACHE_SECONDS", "AUTH_NGINX_USER"]

    /// `self` with the live keys taken from `fresh`; every other field stays as it started.
    public func applyingLive(_ fresh: Settings) -> Settings {
        var next = self
        next.logFormat = fresh.logFormat
        next.logJSON = fresh.logJSON
        next.metrics = fresh.metrics
        next.lockoutThreshold = fresh.lockoutThreshold
        next.lockoutSeconds = fresh.lockoutSeconds
        next.minPasswordLength = fresh.minPasswordLength
        next.maxBody = fresh.maxBody
        next.loginMaxTenants = fresh.loginMaxTenants
        next.defaultDomain = fresh.defaultDomain
        next.auditRetentionDays = fresh.auditRetentionDays
        next.refreshTTL = fresh.refreshTTL
        next.sessionMax = fresh.sessionMax
        next.browser.corsOrigins = fresh.browser.corsOrigins
        next.browser.siteOrigin = fresh.browser.siteOrigin
        next.browser.renewBeforeSeconds = fresh.browser.renewBeforeSeconds
        return next
    }
}
