import AuthCore
import AuthCrypto
import Foundation
import TestSupport
import Testing

/// Issue 23 across two hosts on one PostgreSQL (`TwoHosts`): one reset token submitted 16 times at
/// once, 8 to each host, changes the password once (the consume is a compare-and-swap under the
/// row lock, whichever host writes it); both hosts' senders share one outbox and every message
/// goes out once (`FOR UPDATE SKIP LOCKED` claims).
@Suite("Two hosts: mail")
struct TwoHostMailTests {
    @Test func oneTokenOneResetOneDeliveryEach() throws {
        let sendmail = try SendmailCapture()
        try TwoHosts.with(configure: { o in
            for (k, v) in sendmail.environment { o.environment[k] = v }
            o.environment["AUTH_MAIL_RETRY_SECONDS"] = "0.2"
        }) { h in
            let users = (0..<10).map { "u\($0)@demo.local" }
            try h.world(users: users)
            for (i, user) in users.enumerated() {
                #expect(try h.hosts[i % 2].post("/api/v1/auth/password/forgot", json: ["email": user]).status == 202)
            }
            _ = try MailCapture.wait(sendmail.messages, count: 10, timeout: 30, what: "from two hosts' senders")
            let mails = sendmail.messages()
            let recipients = mails.compactMap { MailCapture.header($0, "To") }
            #expect(recipients.count == 10 && Set(recipients) == Set(users), "each message once: \(recipients.sorted())")
            try waitFor("every outbox row sent") { try h.a.database().outbox.summary(now: Time.now()).sent == 10 }

            let mail = try #require(mails.first { MailCapture.header($0, "To") == "u0@demo.local" })
            let token = try #require(MailCapture.linkToken(mail))
            let session = try h.b.tokens("u0@demo.local")
            let requests = try h.hosts.map { host in
                try (0..<8).map { i in
                    try host.postRequest("/api/v1/auth/password/reset", json: ["token": token, "new_password": "racing passphrase \(i)"])
                }
            }
            let statuses = try onThreads(2) { i in try h.hosts[i].client.parallel(requests[i]).map(\.status) }.flatMap { try $0.get() }
            print("mail: 16 resets with one token across two hosts: \(statuses)")
            #expect(statuses.filter { $0 == 200 }.count == 1 && statuses.filter { $0 == 400 }.count == 15, "\(statuses)")
            let took = try h.a.secondsUntil("/demo/echo", token: session.access, answers: 401)
            print("mail: host A's gate denied the session \(took.map { String(format: "%.3f", $0) } ?? "never") s after the reset")
            #expect(took != nil && took! < 1.0)
        }
    }
}
