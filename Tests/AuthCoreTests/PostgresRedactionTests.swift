import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// Review finding 14: a PostgreSQL connection string is printed (authgate config, log lines,
/// error messages) as libpq reads it, through `PQconninfoParse`, never with its password, for
/// every spelling libpq accepts; a string libpq cannot read is not echoed at all.
@Suite struct PostgresRedactionTests {
    /// (input, secret pieces that must not appear, text that must appear)
    static let table: [(String, [String], [String])] = [
        ("host=/nonexistent dbname=x password = hunter2", ["hunter2"], ["password=***", "host=/nonexistent", "dbname=x"]),
        ("host=/nonexistent password='two words'", ["two", "words"], ["password=***"]),
        ("host=/x password='it\\'s' dbname=x", ["it", "\\'s"], ["password=***", "dbname=x"]),
        ("postgresql:///x?host=/nonexistent&pass%77ord=hunter2", ["hunter2"], ["password=***", "dbname=x"]),
        ("postgresql:///x?host=/nonexistent&password=hunter2&sslmode=verify-full", ["hunter2"], ["sslmode=verify-full"]),
        ("postgresql://user:pa/ss@host/db", ["pa/ss", "port=pa", "ss@host"], []),
        ("postgresql://u:hunter2@db.example/app", ["hunter2"], ["user=u", "password=***", "host=db.example", "dbname=app"]),
        ("postgres://u:secr%20et@/db?host=/x", ["secr"], ["password=***"]),
        ("host=/x sslpassword=hunter2 user=u", ["hunter2"], ["sslpassword=***", "user=u"]),
        ("host=/x password=hunter2 bogus", ["hunter2", "bogus"], []),
        ("postgresql://u@h/db?sslmode=verify-full", [], ["user=u", "host=h", "dbname=db", "sslmode=verify-full"]),
        ("host='/a dir' dbname=x", [], ["host='/a dir'"]),
    ]

    @Test func everySpellingIsRedacted() {
        for (input, secrets, shown) in Self.table {
            let out = PostgresURL.redacted(input)
            for secret in secrets { #expect(!out.contains(secret), "\(input) -> \(out)") }
            for text in shown { #expect(out.contains(text), "\(input) -> \(out) lacks \(text)") }
        }
    }

    @Test func passwordsAreDetected() {
        for (input, secrets, _) in Self.table where !secrets.isEmpty {
            #expect(PostgresURL.hasPassword(input), "\(input)")
        }
        #expect(!PostgresURL.hasPassword("postgresql://u@h/db?sslmode=verify-full"))
        #expect(!PostgresURL.hasPassword("host=/x dbname=x"))
    }

    @Test func libpqMessagesAreScrubbed() {
        let url = "host=/x password = hunter2"
        #expect(PostgresURL.scrubbed("FATAL: password hunter2 rejected", url: url) == "FATAL: password *** rejected")
        let malformed = PostgresURL.scrubbed(#"invalid integer value "pa" for connection option "port""#, url: "postgresql://user:pa/ss@host/db")
        #expect(!malformed.contains("pa\""), "\(malformed)")
    }

    /// The config file holding the password: a warning while its group or others can read it.
    @Test func groupReadableConfigWithAPasswordIsWarnedAbout() throws {
        let dir = try TempDir("authgate-conf")
        let path = dir.path + "/authgate.conf"
        func settings(_ text: String, mode: mode_t) throws -> Settings {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            chmod(path, mode)
            return try EffectiveConfig(environment: ["AUTH_CONFIG": path]).settings()
        }
        let withPassword = "AUTH_DB_URL=postgresql://authgate:hunter2@/authgate?host=/nonexistent\n"
        for mode: mode_t in [0o644, 0o640, 0o604] {
            let warnings = try settings(withPassword, mode: mode).startupWarnings
            #expect(warnings.count == 1 && warnings[0].contains(path) && warnings[0].contains("~/.pgpass"), "\(String(mode, radix: 8)): \(warnings)")
            #expect(!warnings.joined().contains("hunter2"))
        }
        #expect(try settings(withPassword, mode: 0o600).startupWarnings.isEmpty)
        #expect(try settings("AUTH_DB_URL=postgresql://authgate@/authgate?host=/nonexistent\n", mode: 0o644).startupWarnings.isEmpty)
        #expect(try settings("AUTH_LOCKOUT_THRESHOLD=5\n", mode: 0o644).startupWarnings.isEmpty)
    }

    @Test func helpRecommendsVerifyFull() {
        let meaning = ConfigFile.keys.first { $0.name == "AUTH_DB_URL" }?.meaning ?? ""
        #expect(meaning.contains("sslmode=verify-full") && !meaning.contains("sslmode=require"))
    }
}
