import AuthCore
import AuthCrypto
import Glibc

/// The core alone, no transport: `Worker.handle` on a verify request (the verify route nginx
/// calls), the same with no credential (the 401 floor), `JWT.verify` alone, and one scrypt hash
/// with the default parameters.
enum CoreBench {
    nonisolated static func run(_ args: Args) {
        let secs = args.double("secs", 2)
        var template = Array("/tmp/authgate-bench-XXXXXX".utf8CString)
        guard let dirPtr = mkdtemp(&template) else { fail("mkdtemp failed") }
        let dir = String(cString: dirPtr)
        defer { _ = system("rm -rf '\(dir)'") }
        let keysPath = dir + "/keys"
        do {
            _ = try KeyRing.rotate(path: keysPath)
            let settings = try Settings(environment: ["AUTH_DB_PATH": dir + "/a.db", "AUTH_KEYS_FILE": keysPath,
                                                      "AUTH_LOG_FORMAT": "text"])
            let app = try App(settings: settings)
            let worker = try app.makeWorker()
            let now = Time.now()
            let (tenant, user, session) = try worker.db.transaction {
                let t = try worker.db.tenants.create(name: "Bench", domain: "bench.local", now: now)
                let u = try worker.db.users.create(tenantID: t.id, email: "bench@bench.local", passwordHash: "x",
                                                   role: "agent", mustChangePassword: false, now: now)
                let s = try worker.db.sessions.create(userID: u.id, now: now)
                return (t, u, s)
            }
            let ring = try KeyRing.load(path: keysPath)
            let claims = AccessClaims(iss: settings.issuer, aud: settings.audience, sub: user.id, tid: tenant.id,
                                      email: user.email, role: user.role, sid: session.id, jti: UUIDs.random(),
                                      iat: now, exp: now + 3600)
            let token = JWT.sign(claims, key: ring.signing)
            let policy = GatePolicy()
            let baseHeaders = ["host": "127.0.0.1", "user-agent": "wrk", "accept": "*/*"]
            var withToken = baseHeaders
            withToken["authorization"] = "Bearer \(token)"
            let allowed = Request(method: "GET", path: "/demo/gated", headers: withToken, verify: policy)
            let anonymous = Request(method: "GET", path: "/demo/gated", headers: baseHeaders, verify: policy)
            guard worker.handle(allowed).status == 204 else { fail("verify did not allow the bench token") }
            guard worker.handle(anonymous).status == 401 else { fail("verify without credential was not 401") }
            // The browser mode: the same token as the access cookie at an "user browser" location.
            var withCookie = baseHeaders
            withCookie["cookie"] = "__Host-authgate=\(token)"
            let byCookie = Request(method: "GET", path: "/demo/dashboard/", headers: withCookie,
                                   verify: GatePolicy(kinds: [.user, .browser]))
            guard worker.handle(byCookie).status == 204 else { fail("verify did not allow the bench token as a cookie") }

            if let only = args.values["only"], only == "verify" || only == "cookie" {  // for profilers: one verify loop alone
                let request = only == "cookie" ? byCookie : allowed
                let rate = loop(secs) { _ = worker.handle(request) }
                print("{\"verify_calls_per_s\": \(Int(rate))}")
                return
            }
            let verifyRate = loop(secs) { _ = worker.handle(allowed) }
            let floorRate = loop(secs) { _ = worker.handle(anonymous) }
            let cookieRate = loop(secs) { _ = worker.handle(byCookie) }
            let jwtRate = loop(secs) {
                _ = JWT.verify(token, ring: ring, issuer: settings.issuer, audience: settings.audience,
                               now: now, leeway: 30)
            }
            // Revocation through another connection (as the CLI would) must be seen within the verify
            // state's staleness bound (AUTH_STATE_MAX_STALE_SECONDS, 1 s): polled, with a 3 s deadline.
            let other = try Database(path: dir + "/a.db")
            _ = try other.sessions.revoke(id: session.id, reason: "bench", now: now)
            let revokedAt = nowSeconds()
            var afterRevoke = worker.handle(allowed).status
            while afterRevoke != 401 && nowSeconds() - revokedAt < 3 {
                usleep(1000)
                afterRevoke = worker.handle(allowed).status
            }
            let revokeMillis = (nowSeconds() - revokedAt) * 1000
            guard afterRevoke == 401 else { fail("verify still answered \(afterRevoke) 3 s after a revocation") }
            let iterations = args.int("hash-runs", 3)
            var hashTimes: [Double] = []
            for _ in 0..<iterations {
                let t0 = nowSeconds()
                _ = try PasswordHash.make(password: "correct horse battery staple", parameters: app.scrypt)
                hashTimes.append((nowSeconds() - t0) * 1000)
            }
            hashTimes.sort()
            print("""
            {"verify_calls_per_s": \(Int(verifyRate)), "verify_us": \(fmt(1e6 / verifyRate)), \
            "no_credential_calls_per_s": \(Int(floorRate)), "no_credential_us": \(fmt(1e6 / floorRate)), \
            "verify_cookie_calls_per_s": \(Int(cookieRate)), "verify_cookie_us": \(fmt(1e6 / cookieRate)), \
            "jwt_verify_per_s": \(Int(jwtRate)), "jwt_verify_us": \(fmt(1e6 / jwtRate)), \
            "scrypt_params": "\(app.scrypt)", "scrypt_ms_median": \(fmt(hashTimes[hashTimes.count / 2], 1)), \
            "scrypt_ms_min": \(fmt(hashTimes[0], 1)), "revoked_next_verify": \(afterRevoke), \
            "revocation_seen_after_ms": \(fmt(revokeMillis, 1))}
            """)
        } catch {
            fail("core: \(error)")
        }
    }

    /// One scrypt hash with the default parameters, `runs` times: median and min in ms (JSON).
    nonisolated static func hash(_ args: Args) {
        let configured = getenv("AUTH_SCRYPT").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
        guard let params = ScryptParameters(args.values["params"] ?? configured ?? "ln=15,r=8,p=3") else { fail("bad --params") }
        var times: [Double] = []
        for _ in 0..<max(1, args.int("runs", 5)) {
            let t0 = nowSeconds()
            do { _ = try PasswordHash.make(password: "correct horse battery staple", parameters: params) } catch {
                fail("scrypt: \(error)")
            }
            times.append((nowSeconds() - t0) * 1000)
        }
        times.sort()
        print("{\"scrypt_params\": \"\(params)\", \"scrypt_ms_median\": \(fmt(times[times.count / 2], 1)), \"scrypt_ms_min\": \(fmt(times[0], 1))}")
    }

    /// Calls `body` for `secs` seconds; returns calls per second.
    static func loop(_ secs: Double, _ body: () -> Void) -> Double {
        let start = nowSeconds()
        var n = 0
        var elapsed = 0.0
        repeat {
            for _ in 0..<512 { body() }
            n += 512
            elapsed = nowSeconds() - start
        } while elapsed < secs
        return Double(n) / elapsed
    }
}
