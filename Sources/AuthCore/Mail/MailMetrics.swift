import AuthCrypto
import Foundation

enum MailMetrics {
    /// The outbox's lines of `GET /api/v1/metrics`: the queue from the store (every host's mail),
    /// the delivery counters of this process's sender. A store that does not answer leaves the
    /// gauges out (the scrape still answers).
    static func render(_ db: Database, _ m: MailOutbox) -> String {
        var out = ""
        if let s = try? db.outbox.summary(now: Time.now()) {
            out += """
                # HELP authgate_mail_outbox_pending Messages waiting for delivery (every host).
                # TYPE authgate_mail_outbox_pending gauge
                authgate_mail_outbox_pending \(s.pending)
                # HELP authgate_mail_outbox_oldest_pending_seconds Age of the oldest message waiting (0: none).
                # TYPE authgate_mail_outbox_oldest_pending_seconds gauge
                authgate_mail_outbox_oldest_pending_seconds \(s.oldestPendingSeconds)
                # HELP authgate_mail_outbox_dead Messages given up after their attempts or a permanent refusal.
                # TYPE authgate_mail_outbox_dead gauge
                authgate_mail_outbox_dead \(s.dead)

                """
        }
        out += """
            # HELP authgate_mail_sent_total Messages this process delivered.
            # TYPE authgate_mail_sent_total counter
            authgate_mail_sent_total \(m.sent.load(ordering: .relaxed))
            # HELP authgate_mail_failed_total Delivery attempts of this process that failed.
            # TYPE authgate_mail_failed_total counter
            authgate_mail_failed_total \(m.failedAttempts.load(ordering: .relaxed))
            # HELP authgate_mail_dead_total Messages this process gave up on.
            # TYPE authgate_mail_dead_total counter
            authgate_mail_dead_total \(m.dead.load(ordering: .relaxed))

            """
        return out
    }
}
