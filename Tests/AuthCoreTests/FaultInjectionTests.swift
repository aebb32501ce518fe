import AuthCrypto
import FaultVFS
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// Each write is all-or-nothing under every injected storage failure (Tests/FaultVFS: the Nth
/// write, sync or truncate of the database files fails with SQLITE_FULL, staying failed like a
/// full disk, or with one SQLITE_IOERR_WRITE). For every failure point of login, refresh,
/// logout, password change and API key creation: the answer is 503 `storage_unavailable` with
/// Retry-After (never 500), the database is exactly as before (a 503 never half-did or did the
/// write), the same request then succeeds, and the file passes integrity_check. Short form in
/// `make test` (first, middle and last point); `make faults` (AUTHGATE_FAULTS=all) runs every point.
/// Serialized: one fault plan per process (only this suite's harness uses the VFS).
@Suite(.serialized, .enabled(if: TestBackend.isSQLite, "a SQLite VFS"))
struct FaultInjectionTests {
    static let password = "correct horse battery"

    final class Box: @unchecked Sendable { var current = FaultInjectionTests.password; var next = "a brand new password 7" }

    /// Runs `flow` under every fault (Fault.points) twice: as the responder runs (WAL,
    /// synchronous=NORMAL: a commit's I/O is its WAL frames), and, in the long form, with a
    /// checkpoint after every commit (PRAGMA wal_autocheckpoint=1: the database file's writes,
    /// its fsyncs and the WAL's reset are failed too). A failure before the commit must answer
    /// 503 with nothing written; one in the checkpoint after it (SQLite retries a checkpoint
    /// later) must answer the success with all of it written. Never anything else.
    func run(_ flow: FaultFlow, _ f: FaultHarness, userID: String) throws {
        let long = ProcessInfo.processInfo.environment["AUTHGATE_FAULTS"] == "all"
        for checkpoints in long ? [false, true] : [false] {
            try f.h.db.connection.execScript("PRAGMA wal_autocheckpoint = \(checkpoints ? 1 : 1000);")
            try run(flow, f, userID: userID, label: checkpoints ? "\(flow.name), checkpoint after every commit" : flow.name)
        }
        try f.h.db.connection.execScript("PRAGMA wal_autocheckpoint = 1000;")
    }

    func run(_ flow: FaultFlow, _ f: FaultHarness, userID: String, label: String) throws {
        var ctx = try flow.prepare(f)
        var calibration: (status: Int, json: JSON?, response: Response)?
        let calls = Fault.count { calibration = flow.request(f, ctx) }
        #expect(calibration?.status == flow.expectedStatus, "\(label) without a fault: \(calibration?.status ?? 0)")
        #expect(calls > 0, "\(label): no I/O went through the fault VFS")
        var refused = 0, afterCommit = 0, notReached = 0
        for mode in [Fault.Mode.diskFull, .ioError] {
            for nth in Fault.points(calls: calls) {
                let fault = Fault(mode: mode, nth: nth)
                ctx = try flow.prepare(f)
                let before = try f.dump(volatileCounters: flow.countsAttempt)
                let exactBefore = try f.dump()
                let countBefore = try f.counters(userID)
                let (r, _, failed) = fault.armed { flow.request(f, ctx) }
                let body = String(decoding: r.response.body, as: UTF8.self)
                if r.status == flow.expectedStatus {
                    // Not reached, or failed after the commit (a checkpoint): all of it is there.
                    if failed == 0 { notReached += 1 } else { afterCommit += 1 }
                    #expect(try flow.isAfter(f, ctx, exactBefore), "\(label), \(fault): \(r.status) but not fully written")
                    continue
                }
                refused += 1
                #expect(failed > 0 && r.status == 503 && r.json?.errorCode == "storage_unavailable",
                        "\(label), \(fault): \(r.status) \(body)")
                #expect(r.response.header("Retry-After") != nil, "\(label), \(fault): no Retry-After")
                // Fully before: nothing of the write is there (a 503 never did it, or half of it).
                #expect(try f.dump(volatileCounters: flow.countsAttempt) == before, "\(label), \(fault): the database changed")
                if flow.countsAttempt {
                    let now = try f.counters(userID)
                    #expect(now == countBefore || now == countBefore + 1, "\(label), \(fault): failed_attempts \(countBefore) -> \(now)")
                } else {
                    #expect(try f.dump() == exactBefore, "\(label), \(fault): the database changed")
                }
                // The storage is back: the very same request succeeds, and all of it is written.
                let retry = flow.request(f, ctx)
                #expect(retry.status == flow.expectedStatus,
                        "\(label), after \(fault): \(retry.status) \(String(decoding: retry.response.body, as: UTF8.self))")
                #expect(try flow.isAfter(f, ctx, exactBefore), "\(label), after \(fault): not fully written")
            }
        }
        #expect(try f.integrity() == "ok")
        print("fault injection: \(label): \(calls) I/O calls per request; \(refused) failures answered 503 storage_unavailable "
              + "with nothing written (the retry succeeded); \(afterCommit) after the commit answered success with all written; "
              + "\(notReached) past the last call")
    }

    static func sessionCount(_ f: FaultHarness, _ userID: String) throws -> Int64 {
        try f.h.openDatabase().connection.queryFirst("SELECT count(*) FROM sessions WHERE user_id = ?", [.text(userID)]) { $0.int(0) } ?? -1
    }

    static func events(_ f: FaultHarness, _ event: String) throws -> Int64 {
        try f.h.openDatabase().connection.queryFirst("SELECT count(*) FROM audit_events WHERE event = ?", [.text(event)]) { $0.int(0) } ?? -1
    }

    static func count(_ before: [String: [String]], _ table: String) -> Int { before[table]?.count ?? 0 }

    static func beforeEvents(_ before: [String: [String]], _ event: String) -> Int {
        (before["audit_events"] ?? []).filter { $0.contains("'\(event)'") }.count
    }

    @Test func loginSuccessIsAllOrNothing() throws {
        let f = try FaultHarness()
        let t = try f.h.tenant("acme.test")
        let user = try f.h.user("login@acme.test", tenant: t)
        let flow = FaultFlow(name: "login", countsAttempt: true, prepare: { _ in [:] }, request: { f, _ in
            f.h.call("POST", "/api/v1/auth/login", json: #"{"email":"login@acme.test","password":"correct horse battery"}"#)
        }, isAfter: { f, _, before in
            try Self.sessionCount(f, user.id) == Int64(Self.count(before, "sessions") + 1)
                && Self.events(f, "login_succeeded") == Int64(Self.beforeEvents(before, "login_succeeded") + 1)
                && f.counters(user.id) == 0
        }, expectedStatus: 200)
        try run(flow, f, userID: user.id)
    }

    @Test func refreshRotationIsAllOrNothing() throws {
        let f = try FaultHarness()
        let t = try f.h.tenant("acme.test")
        let user = try f.h.user("refresh@acme.test", tenant: t)
        let flow = FaultFlow(name: "refresh", countsAttempt: false, prepare: { f in
            ["refresh": f.h.login("refresh@acme.test").1]
        }, request: { f, ctx in
            f.h.call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(ctx["refresh"]!)"}"#)
        }, isAfter: { f, ctx, _ in
            guard let parsed = RefreshToken.parse(ctx["refresh"]!, ring: f.h.app.keys.current) else { return false }
            let counter = try f.h.openDatabase().connection.queryFirst(
                "SELECT counter FROM sessions WHERE id = ?", [.text(parsed.sessionID)]) { $0.int(0) }
            return counter == Int64(bitPattern: parsed.counter) + 1
        }, expectedStatus: 200)
        try run(flow, f, userID: user.id)
    }

    @Test func logoutIsAllOrNothing() throws {
        let f = try FaultHarness()
        let t = try f.h.tenant("acme.test")
        let user = try f.h.user("logout@acme.test", tenant: t)
        let flow = FaultFlow(name: "logout", countsAttempt: false, prepare: { f in
            ["access": f.h.login("logout@acme.test").0]
        }, request: { f, ctx in
            f.h.call("POST", "/api/v1/auth/logout", bearer: ctx["access"]!)
        }, isAfter: { f, ctx, before in
            // Revoked, and recorded: the token is refused and the audit row is there.
            let refused = f.h.call("GET", "/api/v1/auth/me", bearer: ctx["access"]!).status == 401
            return try refused && Self.events(f, "logout") == Int64(Self.beforeEvents(before, "logout") + 1)
        }, expectedStatus: 200)
        try run(flow, f, userID: user.id)
    }

    /// The other revoke paths: logout of every session (scope=global) and one session revoked
    /// by its owner (DELETE /api/v1/auth/sessions/{id}).
    @Test func logoutAllAndSessionRevokeAreAllOrNothing() throws {
        let f = try FaultHarness()
        let t = try f.h.tenant("acme.test")
        let user = try f.h.user("all@acme.test", tenant: t)
        let global = FaultFlow(name: "logout-all", countsAttempt: false, prepare: { f in
            ["a": f.h.login("all@acme.test").0, "b": f.h.login("all@acme.test").0]
        }, request: { f, ctx in
            f.h.call("POST", "/api/v1/auth/logout?scope=global", bearer: ctx["a"]!)
        }, isAfter: { f, ctx, before in
            let refused = f.h.call("GET", "/api/v1/auth/me", bearer: ctx["a"]!).status == 401
                && f.h.call("GET", "/api/v1/auth/me", bearer: ctx["b"]!).status == 401
            return try refused && Self.events(f, "logout") == Int64(Self.beforeEvents(before, "logout") + 1)
        }, expectedStatus: 200)
        try run(global, f, userID: user.id)
        let revoke = FaultFlow(name: "session revoke", countsAttempt: false, prepare: { f in
            let (mine, _) = f.h.login("all@acme.test")
            let (other, refresh) = f.h.login("all@acme.test")
            return ["mine": mine, "other": other, "id": RefreshToken.parse(refresh, ring: f.h.app.keys.current)?.sessionID ?? ""]
        }, request: { f, ctx in
            f.h.call("DELETE", "/api/v1/auth/sessions/\(ctx["id"]!)", bearer: ctx["mine"]!)
        }, isAfter: { f, ctx, before in
            let refused = f.h.call("GET", "/api/v1/auth/me", bearer: ctx["other"]!).status == 401
            return try refused && Self.events(f, "session_revoked") == Int64(Self.beforeEvents(before, "session_revoked") + 1)
        }, expectedStatus: 200)
        try run(revoke, f, userID: user.id)
    }

    @Test func passwordChangeIsAllOrNothing() throws {
        let f = try FaultHarness()
        let t = try f.h.tenant("acme.test")
        let user = try f.h.user("pw@acme.test", tenant: t)
        let box = Box()
        let flow = FaultFlow(name: "password change", countsAttempt: true, prepare: { f in
            ["mine": f.h.login("pw@acme.test", box.current).0, "other": f.h.login("pw@acme.test", box.current).0,
             "hash": try f.h.db.users.byID(user.id)?.passwordHash ?? ""]
        }, request: { f, ctx in
            let r = f.h.call("POST", "/api/v1/auth/me/password",
                             json: #"{"current_password":"\#(box.current)","new_password":"\#(box.next)"}"#, bearer: ctx["mine"]!)
            if r.status == 200 { (box.current, box.next) = (box.next, box.current) }
            return r
        }, isAfter: { f, ctx, before in
            let sessions = f.h.call("GET", "/api/v1/auth/me", bearer: ctx["other"]!).status == 401
                && f.h.call("GET", "/api/v1/auth/me", bearer: ctx["mine"]!).status == 200
            return try sessions && f.h.openDatabase().users.byID(user.id)?.passwordHash != ctx["hash"]
                && Self.events(f, "password_changed") == Int64(Self.beforeEvents(before, "password_changed") + 1)
        }, expectedStatus: 200)
        try run(flow, f, userID: user.id)
    }

    @Test func apiKeyCreationIsAllOrNothing() throws {
        let f = try FaultHarness()
        let t = try f.h.tenant("acme.test")
        let admin = try f.h.user("admin@acme.test", tenant: t, role: "admin")
        let project = try f.h.db.projects.create(tenantID: t.id, name: "p", now: Time.now())
        let flow = FaultFlow(name: "API key creation", countsAttempt: false, prepare: { f in
            ["access": f.h.login("admin@acme.test").0]
        }, request: { f, ctx in
            f.h.call("POST", "/api/v1/projects/\(project.id)/api-keys", json: #"{"name":"k"}"#, bearer: ctx["access"]!)
        }, isAfter: { f, _, before in
            try f.h.openDatabase().apiKeys.list(projectID: project.id).count == Self.count(before, "api_keys") + 1
                && Self.events(f, "api_key_created") == Int64(Self.beforeEvents(before, "api_key_created") + 1)
        }, expectedStatus: 201)
        try run(flow, f, userID: admin.id)
    }

    /// While the disk stays full, issued tokens keep passing (the verify path never writes),
    /// the metrics count the failures by kind, and ready says 503.
    @Test func verifyMetricsAndReadyWhileFull() throws {
        let f = try FaultHarness()
        let t = try f.h.tenant("acme.test")
        _ = try f.h.user("gate@acme.test", tenant: t)
        let (access, refresh) = f.h.login("gate@acme.test")
        let (revoked, _) = f.h.login("gate@acme.test")
        #expect(f.h.call("POST", "/api/v1/auth/logout", bearer: revoked).status == 200)
        let fault = Fault(mode: .diskFull, nth: 1)
        let (results, _, failed) = fault.armed { () -> [Int] in
            [f.h.call("POST", "/api/v1/auth/login", json: #"{"email":"gate@acme.test","password":"correct horse battery"}"#).status,
             f.h.call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(refresh)"}"#).status,
             f.h.call("GET", "/api/v1/auth/me", bearer: access).status,
             f.h.call("GET", "/api/v1/auth/me", bearer: revoked).status,
             f.h.call("POST", "/api/v1/auth/logout", bearer: access).status,
             f.h.call("GET", "/api/v1/auth/me", bearer: access).status]
        }
        #expect(failed > 0)
        #expect(results == [503, 503, 200, 401, 503, 200], "\(results)")
        let metrics = String(decoding: f.h.call("GET", "/api/v1/metrics").response.body, as: UTF8.self)
        #expect(metrics.contains("authgate_storage_errors_total{kind=\"full\"} 3"), "\(metrics.split(separator: "\n").filter { $0.contains("storage") })")
        #expect(metrics.contains("authgate_storage_errors_total{kind=\"other\"} 0"))
        #expect(f.h.call("POST", "/api/v1/auth/logout", bearer: access).status == 200)
        #expect(f.h.call("GET", "/api/v1/auth/me", bearer: access).status == 401)
    }
}
