import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 19 item 10: `authgate doctor` on the `make run` demo (scripts/run.sh, state in $VAR)
/// recognises the demo's layout (its nginx config and snippets under $VAR/nginx, the default
/// issuer and audience) and passes, instead of failing on what only an installed server needs.
/// The demo runs exactly as `make run` starts it, with this build's binaries.
@Suite("authgate doctor on the make run demo")
struct DoctorDemoTests {
    @Test func doctorPassesOnTheDemoLayout() throws {
        let bin = try #require(Binaries.path("authgate-fcgi").map { ($0 as NSString).deletingLastPathComponent })
        let stateTemp = try TempDir("authgate-demo")
        let state = stateTemp.path
        let port = try Stack.freePort()
        let log = state + ".run.log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("AUTH_") && key != "AUTH_SCRYPT" { env.removeValue(forKey: key) }
        env["PORT"] = String(port)
        env["VAR"] = state
        env["AUTHGATE_BIN_DIR"] = bin
        let run = try Child.spawn("/bin/bash", [Stack.repositoryRoot + "/scripts/run.sh"], environment: env,
                                  stdout: log, stderr: log, processGroup: true)
        defer {
            run.signalGroup(SIGTERM)   // run.sh stops everything it started on SIGTERM
            _ = try? run.wait(timeout: 20, for: "make run to stop")
        }
        let text = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        try waitFor("make run to print its banner", timeout: 180, every: 100_000) {
            guard run.isRunning else { throw SupportError("run.sh exited: \(text().suffix(1500))") }
            return text().contains("Authgate is running")
        }
        #expect(text().contains("Check the layout:      AUTH_CONFIG=\(state)/authgate.conf"), "\(text().suffix(1500))")

        var doctorEnv = ProcessInfo.processInfo.environment
        for key in doctorEnv.keys where key.hasPrefix("AUTH_") { doctorEnv.removeValue(forKey: key) }
        doctorEnv["AUTH_CONFIG"] = state + "/authgate.conf"
        let doctor = try runCLI(["doctor"], environment: doctorEnv)
        print(doctor.stdout)
        #expect(doctor.status == 0, "\(doctor.stdout)\(doctor.stderr)")
        #expect(doctor.stdout.contains("ok    layout: the make run demo in \(state)"), "\(doctor.stdout)")
        #expect(doctor.stdout.contains("ok    nginx snippets in \(state)/nginx/snippets"), "\(doctor.stdout)")
        #expect(doctor.stdout.contains("ok    verify route answers on"), "\(doctor.stdout)")
        #expect(!doctor.stdout.contains("FAIL"), "\(doctor.stdout)")
        // Issue 21: the demo made its secrets file (0600) and serves /demo/mfa, which refuses a
        // level-1 token with mfa_required (the banner names the path).
        #expect(doctor.stdout.contains("ok    secrets file loads"), "\(doctor.stdout)")
        let mode = try FileManager.default.attributesOfItem(atPath: state + "/secrets")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(text().contains("/demo/mfa"))
        let creds = (try? String(contentsOfFile: state + "/demo-credentials", encoding: .utf8)) ?? ""
        // `password:alice@demo.local=<password>` (scripts/run.sh).
        let prefix = "password:alice@demo.local="
        let password = creds.split(whereSeparator: \.isNewline).first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        if let password {
            let client = HTTPSClient(port: port, caFile: state + "/tls/cert.pem")
            let login = try client.request("POST", "/api/v1/auth/login", headers: ["Content-Type": "application/json"],
                                           body: Array("{\"email\":\"alice@demo.local\",\"password\":\"\(password)\"}".utf8))
            let token = try #require(login.data["access_token"] as? String, "\(login.text)")
            let mfa = try client.get("/demo/mfa", headers: ["Authorization": "Bearer \(token)", "Accept": "application/json"])
            #expect(mfa.status == 401 && mfa.errorCode == "mfa_required", "\(mfa.status) \(mfa.text)")
        } else {
            Issue.record("no password for alice@demo.local in \(creds.prefix(400))")
        }
    }
}
