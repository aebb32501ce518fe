import Foundation
import Testing
import TestSupport

/// Issue 23 in a real headless Chromium (Tests/browser/mail_reset_flow.py over WebDriver): forgot
/// -> the mail read from the test SMTP server (aiosmtpd, STARTTLS) -> the link opened -> a new
/// password -> signed in on the demo dashboard. Screenshots in the test's temp dir.
@Suite("Browser: password reset by mail in a real Chromium")
struct BrowserMailTests {
    @Test func forgotMailLinkNewPasswordSignedIn() throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver", "/usr/bin/python3"] {
            try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: run scripts/deps.sh")
        }
        let smtp = try SMTPTestServer()
        try smtp.start()
        defer { smtp.stop() }
        try Stack.with(MailFlowTests.options(smtp.environment)) { stack in
            _ = try stack.makeTenant("demo.local")
            _ = try stack.makeUser("alice@demo.local", tenant: "demo.local")
            let shots = try TempDir("authgate-browser-mail")
            let run = try Child.run("/usr/bin/python3", [
                Stack.repositoryRoot + "/Tests/browser/mail_reset_flow.py",
                "--base", "https://127.0.0.1:\(stack.port)", "--email", "alice@demo.local",
                "--new-password", MailFlowTests.newPassword, "--maildir", smtp.mailDir, "--shots", shots.path,
            ], timeout: 180)
            let report = run.stdout.split(separator: "\n").last.flatMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            } ?? [:]
            guard run.status == 0, report["ok"] as? Bool == true else {
                setenv("AUTHGATE_KEEP_STACK", "1", 1)
                Issue.record("browser mail flow failed (screenshots in \(shots.path)): \(report["error"] ?? "") \(run.stderr.suffix(3000))")
                return
            }
            print("browser mail flow screenshots: \(shots.path)")
            #expect(try stack.login("alice@demo.local").status == 401, "the old password is gone")
            #expect(!stack.allLogs().contains("#token="), "no link in any log")
        }
    }
}
