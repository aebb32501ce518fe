import AuthCrypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension KeyRingStore {
    /// The processes' reaction to a key ring they cannot load: a loud line, and again when fixed.
    public static func logger(_ log: Logger) -> @Sendable (String?) -> Void {
        { problem in
            if let problem {
                log.error("KEY RING NOT LOADED: \(problem) (fix the file's owner/mode: it must be readable by this process's user only; see authgate doctor)")
            } else {
                log.info("key ring loaded again")
            }
        }
    }
}

extension ProbeRoutes {
    /// `GET /api/v1/ready`: 200 only when this process can serve everything: the database is
    /// writable (a write transaction can start: `BEGIN IMMEDIATE`, rolled back at once), the
    /// key ring on disk is the one in use, and the verify state is current. 503 otherwise,
    /// naming only what fails (`database`, `key_ring`, `verify_state`); the details (paths, uid,
    /// errno text) go to the log. Checked at most once a second per process (ProbeCache).
    static let ready: Router.Handler = { worker, _, _ throws(AuthError) in
        let outcome = worker.app.probes.outcome(.ready, log: worker.app.log) { readinessCheck(worker) }
        var body: [(String, JSON)] = [("status", .string(outcome.ok ? "ready" : "not_ready"))]
        body.append(("problems", .array(outcome.failing.map { .string($0) })))
        var response = worker.profile.respond(outcome.ok ? 200 : 503, .object(body))
        if !outcome.ok { response.headers.append(("Retry-After", "1")) }
        return response
    }

    static func readinessCheck(_ worker: Worker) -> ProbeCache.Outcome {
        let settings = worker.settings, db = worker.db, app = worker.app
        var failing: [String] = []
        var details: [String] = []
        let dbPath = settings.dbDescription
        // The file system first: a read-only mount or a full disk lets BEGIN IMMEDIATE succeed
        // (WAL takes its write lock in shared memory) and only fails at the next commit.
        if !settings.usesPostgres, let problem = writeProblem(settings.dbPath) {
            failing.append("database")
            details.append("database \(dbPath) is not writable: \(problem)")
        } else {
            // Another connection holding the write lock past the busy handler (5 s) fails here,
            // as a login or refresh would.
            do { try db.transaction(immediate: true) {} } catch {
                failing.append("database")
                details.append("database \(dbPath) is not writable: \(error)")
            }
        }
        if let p = app.keys.problem {
            failing.append("key_ring")
            details.append(p)
        }
        _ = worker.state.isFresh()
        if !app.verifyState.health.fresh {
            failing.append("verify_state")
            details.append("the verify state is stale")
        }
        return ProbeCache.Outcome(ok: failing.isEmpty, failing: failing, details: details)
    }

    /// Why this process could not write the database at `path` on its next commit (or at its
    /// next start): a read-only file system, no free block for this user, or the database, its
    /// `-wal`/`-shm` or its directory not writable by this process's user (e.g. a chmod or
    /// chown after start: the open descriptors still work, the next process would fail).
    /// nil when nothing is known to be wrong.
    static func writeProblem(_ path: String) -> String? {
        let dir = (path as NSString).deletingLastPathComponent
        var fs = statvfs()
        if statvfs(dir.isEmpty ? "." : dir, &fs) == 0 {
            if fs.f_flag & UInt(ST_RDONLY) != 0 { return "its file system is mounted read-only" }
            if (geteuid() == 0 ? fs.f_bfree : fs.f_bavail) == 0 { return "its file system is full" }
        }
        for file in [path, path + "-wal", path + "-shm", dir.isEmpty ? "." : dir] {
            if access(file, W_OK) != 0 && errno != ENOENT {
                return "\(file): \(String(cString: strerror(errno))) for uid \(geteuid())"
            }
        }
        return nil
    }
}
