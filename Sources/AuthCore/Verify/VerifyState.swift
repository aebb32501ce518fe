import AuthCrypto
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What the verify path knows about a session beyond its token.
public enum SessionCheck: Sendable, Equatable {
    case ok, revoked, userDisabled, passwordChangeRequired
}

public struct APIKeyIdentity: Sendable, Equatable {
    public var keyID: String
    public var projectID: String
    public var tenantID: String
}

public struct NodeIdentity: Sendable, Equatable {
    public var nodeID: String
    public var tenantID: String
    public var name: String
}

/// The verify state of one process (the responder's workers and the companion's loop share
/// it): revoked sessions, blocked users, live API keys and nodes, as one immutable snapshot
/// that readers use without a lock (SnapshotCell) and one writer replaces.
///
/// - Bounded: a revoked session is kept only until every access token it issued has expired
///   (revoked_at + `retainSeconds`: the token TTL, the clock leeway, the refresh reuse window
///   and a minute of clock margin), a disabled user likewise from its last update; users who
///   must change their password are kept while flagged; keys and nodes: the live ones. A token
///   whose lifetime (exp - iat) is longer than the TTL the bound assumes is refused.
/// - Incremental: after one full load, only the store's changes after the watermark are
///   applied; a full rebuild only at start and when the store says the watermark is lost.
/// - Off the request path: a refresher thread (`startRefresher`) polls the store's change
///   marker (SQLite: a 96-byte compare) and applies changes; a process that wrote something
///   itself (a logout) calls `refreshIfChanged()` before it answers, so its own revocation is
///   denied on the very next verify.
/// - Fail closed: the state is fresh while the store is confirmed unchanged or its changes
///   applied within `maxStaleSeconds`; past that, `isFresh` is false (the gate answers 401,
///   the companion closes with 4003) until a refresh succeeds again. Failures are logged.
public final class VerifyState: @unchecked Sendable {
    public struct Bounds: Sendable {
        /// How long after its revocation a session's entry matters.
        public var retainSeconds: Int64
        /// The longest token lifetime (exp - iat) whose revocation the bound covers.
        public var maxTokenLifetime: Int64
        public var maxStaleSeconds: Double
        /// Expired entries are dropped (and `recent` folded into `base`) at most this often.
        public var compactionSeconds: Int64

        public init(retainSeconds: Int64, maxTokenLifetime: Int64, maxStaleSeconds: Double,
                    compactionSeconds: Int64 = 60) {
            self.retainSeconds = retainSeconds
            self.maxTokenLifetime = maxTokenLifetime
            self.maxStaleSeconds = maxStaleSeconds
            self.compactionSeconds = compactionSeconds
        }

        public init(settings: Settings) {
            self.init(retainSeconds: settings.jwtTTL + settings.clockLeeway + settings.refreshReuse + 60,
                      maxTokenLifetime: settings.jwtTTL, maxStaleSeconds: settings.stateMaxStaleSeconds)
        }
    }

    public let bounds: Bounds
    let cell: SnapshotCell
    private let log: Logger
    /// The store and the writer's bookkeeping: one refresh at a time.
    private let writer: Locked<Writer>
    /// Monotonic nanoseconds of the last time the state was confirmed current.
    private let confirmedAt = Atomic<Int64>(0)
    private let refreshing = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    private let failure = Locked<String?>(nil)
    /// For the metrics: full loads (start, lost watermark) and incremental applies that moved
    /// the watermark.
    private let fullLoads = Atomic<Int>(0)
    private let incrementalApplies = Atomic<Int>(0)
    public var reloadCounts: (full: Int, incremental: Int) {
        (fullLoads.load(ordering: .relaxed), incrementalApplies.load(ordering: .relaxed))
    }
    let maxStaleNanos: Int64

    private struct Writer: @unchecked Sendable {
        var store: any VerifyStore
        var marker: VerifyChangeMarker?
        var loaded = false
        var lastCompaction: Int64 = 0
        var failures = 0
        /// Wall clock minus monotonic clock (seconds) at the last refresh: a change means the wall
        /// clock was stepped (see `refreshIfChanged`).
        var wallOffset: Int64?
    }

    /// A step of the wall clock larger than this (seconds, either way) reloads the state.
    static let clockStepSeconds: Int64 = 5

    /// Changes applied per store read; a longer backlog takes several reads.
    static let batch = 10_000

    /// The store may block (PostgreSQL): a stale verify refuses instead of reading itself.
    private let selfRefresh: Bool

    public init(store: any VerifyStore, bounds: Bounds, log: Logger = Logger()) {
        self.bounds = bounds
        self.selfRefresh = !store.mayBlock
        self.log = log
        self.maxStaleNanos = Int64(bounds.maxStaleSeconds * 1e9)
        cell = SnapshotCell(.empty)
        writer = Locked(Writer(store: store))
        refreshIfChanged()
    }

    /// A state over its own connection to the SQLite database at `path`.
    public convenience init(sqlitePath path: String, settings: Settings, log: Logger = Logger()) throws {
        self.init(store: try SQLiteVerifyStore(path: path), bounds: Bounds(settings: settings), log: log)
    }

    /// A state over its own connection to the store the settings name (PostgreSQL: one
    /// connection that LISTENs for the change notifications).
    public convenience init(settings: Settings, log: Logger = Logger()) throws {
        let store: any VerifyStore
        if let url = settings.dbListenURL {
            store = try PostgresVerifyStore(url: url, heartbeatSeconds: min(0.25, settings.stateMaxStaleSeconds / 4))
        } else {
            store = try SQLiteVerifyStore(path: settings.dbPath)
        }
        self.init(store: store, bounds: Bounds(settings: settings), log: log)
    }

    // MARK: reading

    /// A reader for one thread (not shared): lock-free lookups in the current snapshot.
    public func makeReader() -> VerifyReader { VerifyReader(self) }

    /// True while the data is known current within `maxStaleSeconds`. When the refresher has
    /// fallen behind (or there is none), the caller refreshes itself, unless a refresh is
    /// already running.
    public func ensureFresh() -> Bool {
        if VerifyState.monotonicNanos() - confirmedAt.load(ordering: .relaxed) <= maxStaleNanos { return true }
        if selfRefresh && !refreshing.load(ordering: .relaxed) { refreshIfChanged() }
        return VerifyState.monotonicNanos() - confirmedAt.load(ordering: .relaxed) <= maxStaleNanos
    }

    /// Seconds since the state was last confirmed current (infinity when never loaded).
    public func staleSeconds() -> Double {
        let at = confirmedAt.load(ordering: .relaxed)
        guard at > 0 else { return .infinity }
        return Double(VerifyState.monotonicNanos() - at) / 1e9
    }

    // MARK: refreshing

    /// Brings the snapshot up to date with the store now (cheap when the change marker did not
    /// move). Call it after this process wrote something that revokes.
    /// `refreshIfChanged()` where a read cannot block (SQLite); nothing otherwise (the
    /// refresher applies changes). For callers on an event loop.
    public func catchUp() {
        if selfRefresh { refreshIfChanged() }
    }

    /// `force`: read the store even when the marker did not move (PostgreSQL after this
    /// process's own revoking write: its notification may not have arrived yet).
    public func refreshIfChanged(force: Bool = false) {
        writer.withLock { w in
            refreshing.store(true, ordering: .relaxed)
            defer { refreshing.store(false, ordering: .relaxed) }
            let started = VerifyState.monotonicNanos()
            // Entries are dropped by the wall clock (revoked_at + the bound). After a step
            // forward dropped some, a step back would make their tokens valid again while the
            // state forgot the revocation: a step either way reloads everything from the store,
            // judged by the clock as it now is.
            let offset = Time.now() - started / 1_000_000_000
            if let last = w.wallOffset, abs(offset - last) > Self.clockStepSeconds, w.loaded {
                log.info("verify state: the wall clock stepped by \(offset - last) s: full reload")
                w.loaded = false
            }
            w.wallOffset = offset
            do {
                let marker = w.store.changeMarker()
                if !force, w.loaded, let marker, marker == w.marker {
                    confirmedAt.store(started, ordering: .relaxed)
                    return
                }
                try update(&w)
                // A commit racing with the read moves the marker again: the next call reads.
                w.marker = marker
                confirmedAt.store(started, ordering: .relaxed)
                if w.failures > 0 {
                    log.info("verify state: store readable again after \(w.failures) failed refresh(es)")
                    w.failures = 0
                    failure.withLock { $0 = nil }
                }
            } catch {
                w.failures += 1
                w.marker = nil
                failure.withLock { $0 = "\(error)" }
                // Loud, but one line a second at most while it lasts.
                if w.failures == 1 || w.failures % 100 == 0 {
                    log.error("verify state: refresh failed (\(w.failures) in a row), data from \(ageDescription()); "
                              + "past \(bounds.maxStaleSeconds) s every verify is refused: \(error)")
                }
            }
        }
    }

    private func update(_ w: inout Writer) throws {
        let now = Time.now()
        let cutoff = now - bounds.retainSeconds
        guard w.loaded else {
            try rebuild(&w, now: now)
            return
        }
        var snapshot = cell.current
        while true {
            switch try w.store.changes(after: snapshot.watermark, limit: Self.batch, disabledSince: cutoff) {
            case .lost:
                log.info("verify state: change log no longer holds watermark \(snapshot.watermark): full rebuild")
                try rebuild(&w, now: now)
                return
            case let .changes(watermark, sessions, users, keys):
                guard watermark != snapshot.watermark || keys != nil else {
                    compactIfDue(&w, &snapshot, now: now)
                    return
                }
                apply(&snapshot, watermark: watermark, sessions: sessions, users: users, keys: keys, now: now)
                cell.publish(snapshot)
                incrementalApplies.add(1, ordering: .relaxed)
                if sessions.count + users.count < Self.batch { return }
            }
        }
    }

    private func rebuild(_ w: inout Writer, now: Int64) throws {
        let cutoff = now - bounds.retainSeconds
        let load = try w.store.loadAll(revokedSince: cutoff, disabledSince: cutoff)
        let revoked = load.revoked.finish(cutoff: cutoff)
        var blocked: [String: SessionCheck] = [:]
        for u in load.blockedUsers { blocked[u.userID] = u.check }
        cell.publish(VerifySnapshot(base: revoked, recent: .empty, blockedUsers: blocked, apiKeys: load.apiKeys,
                                    nodes: load.nodes, watermark: load.watermark))
        w.loaded = true
        w.lastCompaction = now
        fullLoads.add(1, ordering: .relaxed)
    }

    private func apply(_ s: inout VerifySnapshot, watermark: Int64, sessions: [(String, Int64)], users: [VerifyUserChange],
                       keys: (apiKeys: [String: APIKeyIdentity], nodes: [String: NodeIdentity])?, now: Int64) {
        var blocked = s.blockedUsers
        for u in users { blocked[u.userID] = u.check }
        let apiKeys = keys?.apiKeys ?? s.apiKeys, nodes = keys?.nodes ?? s.nodes
        var recent = s.recent
        if !sessions.isEmpty {
            let cutoff = now - bounds.retainSeconds
            let (added, removed) = revokedSessions(sessions, cutoff: cutoff)
            recent = recent.merging(added, removed: removed, cutoff: cutoff)
            if !removed.isEmpty || recent.count > VerifySnapshot.recentLimit {
                // Folded into the tables (which drop their removed entries too); `recent` stays
                // beside them until the last shard is done.
                let full = recent.count > VerifySnapshot.recentLimit
                fold(&s, adding: full ? recent : .empty, recent: recent, removed: removed, cutoff: cutoff, blocked: blocked,
                     apiKeys: apiKeys, nodes: nodes)
                if full { recent = .empty }
            }
        }
        s = VerifySnapshot(base: s.base, recent: recent, blockedUsers: blocked, apiKeys: apiKeys, nodes: nodes, watermark: watermark)
    }

    /// Drops entries whose tokens have all expired, at most once a minute.
    private func compactIfDue(_ w: inout Writer, _ s: inout VerifySnapshot, now: Int64) {
        guard now - w.lastCompaction >= bounds.compactionSeconds else { return }
        w.lastCompaction = now
        fold(&s, adding: s.recent, recent: s.recent, removed: [], cutoff: now - bounds.retainSeconds, blocked: s.blockedUsers,
             apiKeys: s.apiKeys, nodes: s.nodes)
        s = VerifySnapshot(base: s.base, recent: .empty, blockedUsers: s.blockedUsers, apiKeys: s.apiKeys, nodes: s.nodes,
                           watermark: s.watermark)
        cell.publish(s)
    }

    /// Starts the refresher thread: every `intervalMillis` it checks the store's marker and
    /// applies what changed (also the compaction). Runs until `stopRefresher()`.
    public func startRefresher(intervalMillis: Int = 10) {
        let box = Unmanaged.passRetained(RefresherBox(state: self, interval: intervalMillis)).toOpaque()
        var thread = pthread_t()
        if pthread_create(&thread, nil, { verifyRefresherEntry($0) }, box) == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<RefresherBox>.fromOpaque(box).release()
            log.error("verify state: cannot start the refresher thread; verifies refresh it themselves")
        }
    }

    public func stopRefresher() { stopped.store(true, ordering: .relaxed) }

    fileprivate func refresherLoop(intervalMillis: Int) {
        while !stopped.load(ordering: .relaxed) {
            refreshIfChanged()
            usleep(useconds_t(intervalMillis * 1000))
        }
    }

    // MARK: health

    public struct Health: Sendable {
        public var fresh: Bool
        /// Milliseconds since the data was last confirmed current.
        public var ageMillis: Int64
        public var error: String?
        public var revokedSessions: Int
        public var blockedUsers: Int
        public var watermark: Int64
    }

    public var health: Health {
        // Fresh is decided on nanoseconds, like ensureFresh: on truncated milliseconds a state
        // 300.9 ms old read as fresh under a 300 ms bound while readers already refused it.
        let ageNanos = VerifyState.monotonicNanos() - confirmedAt.load(ordering: .relaxed)
        let s = writer.withLock { _ in cell.current }
        return Health(fresh: ageNanos <= maxStaleNanos, ageMillis: ageNanos / 1_000_000, error: failure.withLock { $0 },
                      revokedSessions: s.revokedCount, blockedUsers: s.blockedUsers.count, watermark: s.watermark)
    }

    private func ageDescription() -> String {
        let at = confirmedAt.load(ordering: .relaxed)
        guard at > 0 else { return "never (not loaded yet)" }
        return "\((VerifyState.monotonicNanos() - at) / 1_000_000) ms ago"
    }

    static func monotonicNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// One thread's handle on the process's verify state: every lookup reads the current snapshot
/// without a lock. Not shared between threads.
public final class VerifyReader {
    public let state: VerifyState
    private let slot: ReaderSlot

    init(_ state: VerifyState) {
        self.state = state
        slot = state.cell.register()
    }

    deinit { state.cell.unregister(slot) }

    /// See `VerifyState.ensureFresh()`: false means refuse (401 / close 4003).
    public func isFresh() -> Bool { state.ensureFresh() }

    /// Revocation wins over the user's state; a token that lives longer than the bound
    /// assumes (exp - iat past the TTL) reads `.revoked`: its revocation could not be honoured.
    public func sessionCheck(sid: String, userID: String, iat: Int64, exp: Int64) -> SessionCheck {
        if exp &- iat > state.bounds.maxTokenLifetime { return .revoked }
        return state.cell.read(slot) { $0.sessionCheck(sid: sid, userID: userID) }
    }

    /// The same, with `SessionKey(sid)` already made (the verified-token memo keeps it per token).
    func sessionCheck(key: SessionKey?, sid: String, userID: String, iat: Int64, exp: Int64) -> SessionCheck {
        if exp &- iat > state.bounds.maxTokenLifetime { return .revoked }
        return state.cell.read(slot) { $0.sessionCheck(key: key, sid: sid, userID: userID) }
    }

    /// The session is in the revoked set (in memory; one revoked longer ago than the token
    /// lifetime has aged out of it).
    public func isRevoked(sessionID: String) -> Bool { state.cell.read(slot) { $0.isRevoked(sessionID) } }

    /// Live keys only, by hex SHA-256 digest of the raw key.
    public func apiKey(digest: String) -> APIKeyIdentity? { state.cell.read(slot) { $0.apiKeys[digest] } }

    /// Live nodes only, by hex SHA-256 digest of the raw key.
    public func node(digest: String) -> NodeIdentity? { state.cell.read(slot) { $0.nodes[digest] } }
}

private final class RefresherBox {
    let state: VerifyState
    let interval: Int
    init(state: VerifyState, interval: Int) {
        self.state = state
        self.interval = interval
    }
}

private func verifyRefresherEntry(_ raw: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let raw else { return nil }
    let box = Unmanaged<RefresherBox>.fromOpaque(raw).takeRetainedValue()
    box.state.refresherLoop(intervalMillis: box.interval)
    return nil
}
