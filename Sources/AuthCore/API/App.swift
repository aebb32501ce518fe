import AuthCrypto
import Foundation
import Synchronization

/// The process-wide core: settings, router, key ring, hash limiter. Shared by every worker
/// thread; everything in it is immutable or internally synchronized.
public final class App: Sendable {
    public static let version = "0.1.0"

    /// The settings now in force: as started, with the live keys of the last SIGHUP applied
    /// (`reload`). Workers keep their own copy and re-read it only when `settingsGeneration` moves.
    public var settings: Settings { liveSettings.withLock { $0 } }
    private let liveSettings: Mutex<Settings>
    private let generation = Atomic<Int>(0)
    /// Moves at every `reload` (one relaxed-cost load per request in `Worker.handle`).
    public var settingsGeneration: Int { generation.load(ordering: .acquiring) }
    public let router: Router
    public let log: Logger
    public let keys: KeyRingStore
    /// AUTH_SECRETS_FILE (TOTP seeds sealed at rest); nil when the file does not exist (the MFA
    /// enrolment answers 503 then; logins of users with a factor cannot complete either).
    public let secrets: KeyRingStore?
    public let hashLimiter: HashLimiter
    public let scrypt: ScryptParameters
    /// Password hashes (scrypt runs) this process made or verified: logins, password changes
    /// and the cost-equalizing run for an unknown account. Tests count with it (review finding
    /// 10: every failed login costs one run, whatever the account).
    public var passwordHashRuns: Int { hashRuns.load(ordering: .relaxed) }
    private let hashRuns = Atomic<Int>(0)
    func countPasswordHash() { hashRuns.add(1, ordering: .relaxed) }
    /// Tests only: see `TestHooks`.
    public let testHooks = TestHooks()
    /// The process's one verify state, shared by every worker (each reads through its own
    /// `VerifyReader`). The responder starts its refresher thread.
    public let verifyState: VerifyState
    /// Every worker's counters (GET /api/v1/metrics).
    public let metrics = MetricsRegistry()
    /// A full or failing store is logged once per burst, not once per request.
    public let storageFailures = StorageFailureLog()
    /// AUTH_RATE_LIMIT per client address on the password routes (nil: off); see RateLimitRoutes.swift.
    public let rateLimiter: AddressRateLimiter?
    /// Silent renewals per session: at most one rotation a second (Browser/RenewalThrottle.swift).
    let renewals = RenewalThrottle()
    /// The last readiness and health outcomes (at most one check a second: ProbeCache).
    public let probes = ProbeCache()
    /// The mail outbox's sender and counters (Mail/MailSender.swift).
    public let mail = MailOutbox()

    /// `oneShot`: a process that answers one request and exits (CGI mode): no verify refresher
    /// thread (the state is loaded once, here).
    public init(settings: Settings, log: Logger? = nil, oneShot: Bool = false) throws {
        self.liveSettings = Mutex(settings)
        self.router = Router.api()
        self.log = log ?? Logger(settings: settings)
        if !oneShot { for warning in settings.startupWarnings { self.log.warning(warning) } }
        guard let params = ScryptParameters(settings.scrypt) else {
            throw ConfigError("AUTH_SCRYPT must look like ln=15,r=8,p=3, got '\(settings.scrypt)'")
        }
        self.scrypt = params
        do {
            self.keys = try KeyRingStore(path: settings.keysFile, onProblem: KeyRingStore.logger(self.log))
        } catch {
            throw ConfigError("cannot load key ring \(settings.keysFile): \(error)")
        }
        do {
            self.secrets = try Self.loadSecrets(settings, log: self.log)
        } catch {
            throw ConfigError("cannot load secrets file \(settings.secretsFile) (AUTH_SECRETS_FILE): \(error)")
        }
        // A login burst must never occupy every responder thread (verifies would stall behind
        // it): hashing plus waiting logins get at most half of AUTH_THREADS.
        let queue = min(settings.hashQueue, max(0, settings.threads / 2 - settings.hashConcurrency))
        if queue < settings.hashQueue && !oneShot {
            self.log.info("AUTH_HASH_QUEUE \(settings.hashQueue) lowered to \(queue): at most half of AUTH_THREADS (\(settings.threads)) may wait on password hashing")
        }
        self.rateLimiter = settings.rateLimit.map { AddressRateLimiter($0) }
        self.hashLimiter = HashLimiter(concurrency: settings.hashConcurrency, queue: queue)
        // Applies migrations once, before any worker opens its own connection.
        let db = try Database(settings: settings)
        try db.migrate()
        self.verifyState = try VerifyState(settings: settings, log: self.log)
        if !oneShot { verifyState.startRefresher() }
    }

    deinit { verifyState.stopRefresher() }

    /// SIGHUP: puts the live keys of `fresh` in force (Settings.liveKeys) for the next request of
    /// every worker and the next log line; everything else keeps its value from the start.
    public func reload(_ fresh: Settings) {
        liveSettings.withLock { $0 = $0.applyingLive(fresh) }
        log.format = Logger.Format(rawValue: fresh.logFormat) ?? .text
        generation.add(1, ordering: .releasing)
    }

    /// A missing file is no error (no factor can be enrolled until `authgate init` makes it);
    /// a file with group/other bits, or that does not parse, is refused as the key ring is.
    static func loadSecrets(_ settings: Settings, log: Logger) throws -> KeyRingStore? {
        var st = stat()
        guard stat(settings.secretsFile, &st) == 0 else {
            if errno == ENOENT {
                log.warning("no secrets file at \(settings.secretsFile) (AUTH_SECRETS_FILE): second factors cannot be enrolled or used until `authgate init` creates it")
                return nil
            }
            throw ConfigError("stat: \(String(cString: strerror(errno)))")
        }
        return try KeyRingStore(path: settings.secretsFile, onProblem: KeyRingStore.logger(log))
    }

    public func makeWorker() throws -> Worker { try Worker(app: self) }
}
