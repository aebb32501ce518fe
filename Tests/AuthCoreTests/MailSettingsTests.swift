import Foundation
import Testing
@testable import AuthCore

/// Issue 23: the mail settings refuse what would send mail unsafely, at start, with the reason.
@Suite struct MailSettingsTests {
    func settings(_ env: [String: String]) throws -> MailSettings { try MailSettings(environment: env) }

    func refusal(_ env: [String: String]) -> String {
        do { _ = try settings(env); return "" } catch { return "\(error)" }
    }

    @Test func smtpURLRules() throws {
        let starttls = try #require(try settings(["AUTH_SMTP_URL": "smtp://mailer@mail.example.com"]).transport)
        #expect(starttls == .smtp(try SMTPURL("smtp://mailer@mail.example.com:587")))
        guard case let .smtp(url) = starttls else { Issue.record("not smtp"); return }
        #expect(!url.plain && !url.implicitTLS && url.port == 587 && url.user == "mailer" && url.curlURL == "smtp://mail.example.com:587")
        let smtps = try SMTPURL("smtps://mail.example.com")
        #expect(smtps.implicitTLS && smtps.port == 465)
        let local = try SMTPURL("smtp://127.0.0.1:25?tls=none")
        #expect(local.plain && local.redacted == "smtp://127.0.0.1:25?tls=none")
        #expect(try SMTPURL("smtp://[::1]:25?tls=none").plain)
        #expect(try SMTPURL("smtp://localhost:25?tls=none").plain)
        #expect(refusal(["AUTH_SMTP_URL": "smtp://mail.example.com:25?tls=none"]).contains("only to a loopback address"))
        #expect(refusal(["AUTH_SMTP_URL": "smtp://127.0.0.2.example.com:25?tls=none"]).contains("only to a loopback address"))
        #expect(refusal(["AUTH_SMTP_URL": "smtp://u:secret@mail.example.com"]).contains("AUTH_SMTP_PASSWORD_FILE"))
        #expect(!refusal(["AUTH_SMTP_URL": "smtp://u:secret@mail.example.com"]).contains("secret"), "the refusal never repeats a password")
        #expect(refusal(["AUTH_SMTP_URL": "smtps://mail.example.com?tls=none"]).contains("?tls=none"))
        #expect(refusal(["AUTH_SMTP_URL": "http://mail.example.com"]).contains("AUTH_SMTP_URL must look like"))
        #expect(refusal(["AUTH_SMTP_URL": "smtp://a.example", "AUTH_MAIL_SENDMAIL": "/usr/sbin/sendmail"]).contains("choose one"))
        #expect(refusal(["AUTH_MAIL_SENDMAIL": "sendmail"]).contains("absolute path"))
    }

    @Test func fromPublicURLAndRetries() throws {
        #expect(refusal(["AUTH_MAIL_FROM": "Authgate <a@b.example>\r\nBcc: x@y.example"]) != "")
        #expect(refusal(["AUTH_MAIL_FROM": "not an address"]) != "")
        #expect(try settings(["AUTH_MAIL_FROM": "Authgate <auth@b.example>"]).from == "Authgate <auth@b.example>")
        #expect(refusal(["AUTH_PUBLIC_URL": "https://auth.example.com/path"]).contains("AUTH_PUBLIC_URL"))
        #expect(try settings(["AUTH_PUBLIC_URL": "https://auth.example.com/"]).publicURL == "https://auth.example.com")
        let s = try settings(["AUTH_MAIL_RETRY_SECONDS": "0.5"])
        #expect(s.backoffMillis(afterAttempts: 1) == 500 && s.backoffMillis(afterAttempts: 3) == 2000)
        #expect(try settings([:]).backoffMillis(afterAttempts: 30) == 3_600_000, "at most an hour")
        #expect(refusal(["AUTH_MAIL_MAX_ATTEMPTS": "0"]).contains("AUTH_MAIL_MAX_ATTEMPTS"))
        #expect(try settings([:]).transport == nil)
    }

    @Test func tokenCodes() {
        let t = AccountTokenCode.generate()
        #expect(t.count == 32 && AccountTokenCode.normalized(t) == t)
        let grouped = AccountTokenCode.grouped(t)
        #expect(grouped.count == 39 && AccountTokenCode.normalized(grouped.lowercased()) == t)
        #expect(AccountTokenCode.normalized(String(t.dropLast())) == nil)
        #expect(AccountTokenCode.normalized(t + "A") == nil)
        #expect(AccountTokenCode.normalized(String(t.dropLast()) + "1") == nil, "1 is not in the alphabet")
        #expect(Set((0..<200).map { _ in AccountTokenCode.generate() }).count == 200)
    }

    @Test func messages() {
        let m = MailMessage.render(from: "Authgate <auth@b.example>", to: "ann@c.example", subject: "Hi", body: "line 1\nline 2")
        #expect(m.contains("\r\nTo: ann@c.example\r\n") && m.hasSuffix("\r\n\r\nline 1\r\nline 2\r\n"))
        #expect(m.contains("Message-ID: <") && m.contains("@b.example>"))
        for bad in ["a b@c.d", "a@b@c", "<a@b.c>", "a@b.c,d@e.f", "a\r\n@b.c", "@b.c", "a@"] {
            #expect(!MailMessage.isPlainAddress(bad), "\(bad)")
        }
        #expect(MailMessage.isPlainAddress("ann.o'neil+x@c.example"))
    }
}
