import Foundation
import Synchronization

/// The outbox's delivery: counters for the metrics, and the sender thread the responder runs
/// (one per process; on PostgreSQL every host runs one, and `FOR UPDATE SKIP LOCKED` keeps
/// their claims apart). A flow that enqueued a message pokes it; otherwise it looks every
/// second (or every AUTH_MAIL_RETRY_SECONDS when shorter) for due retries.
public final class MailOutbox: Sendable {
    /// Messages delivered, failed attempts, messages given up (this process).
    public let sent = Atomic<Int>(0)
    public let failedAttempts = Atomic<Int>(0)
    public let dead = Atomic<Int>(0)
    private let wake = DispatchSemaphore(value: 0)
    private let running = Atomic<Bool>(false)

    public init() {}

    /// After a commit that enqueued mail: deliver now rather than at the next look.
    public func poke() { if running.load(ordering: .relaxed) { wake.signal() } }

    /// Starts the sender thread (once). No transport configured: no thread, mail waits.
    public func startSender(app: App) {
        let settings = app.settings.mail
        guard let transport = settings.makeTransport(), !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in
            let db: Database
            do { db = try Database(settings: app.settings) } catch {
                app.log.error("mail: the sender cannot open the database: \(error); mail is not delivered by this process")
                return
            }
            app.log.info("mail: sender started (\(settings.transportDescription))")
            let pause = min(1.0, settings.retrySeconds)
            while true {
                var worked = false
                do { worked = try deliverOne(db: db, transport: transport, settings: settings, log: app.log) } catch {
                    app.log.error("mail: outbox unavailable: \(error)")
                }
                if !worked { _ = wake.wait(timeout: .now() + pause) }
            }
        }
        thread.name = "authgate-mail"
        thread.start()
    }

    /// Claims one due message and delivers it; false when nothing was due. Public for
    /// `authgate mail test` and the in-process tests (a sender of their own).
    @discardableResult
    public func deliverOne(db: Database, transport: MailTransport, settings: MailSettings, log: Logger) throws -> Bool {
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        let lease = Int64(settings.timeoutSeconds * 2000) + 5000
        guard let row = try db.outbox.claim(nowMillis: nowMillis, leaseMillis: lease) else { return false }
        guard let message = row.message else {
            try db.outbox.markFailed(id: row.id, error: "no message text left", dead: true, retryAtMillis: nowMillis)
            return true
        }
        // An address that would need quoting in a header or the SMTP envelope is never handed on.
        let result = MailMessage.isPlainAddress(row.recipient)
            ? transport.deliver(from: settings.from, to: row.recipient, message: message)
            : .permanent("the recipient is not a plain address")
        let now = Int64(Date().timeIntervalSince1970)
        switch result {
        case .sent:
            try db.outbox.markSent(id: row.id, now: now)
            sent.add(1, ordering: .relaxed)
            log.info("mail: #\(row.id) (\(row.kind)) delivered after \(row.attempts + 1) attempt(s)")
        case let .temporary(detail), let .permanent(detail):
            let permanent = { if case .permanent = result { return true } else { return false } }()
            let attempts = row.attempts + 1
            let isDead = permanent || attempts >= settings.maxAttempts
            let retryAt = Int64(Date().timeIntervalSince1970 * 1000) + settings.backoffMillis(afterAttempts: attempts)
            try db.outbox.markFailed(id: row.id, error: detail, dead: isDead, retryAtMillis: retryAt)
            failedAttempts.add(1, ordering: .relaxed)
            if isDead {
                dead.add(1, ordering: .relaxed)
                log.error("mail: #\(row.id) (\(row.kind)) dead after \(attempts) attempt(s): \(detail)")
            } else {
                log.warning("mail: #\(row.id) (\(row.kind)) attempt \(attempts) failed, retried in \(settings.backoffMillis(afterAttempts: attempts)) ms: \(detail)")
            }
        }
        return true
    }
}
