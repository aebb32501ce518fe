import Foundation
import Testing
import TestSupport

/// Issue 13: a real headless Chromium (Debian's chromium + chromium-driver, driven over the
/// W3C WebDriver protocol by Tests/browser/browser_flow.py, stdlib only) through the demo
/// dashboard: login redirect, wrong password, login, fetch + WebSocket by cookie, the access
/// cookie expiring and a reload renewing it, logout. Screenshots of each step land in the
/// test's temp dir (kept, and printed, when the test fails or AUTHGATE_KEEP_STACK is set).
@Suite("Browser: a real Chromium through the demo dashboard")
struct BrowserFlowTests {
    static let ttl = 8

    @Test func loginRenewalWebSocketAndLogout() throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver", "/usr/bin/python3"] {
            try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: run scripts/deps.sh")
        }
        var options = Stack.Options()
        // A short access TTL and no leeway, so the cookie really expires within the test.
        options.environment = ["AUTH_JWT_TTL_SECONDS": String(Self.ttl), "AUTH_CLOCK_LEEWAY_SECONDS": "0"]
        try Stack.with(options) { stack in
            _ = try stack.makeTenant("demo.local")
            _ = try stack.makeUser("alice@demo.local", tenant: "demo.local")
            let shots = try TempDir("authgate-browser-shots")
            let run = try Child.run("/usr/bin/python3", [
                Stack.repositoryRoot + "/Tests/browser/browser_flow.py",
                "--base", "https://127.0.0.1:\(stack.port)", "--email", "alice@demo.local",
                "--password", GateFixture.password, "--shots", shots.path, "--ttl", String(Self.ttl),
            ], timeout: 180)
            let report = run.stdout.split(separator: "\n").last.flatMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            } ?? [:]
            let passed = run.status == 0 && report["ok"] as? Bool == true
            if !passed {
                setenv("AUTHGATE_KEEP_STACK", "1", 1)   // keep the screenshots for a look
                Issue.record("browser flow failed (screenshots in \(shots.path)): \(report["error"] ?? "") \(run.stderr.suffix(3000))")
                return
            }
            print("browser flow screenshots: \(shots.path)")
            #expect((report["same_site"] as? [String]) == ["Lax", "Strict"], "\(report)")

            // The cookies of before the renewal and of before the logout no longer pass the gate.
            for (access, refresh) in [("access_before", "refresh_before"), ("access_after", "refresh_after")] {
                let a = try #require(report[access] as? String), r = try #require(report[refresh] as? String)
                let old = try stack.client.get("/demo/dashboard/", headers: [
                    "Cookie": "__Host-authgate=\(a); __Host-authgate-refresh=\(r)", "Accept": "application/json"])
                #expect(old.status == 401, "\(access): \(old.status) \(old.text)")
            }
        }
    }
}
