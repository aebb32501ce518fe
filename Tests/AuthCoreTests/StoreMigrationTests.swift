import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// `authgate migrate --from-sqlite`: data made through the API on SQLite keeps working on
/// PostgreSQL after the copy: logins, refreshes of sessions made before the move, access tokens
/// issued before it, API keys, node keys, revocations, audit.
@Suite(.serialized) struct StoreMigrationTests {
    let user = GatePolicy()
    let keys = GatePolicy(kinds: .apiKey)
    let nodes = GatePolicy(kinds: .node)

    @Test func sqliteDataKeepsWorkingOnPostgres() throws {
        let source = try TempDir("authgate-migrate")
        let sqlitePath = source.path + "/source.sqlite"
        // Before: everything made on SQLite, through the API.
        let old = try APIHarness(env: ["AUTH_DB_PATH": sqlitePath, "AUTH_DB_URL": ""])
        #expect(!old.db.isPostgres)
        let t = try old.tenant("acme.test")
        try old.user("admin@acme.test", tenant: t, role: "admin")
        try old.user("Agent@Acme.test", tenant: t, role: "agent")
        try old.user("gone@acme.test", tenant: t, role: "agent")
        let (admin, _) = old.login("admin@acme.test")
        let (agentAccess, agentRefresh) = old.login("agent@acme.test")
        let (goneAccess, goneRefresh) = old.login("gone@acme.test")
        #expect(old.call("POST", "/api/v1/auth/logout", bearer: goneAccess).status == 200)
        // A session refreshed twice: its counter is 3 when it moves.
        var refresh = agentRefresh
        for _ in 0..<2 {
            let r = old.call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(refresh)"}"#)
            #expect(r.status == 200)
            refresh = try #require(r.json?.data?["refresh_token"]?.stringValue)
        }
        let pid = try #require(old.call("POST", "/api/v1/projects", json: #"{"name":"ingest"}"#, bearer: admin)
            .json?.data?["id"]?.stringValue)
        let apiKey = try #require(old.call("POST", "/api/v1/projects/\(pid)/api-keys", json: #"{"name":"sdk"}"#, bearer: admin)
            .json?.data?["key"]?.stringValue)
        let nodeKey = try #require(old.call("POST", "/api/v1/admin/nodes", json: #"{"name":"edge-1"}"#, bearer: admin)
            .json?.data?["key"]?.stringValue)
        #expect(old.call("GET", "/x", bearer: apiKey, verify: keys).status == 204)
        let auditBefore = try old.db.audit.list(limit: 1000).count

        // The copy, into an empty PostgreSQL database that a responder already watches (it
        // migrated the schema and loaded an empty verify state): it must rebuild after the copy.
        let url = try TestBackend.freshPostgresURL(prefix: "migrate")
        let new = try App(settings: try Settings(environment: [
            "AUTH_DB_URL": url, "AUTH_KEYS_FILE": old.dir + "/keys", "AUTH_SCRYPT": "ln=4,r=8,p=1",
            "AUTH_HASH_CONCURRENCY": "2",
        ]))
        let target = try Database(url: url)
        let counts = try StoreMigration.copy(fromSQLite: sqlitePath, to: target)
        let byTable = Dictionary(uniqueKeysWithValues: counts.map { ($0.table, $0.rows) })
        #expect(byTable["tenants"] == 1 && byTable["users"] == 3 && byTable["sessions"] == 3)
        #expect(byTable["projects"] == 1 && byTable["api_keys"] == 1 && byTable["nodes"] == 1)
        #expect(byTable["audit_events"] == auditBefore)
        // A second copy into the now non-empty database is refused and changes nothing.
        #expect(throws: StoreMigration.Failure.self) { _ = try StoreMigration.copy(fromSQLite: sqlitePath, to: target) }
        #expect(try target.tenants.list().count == 1)

        // After: the same key ring, the PostgreSQL store.
        let w = try new.makeWorker()
        #expect(w.db.isPostgres)
        func call(_ method: String, _ target: String, json: String? = nil, bearer: String? = nil,
                  verify: GatePolicy? = nil) -> (status: Int, json: JSON?) {
            var h: [String: String] = [:]
            if let bearer { h["authorization"] = "Bearer \(bearer)" }
            if json != nil { h["content-type"] = "application/json" }
            let r = w.handle(Request(method: method, path: target, query: "", headers: h, body: Array((json ?? "").utf8),
                                     remoteAddress: "127.0.0.1", verify: verify))
            return (r.status, JSONParser.parse(r.body))
        }
        // An access token issued on SQLite still passes the gate; the logged-out one does not,
        // once the watching state has rebuilt (its refresher, within milliseconds).
        try waitFor("the watching responder to apply the copied revocation", timeout: 5) {
            call("GET", "/x", bearer: goneAccess, verify: user).status == 401
        }
        #expect(new.verifyState.health.revokedSessions == 1)
        #expect(call("GET", "/x", bearer: agentAccess, verify: user).status == 204)
        #expect(call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(goneRefresh)"}"#).status == 401)
        // The refresh chain continues from its counter; the token before it is a reuse.
        let next = call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(refresh)"}"#)
        #expect(next.status == 200)
        #expect(next.json?.data?["refresh_token"]?.stringValue != nil)
        #expect(call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(agentRefresh)"}"#).status == 401)
        // Logins with the copied hashes, the email case-insensitively.
        let login = call("POST", "/api/v1/auth/login", json: #"{"email":"AGENT@acme.test","password":"correct horse battery"}"#)
        #expect(login.status == 200)
        #expect(call("POST", "/api/v1/auth/login", json: #"{"email":"agent@acme.test","password":"wrong password here"}"#).status == 401)
        // API and node keys.
        #expect(call("GET", "/x", bearer: apiKey, verify: keys).status == 204)
        #expect(call("GET", "/x", bearer: nodeKey, verify: nodes).status == 204)
        // New rows continue after the copied ones (the audit id sequence was moved past them).
        let audit = try w.db.audit.list(limit: 1000)
        #expect(audit.count > auditBefore)
        #expect(Set(audit.map(\.id)).count == audit.count)
    }

    @Test func refusesAMissingSourceAndASQLiteTarget() throws {
        let dir = try TempDir("authgate-migrate")
        let url = try TestBackend.freshPostgresURL(prefix: "migrate")
        #expect(throws: StoreMigration.Failure.self) {
            _ = try StoreMigration.copy(fromSQLite: dir.path + "/nothing.sqlite", to: try Database(url: url))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/nothing.sqlite"), "a missing source must not be created")
        #expect(throws: StoreMigration.Failure.self) {
            _ = try StoreMigration.copy(fromSQLite: dir.path + "/x.sqlite", to: try Database(path: dir.path + "/y.sqlite"))
        }
    }
}
