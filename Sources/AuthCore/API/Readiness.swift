import AuthCrypto
import Foundation

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

extension Worker {
    /// `GET /api/v1/ready`: 200 only when this process can serve everything: the database is
    /// writable (a write transaction can start: `BEGIN IMMEDIATE`, rolled back at once), the
    /// key ring on disk is the one in use, and the verify state is current. 503 otherwise, with
    /// the reason. Costs a write lock for a moment: meant for a probe every few seconds, not
    /// for every request (`/api/v1/health` stays the cheap one).
    static let ready: Router.Handler = { worker, _, _ throws(AuthError) in
        var problems: [String] = []
        do { try worker.db.transaction(immediate: true) {} } catch {
            problems.append("database \(worker.settings.dbDescription) is not writable: \(error)")
        }
        if let p = worker.app.keys.problem { problems.append(p) }
        _ = worker.state.isFresh()
        if !worker.app.verifyState.health.fresh { problems.append("the verify state is stale") }
        return worker.profile.respond(problems.isEmpty ? 200 : 503, .object([
            ("status", .string(problems.isEmpty ? "ready" : "not_ready")),
            ("problems", .array(problems.map { .string($0) })),
        ]))
    }
}
