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
    }
}
