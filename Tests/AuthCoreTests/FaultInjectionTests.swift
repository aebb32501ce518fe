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

    func run(_ flow: FaultFlow, _ f: FaultHarness, userID: String) throws {
        var ctx = try flow.prepare(f)
        var calibration: (status: Int, json: JSON?, response: Response)?
        let calls = Fault.count { calibration = flow.request(f, ctx) }
        #expect(calibration?.status == flow.expectedStatus, "\(flow.name) without a fault: \(calibration?.status ?? 0)")
        #expect(calls > 0, "\(flow.name): no I/O went through the fault VFS")
        var failedPoints = 0, passedPoints = 0
        for mode in [Fault.Mode.diskFull, .ioError] {
            for nth in Fault.points(calls: calls) {
                let fault = Fault(mode: mode, nth: nth)
                ctx = try flow.prepare(f)
                let before = try f.dump(volatileCounters: flow.countsAttempt)
                let exactBefore = try f.dump()
                let countBefore = try f.counters(userID)
                let (r, _, failed) = fault.armed { flow.request(f, ctx) }
                let body = String(decoding: r.response.body, as: UTF8.self)
                if failed == 0 {
                    // Past this run's last I/O call: it must simply have worked.
                    passedPoints += 1
                    #expect(r.status == flow.expectedStatus, "\(flow.name), \(fault) (not reached): \(r.status) \(body)")
                    #expect(try flow.isAfter(f, ctx, exactBefore), "\(flow.name), \(fault): 200 but not written")
                    continue
                }
                failedPoints += 1
                #expect(r.status == 503 && r.json?.errorCode == "storage_unavailable",
                        "\(flow.name), \(fault): \(r.status) \(body)")
                #expect(r.response.header("Retry-After") != nil, "\(flow.name), \(fault): no Retry-After")
                // Fully before: nothing of the write is there (a 503 never did it, or half of it).
                #expect(try f.dump(volatileCounters: flow.countsAttempt) == before, "\(flow.name), \(fault): the database changed")
                if flow.countsAttempt {
                    let now = try f.counters(userID)
                    #expect(now == countBefore || now == countBefore + 1, "\(flow.name), \(fault): failed_attempts \(countBefore) -> \(now)")
                } else {
                    #expect(try f.dump() == exactBefore, "\(flow.name), \(fault): the database changed")
                }
                // The storage is back: the very same request succeeds, and all of it is written.
                let retry = flow.request(f, ctx)
                #expect(retry.status == flow.expectedStatus,
                        "\(flow.name), after \(fault): \(retry.status) \(String(decoding: retry.response.body, as: UTF8.self))")
                #expect(try flow.isAfter(f, ctx, exactBefore), "\(flow.name), after \(fault): not fully written")
            }
        }
        #expect(try f.integrity() == "ok")
        print("fault injection: \(flow.name): \(calls) I/O calls per request; \(failedPoints) failure points answered 503 "
              + "storage_unavailable with nothing written and the retry succeeding; \(passedPoints) past the last call")
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
