@testable import AuthCore
import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The traffic of one crash-test worker: its own user (login, concurrent refreshes of one
/// session, logout, password change) and its own lockout victim (wrong passwords).
enum CrashTraffic {
    enum Outcome { case answered(PlainHTTP.Reply), unknown }

    static func call(_ port: Int, _ path: String, _ body: [String: Any], bearer: String? = nil, _ shared: CrashLedger) -> Outcome {
        guard let r = try? PlainHTTP.json(port: port, path, body, bearer: bearer) else { return .unknown }
        // 5xx: nginx could not reach the responder or lost it mid-request (or 503 hash queue): unknown.
        if r.status >= 500 { return .unknown }
        shared.answer()
        return .answered(r)
    }

    static func run(worker i: Int, port: Int, _ shared: CrashLedger) {
        var step = 0
        while !shared.stopped {
            step += 1
            let w = shared.worker(i)
            if w.live.count < 2 || step % 9 == 0 { login(i, port, shared); continue }
            switch step % 6 {
            case 0: wrongLogin(i, port, shared)
            case 1: logout(i, port, shared)
            case 2: changePassword(i, port, shared)
            default: refreshTwice(i, port, shared)
            }
        }
    }

    static func login(_ i: Int, _ port: Int, _ shared: CrashLedger) {
        let w = shared.worker(i)
        let tries = w.candidates.isEmpty ? [w.password] : w.candidates
        var refused = 0
        for password in tries {
            switch call(port, "/api/v1/auth/login", ["email": w.email, "password": password], shared) {
            case .unknown: return
            case let .answered(r) where r.status == 200:
                guard let access = r.data["access_token"] as? String, let refresh = r.data["refresh_token"] as? String else {
                    return shared.violation("login 200 without tokens: \(r.text)")
                }
                shared.update(i) {
                    if !$0.candidates.isEmpty { $0.oldPassword = $0.candidates.first { $0 != password }; $0.candidates = [] }
                    $0.password = password
                    $0.live.append(.init(access: access, refresh: refresh))
                }
                return
            case let .answered(r):
                refused += 1
                if tries.count == 1 { return shared.violation("login with the confirmed password answered \(r.status) \(r.text)") }
            }
        }
        if refused == tries.count { shared.violation("no candidate password works for \(w.email)") }
    }

    static func wrongLogin(_ i: Int, _ port: Int, _ shared: CrashLedger) {
        let victim = shared.worker(i).victim
        shared.update(i) { $0.victimAttempts += 1 }
        if case let .answered(r) = call(port, "/api/v1/auth/login", ["email": victim, "password": "wrong password"], shared) {
            if r.status == 401 { shared.update(i) { $0.victimFailures += 1 } } else { shared.violation("wrong password answered \(r.status)") }
        }
    }

    /// Two refreshes of the same token at once (tabs racing): both 200 must carry the same new
    /// token (no fork); the session then has exactly that one live token.
    static func refreshTwice(_ i: Int, _ port: Int, _ shared: CrashLedger) {
        guard let s = shared.worker(i).live.last else { return }
        let outcomes = (try? onThreads(2, timeout: 60) { _ in call(port, "/api/v1/auth/refresh", ["refresh_token": s.refresh], shared) })?
            .compactMap { try? $0.get() } ?? []
        var fresh: [(String, String)] = []
        var unknown = outcomes.count < 2
        for o in outcomes {
            switch o {
            case .unknown: unknown = true
            case let .answered(r) where r.status == 200:
                if let a = r.data["access_token"] as? String, let t = r.data["refresh_token"] as? String { fresh.append((a, t)) }
            case let .answered(r): shared.violation("refresh of the live token answered \(r.status) \(r.text)")
            }
        }
        if Set(fresh.map(\.1)).count > 1 { shared.violation("fork: one refresh token rotated into two: \(fresh.map(\.1))") }
        shared.update(i) { w in
            guard let index = w.live.lastIndex(where: { $0.refresh == s.refresh }) else { return }
            if let (access, token) = fresh.first {
                w.live[index] = .init(access: access, refresh: token, previous: s.refresh)
            } else if unknown {
                w.live.remove(at: index)   // abandoned: its counter is unknown
            }
        }
    }

    static func logout(_ i: Int, _ port: Int, _ shared: CrashLedger) {
        guard let s = shared.worker(i).live.last else { return }
        let outcome = call(port, "/api/v1/auth/logout", [:], bearer: s.access, shared)
        if case let .answered(r) = outcome, r.status != 200 { shared.violation("logout answered \(r.status) \(r.text)") }
        shared.update(i) { w in
            guard let index = w.live.lastIndex(where: { $0.refresh == s.refresh }) else { return }
            w.live.remove(at: index)
            if case let .answered(r) = outcome, r.status == 200 { w.loggedOut.append(s) }
        }
    }

    static func changePassword(_ i: Int, _ port: Int, _ shared: CrashLedger) {
        let w = shared.worker(i)
        guard w.candidates.isEmpty, let s = w.live.last else { return }
        let next = "crash password \(UInt32.random(in: 0...UInt32.max)) long"
        let outcome = call(port, "/api/v1/auth/me/password", ["current_password": w.password, "new_password": next],
                           bearer: s.access, shared)
        shared.update(i) { w in
            switch outcome {
            case .unknown:
                w.candidates = [w.password, next]
                w.live = []
            case let .answered(r) where r.status == 200:
                w.oldPassword = w.password
                w.password = next
                w.revokedByPassword += w.live.filter { $0.refresh != s.refresh }
                w.live = w.live.filter { $0.refresh == s.refresh }
            case .answered: break
            }
        }
        if case let .answered(r) = outcome, r.status != 200 { shared.violation("password change answered \(r.status) \(r.text)") }
    }
}

/// After the kills: every confirmed answer must still hold.
enum CrashVerify {
    struct Checked: CustomStringConvertible {
        var sessions = 0, rotated = 0, loggedOut = 0, revokedByPassword = 0, passwords = 0, failures = 0
        var description: String {
            "\(sessions) live sessions (\(rotated) with a dead predecessor), \(loggedOut) logged out, \(revokedByPassword) revoked by a password change, \(passwords) passwords, \(failures) confirmed failed logins"
        }
    }

    static func refresh(_ port: Int, _ token: String) throws -> PlainHTTP.Reply {
        try PlainHTTP.json(port: port, "/api/v1/auth/refresh", ["refresh_token": token])
    }

    static func everything(_ shared: CrashLedger, port: Int, db: Database) throws -> Checked {
        var c = Checked()
        for w in shared.workers {
            for s in w.live {
                let next = try refresh(port, s.refresh)
                guard next.status == 200, let successor = next.data["refresh_token"] as? String else {
                    shared.violation("\(w.email): the last confirmed refresh token is dead: \(next.status) \(next.text)"); continue
                }
                c.sessions += 1
                if let previous = s.previous {
                    // Two rotations behind now: dead, and replaying it revokes the session (reuse detection).
                    let old = try refresh(port, previous)
                    if old.status != 401 { shared.violation("\(w.email): a rotated-away refresh token answered \(old.status)") }
                    let after = try refresh(port, successor)
                    if after.status != 401 { shared.violation("\(w.email): session survived a reuse: \(after.status)") }
                    c.rotated += 1
                }
            }
            for s in w.loggedOut {
                let r = try refresh(port, s.refresh)
                let me = try PlainHTTP.request(port: port, "GET", "/api/v1/auth/me", headers: [("Authorization", "Bearer \(s.access)")])
                if r.status != 401 || me.status != 401 { shared.violation("\(w.email): a logged-out session lives: \(r.status) \(me.status)") }
                c.loggedOut += 1
            }
            for s in w.revokedByPassword {
                let r = try refresh(port, s.refresh)
                if r.status != 401 { shared.violation("\(w.email): a session survived the password change: \(r.status)") }
                c.revokedByPassword += 1
            }
            let passwords = w.candidates.isEmpty ? [w.password] : w.candidates
            let works = try passwords.map { try PlainHTTP.json(port: port, "/api/v1/auth/login", ["email": w.email, "password": $0]).status }
            if works.filter({ $0 == 200 }).count != 1 { shared.violation("\(w.email): logins with \(passwords.count) candidates: \(works)") }
            if let old = w.oldPassword, w.candidates.isEmpty {
                let r = try PlainHTTP.json(port: port, "/api/v1/auth/login", ["email": w.email, "password": old])
                if r.status != 401 { shared.violation("\(w.email): the old password still works: \(r.status)") }
                c.passwords += 1
            }
            let tenant = try db.tenants.byDomain("crash.test")
            let victim = try db.users.byEmail(tenantID: tenant?.id ?? "", email: w.victim)
            let count = victim?.failedAttempts ?? -1
            if count < w.victimFailures || count > w.victimAttempts {
                shared.violation("\(w.victim): \(count) failed attempts stored, \(w.victimFailures) confirmed, \(w.victimAttempts) sent")
            }
            c.failures += w.victimFailures
        }
        return c
    }
}
