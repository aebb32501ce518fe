import Foundation
import TestSupport
import Testing

/// Review finding 6: every underscore spelling of an identity header is refused with 403 on every
/// path, through Apache as through lighttpd. The spellings are lighttpd's own list
/// (lighttpd/authgate-underscores.conf, 65 names), looped against the real servers: a gated CGI
/// app with a valid token and an ungated static file.
@Suite("Gate: underscore identity headers behind Apache and lighttpd")
struct WebServerUnderscoreTests {
    static let kinds = WebServerKind.allCases.filter(WebServerFixture.available)

    /// The header names lighttpd/authgate-underscores.conf refuses.
    static func lighttpdList() throws -> [String] {
        let text = try String(contentsOfFile: Stack.repositoryRoot + "/lighttpd/authgate-underscores.conf", encoding: .utf8)
        return text.split(whereSeparator: \.isNewline).compactMap { line in
            guard line.hasPrefix("$REQUEST_HEADER[\"") else { return nil }
            return line.split(separator: "\"").dropFirst().first.map(String.init)
        }
    }

    @Test(arguments: kinds)
    func everyUnderscoreSpellingIsRefused(_ kind: WebServerKind) throws {
        let names = try Self.lighttpdList()
        try #require(names.count == 65, "lighttpd's list changed: \(names.count) names")
        try WebServerFixture.with(kind) { f in
            _ = try GateWorld(f.stack)
            let alice = try f.tokens("alice@demo.local").access
            #expect(try f.get("/u/echo.sh", token: alice).status == 200)
            var passed: [String] = []
            for name in names {
                for (path, token) in [("/u/echo.sh", Optional(alice)), ("/plain.txt", nil)] {
                    let r = try f.get(path, token: token, headers: [name: "platform_admin"])
                    if r.status != 403 { passed.append("\(name) \(path) -> \(r.status)") }
                }
                // Header names are case-insensitive: the lower-case spelling too.
                let lower = try f.get("/u/echo.sh", token: alice, headers: [name.lowercased(): "x"])
                if lower.status != 403 { passed.append("\(name.lowercased()) -> \(lower.status)") }
            }
            #expect(passed.isEmpty, "\(kind) let these through: \(passed)")
            // The hyphenated names themselves are not refused (the gate overwrites or removes them).
            for name in ["X-Auth-User-Id", "X-Auth-Home-Tenant-Id", "X-Original-URI", "X-Request-Id"] {
                #expect(try f.get("/u/echo.sh", token: alice, headers: [name: "x"]).status == 200, "\(name)")
            }
        }
    }
}
