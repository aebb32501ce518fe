import Foundation
import TestSupport
import Testing

/// Review finding 14 through the real binaries: the responder's start-up warning and its
/// connection error, `authgate --db` with a password, `authgate config` and `authgate doctor`.
/// The server named is unreachable on purpose (`host=/nonexistent`): only what is printed counts.
@Suite("PostgreSQL secrets in what the binaries print")
struct PostgresSecretsTests {
    static func environment(_ dir: TempDir) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for key in ["GATEWAY_INTERFACE", "AUTH_DB_URL", "AUTH_LISTEN_TCP", "LISTEN_FDS", "LISTEN_PID"] { env.removeValue(forKey: key) }
        env["AUTH_SOCKET"] = dir.path + "/authgate.sock"
        env["AUTH_DB_PATH"] = dir.path + "/authgate.db"
        env["AUTH_KEYS_FILE"] = dir.path + "/keys"
        env["AUTH_CONFIG"] = dir.path + "/authgate.conf"
        env["AUTH_SCRYPT"] = "ln=4,r=8,p=1"
        return env
    }

    @Test func passwordsNeverPrintedAndExposureWarned() throws {
        let dir = try TempDir("authgate-pgsecret")
        let env = Self.environment(dir)
        let conf = dir.path + "/authgate.conf"
        try Data("AUTH_DB_URL=host=/nonexistent dbname=authgate password = hunter2\r\n".utf8).write(to: URL(fileURLWithPath: conf))
        chmod(conf, 0o644)
        try Data(Stack.randomKeyRing().utf8).write(to: URL(fileURLWithPath: dir.path + "/keys"))
        chmod(dir.path + "/keys", 0o600)

        // The responder: warns about the file, cannot connect, and says so without the password.
        let responder = try Child.run(try Binaries.require("authgate-fcgi"), [], environment: env, timeout: 30)
        let said = responder.stdout + responder.stderr
        #expect(responder.status != 0, "\(said)")
        #expect(said.contains("\(conf) is readable by its group or by others (mode 0644)"), "\(said)")
        #expect(said.contains("cannot connect to PostgreSQL"), "\(said)")
        #expect(!said.contains("hunter2"), "\(said)")

        // authgate config shows the key redacted.
        let config = try runCLI(["config"], environment: env)
        #expect(config.stdout.contains("password=***") && !(config.stdout + config.stderr).contains("hunter2"), "\(config.stdout)")

        // authgate doctor names the exposure (and fails on it), without the password.
        let doctor = try runCLI(["doctor", "--no-nginx"], environment: env)
        #expect(doctor.stdout.contains("FAIL  config file \(conf) holding a PostgreSQL password"), "\(doctor.stdout)")
        #expect(!(doctor.stdout + doctor.stderr).contains("hunter2"))
        chmod(conf, 0o600)
        let private_ = try runCLI(["doctor", "--no-nginx"], environment: env)
        #expect(private_.stdout.contains("ok    config file \(conf) holding a PostgreSQL password"), "\(private_.stdout)")

        // --db with a password on the command line: warned (it is in /proc/PID/cmdline).
        var plain = env
        plain["AUTH_CONFIG"] = "/dev/null"
        let db = try runCLI(["--db", "postgresql://authgate:hunter2@/authgate?host=/nonexistent", "config"], environment: plain)
        #expect(db.stderr.contains("--db carries a password") && db.stderr.contains("/cmdline"), "\(db.stderr)")
        #expect(!db.stdout.contains("hunter2"), "\(db.stdout)")
        let noPassword = try runCLI(["--db", "postgresql://authgate@/authgate?host=/nonexistent", "config"], environment: plain)
        #expect(!noPassword.stderr.contains("--db carries a password"), "\(noPassword.stderr)")
    }
}
