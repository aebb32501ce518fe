import AuthCore
import Foundation
import TestSupport
import Testing

/// Issue 23 through nginx with real mail: the password reset over SMTP (aiosmtpd, STARTTLS with a
/// test certificate), invites, an email change and a reset over the sendmail transport; each flow is completed from the
/// message the server actually received (link, code, headers).
@Suite("Mail flows through nginx")
struct MailFlowTests {
    static let newPassword = "a brand new passphrase 42"

    static func options(_ mail: [String: String]) -> Stack.Options {
        var o = Stack.Options()
        o.companion = false
        o.environment = mail.merging(["AUTH_MAIL_FROM": "Authgate <auth@mail.test>", "AUTH_MAIL_RETRY_SECONDS": "0.2"]) { a, _ in a }
        return o
    }

    @Test func resetOverSMTPWithSTARTTLS() throws {
        let smtp = try SMTPTestServer()
        try smtp.start()
        defer { smtp.stop() }
        try Stack.with(Self.options(smtp.environment)) { stack in
            try stack.makeTenant("acme.test")
            try stack.makeUser("alice@acme.test", tenant: "acme.test")
            let session = try stack.tokens("alice@acme.test")
            for _ in 0..<4 { #expect(try stack.get("/demo/echo", token: session.access).status == 200) }

            let asked = try stack.post("/api/v1/auth/password/forgot", json: ["email": "Alice@acme.test"])
            let nobody = try stack.post("/api/v1/auth/password/forgot", json: ["email": "nobody@acme.test"])
            #expect(asked.status == 202 && nobody.status == 202)
            #expect(asked.text == nobody.text, "\(asked.text) vs \(nobody.text)")

            let mail = try MailCapture.wait(smtp.messages, to: "alice@acme.test", subject: "Reset your password")
            #expect(MailCapture.header(mail, "X-TLS") == "yes", "the message went over STARTTLS")
            #expect(MailCapture.header(mail, "To") == "alice@acme.test")
            #expect(MailCapture.header(mail, "From") == "Authgate <auth@mail.test>")
            #expect(MailCapture.header(mail, "Subject") == "Reset your password")
            #expect(MailCapture.header(mail, "X-Envelope-To") == "alice@acme.test")
            let token = try #require(MailCapture.linkToken(mail), "a link with the token in its fragment: \(mail)")
            #expect(mail.contains(stack.baseURL + "/auth/reset#token=" + token))
            let code = try #require(MailCapture.code(mail))
            #expect(code.replacingOccurrences(of: "-", with: "") == token, "the code is the same token")
            #expect(smtp.messages().allSatisfy { MailCapture.header($0, "To") == "alice@acme.test" }, "no mail for an unknown address")

            // Delivered: the outbox keeps the metadata only.
            try waitFor("the outbox row to be marked sent") { try stack.outboxRow(to: "alice@acme.test")?.status == "sent" }
            let row = try #require(try stack.outboxRow(to: "alice@acme.test"))
            #expect(row.message == nil && row.sentAt != nil && row.attempts == 1)

            // Opening the page (what a link scanner does) consumes nothing; it says no-referrer.
            let page = try stack.get("/auth/reset", token: nil)
            #expect(page.status == 200 && page.header("Referrer-Policy") == "no-referrer")
            #expect(page.text.contains("name=\"token\""))

            // The policy applies, and a refused attempt leaves the token alive.
            let weak = try stack.post("/api/v1/auth/password/reset", json: ["token": token, "new_password": "short"])
            #expect(weak.status == 400 && weak.errorCode == "weak_password", "\(weak.text)")

            // The code as a person types it (lower case, dashes) works.
            let reset = try stack.post("/api/v1/auth/password/reset", json: ["token": code.lowercased(), "new_password": Self.newPassword])
            #expect(reset.status == 200, "\(reset.text)")
            let took = try stack.secondsUntil("/demo/echo", token: session.access, answers: 401)
            print("mail: gate denied the old session \(took.map { String(format: "%.3f", $0) } ?? "never") s after the reset")
            #expect(took != nil && took! < 1.0)

            let again = try stack.post("/api/v1/auth/password/reset", json: ["token": token, "new_password": "yet another passphrase 7"])
            #expect(again.status == 400 && again.errorCode == "invalid_link", "single use: \(again.text)")
            #expect(try stack.login("alice@acme.test").status == 401, "the old password is gone")
            #expect(try stack.login("alice@acme.test", password: Self.newPassword).status == 200)
            let me = try stack.get("/api/v1/auth/me", token: try stack.tokens("alice@acme.test", password: Self.newPassword).access)
            #expect(me.status == 200)

            let audit = try stack.cliOK(["audit", "--json"]).joined()
            #expect(audit.contains("password_reset_requested") && audit.contains("\"password_reset\""))
            let logs = stack.allLogs() + (try String(contentsOfFile: smtp.dir + "/smtp.log", encoding: .utf8))
            #expect(!logs.contains(token) && !logs.contains(code), "a token in a log")
        }
    }

    @Test func invitesAndResetOverSendmail() throws {
        let sendmail = try SendmailCapture()
        try Stack.with(Self.options(sendmail.environment)) { stack in
            try stack.makeTenant("acme.test")
            let cli = stack.environment.merging(["AUTH_PUBLIC_URL": stack.baseURL]) { _, b in b }
            let invited = try runCLI(["user", "invite", "--tenant", "acme.test", "--email", "bob@acme.test", "--role", "agent"], environment: cli)
            #expect(invited.status == 0, "\(invited.stderr)")
            let mail = try MailCapture.wait(sendmail.messages, to: "bob@acme.test", subject: "Your invitation")
            #expect(sendmail.arguments(1).trimmingCharacters(in: .whitespacesAndNewlines) == "-t -i")
            #expect(!mail.contains("\r\n"), "sendmail gets the local newline convention")
            #expect(MailCapture.header(mail, "To") == "bob@acme.test" && MailCapture.header(mail, "Subject") == "Your invitation")
            let token = try #require(MailCapture.linkToken(mail, page: "invite"), "\(mail)")
            #expect(mail.contains(stack.baseURL + "/auth/invite#token=" + token))
            #expect(try stack.login("bob@acme.test", password: "").status == 400)
            #expect(try stack.login("bob@acme.test", password: "!invited").status == 401, "an invited account has no password")

            let page = try stack.get("/auth/invite", token: nil)
            #expect(page.status == 200 && page.header("Referrer-Policy") == "no-referrer")
            let accepted = try stack.post("/api/v1/auth/invite/accept", json: ["token": token, "password": Self.newPassword])
            #expect(accepted.status == 200, "\(accepted.text)")
            let access = try #require(accepted.data[stack.accessField] as? String, "the login answer")
            #expect(try stack.get("/demo/echo", token: access).status == 200)
            let twice = try stack.post("/api/v1/auth/invite/accept", json: ["token": token, "password": Self.newPassword])
            #expect(twice.status == 400 && twice.errorCode == "invalid_link")

            // --print-link: no mail; the link is accepted with the page's plain form (no JavaScript).
            let printed = try runCLI(["user", "invite", "--tenant", "acme.test", "--email", "carol@acme.test", "--role", "agent", "--print-link"],
                                     environment: cli)
            #expect(printed.status == 0, "\(printed.stderr)")
            let link = printed.lines.first ?? ""
            let carolToken = String(link.split(separator: "=").last ?? "")
            #expect(link.hasPrefix(stack.baseURL + "/auth/invite#token=") && carolToken.count == 32)
            let form = "token=\(carolToken)&password=" + Self.newPassword.replacingOccurrences(of: " ", with: "+")
            let posted = try stack.client.request("POST", "/api/v1/auth/invite/accept",
                                                  headers: ["Content-Type": "application/x-www-form-urlencoded"], body: Array(form.utf8))
            #expect(posted.status == 303 && posted.header("Location") == "/auth/login?invited=1", "\(posted.status) \(posted.text)")
            #expect(try stack.login("carol@acme.test", password: Self.newPassword).status == 200)

            // A reset over sendmail, completed with the code in the page's plain form.
            #expect(try stack.post("/api/v1/auth/password/forgot", json: ["email": "bob@acme.test"]).status == 202)
            let resetMail = try MailCapture.wait(sendmail.messages, to: "bob@acme.test", subject: "Reset your password")
            let code = try #require(MailCapture.code(resetMail))
            let resetForm = "token=\(code)&new_password=another+good+passphrase"
            let done = try stack.client.request("POST", "/api/v1/auth/password/reset",
                                                headers: ["Content-Type": "application/x-www-form-urlencoded"], body: Array(resetForm.utf8))
            #expect(done.status == 303 && done.header("Location") == "/auth/login?reset=1", "\(done.status) \(done.text)")
            #expect(try stack.login("bob@acme.test", password: "another good passphrase").status == 200)
            let took = try stack.secondsUntil("/demo/echo", token: access, answers: 401)
            #expect(took != nil && took! < 1.0, "the reset revoked the invite's session")

            // An email change: a link to the new address, a notice to the old one; the address
            // changes only when the link's token comes back.
            let bob = try stack.tokens("bob@acme.test", password: "another good passphrase")
            let wrong = try stack.post("/api/v1/auth/me/email", json: ["new_email": "robert@acme.test", "password": "not it at all"], token: bob.access)
            #expect(wrong.status == 401 && wrong.errorCode == "invalid_credentials")
            let change = try stack.post("/api/v1/auth/me/email", json: ["new_email": "Robert@acme.test", "password": "another good passphrase"],
                                        token: bob.access)
            #expect(change.status == 202, "\(change.text)")
            let verifyMail = try MailCapture.wait(sendmail.messages, to: "robert@acme.test", subject: "Confirm your new email address")
            let notice = try MailCapture.wait(sendmail.messages, to: "bob@acme.test", subject: "Your email address is being changed")
            #expect(notice.contains("robert@acme.test") && !notice.contains("#token="), "the notice holds no link")
            #expect(try stack.login("bob@acme.test", password: "another good passphrase").status == 200, "not changed yet")
            let emailToken = try #require(MailCapture.linkToken(verifyMail, page: "verify-email"))
            let verified = try stack.post("/api/v1/auth/email/verify", json: ["token": emailToken])
            #expect(verified.status == 200, "\(verified.text)")
            #expect(try stack.post("/api/v1/auth/email/verify", json: ["token": emailToken]).errorCode == "invalid_link")
            #expect(try stack.login("robert@acme.test", password: "another good passphrase").status == 200)
            #expect(try stack.login("bob@acme.test", password: "another good passphrase").status == 401)

            let logs = stack.allLogs()
            for secret in [token, carolToken, code, emailToken] { #expect(!logs.contains(secret), "a token in a log") }
        }
    }
}
