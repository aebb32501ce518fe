import AuthCore
import AuthCrypto
import Glibc

/// Mints `count` real sessions for one user and prints one token per line: access tokens
/// (JWTs signed with the ring's signing key, as login would issue them) or, with --refresh,
/// each session's current refresh token (counter 1: every line is good for one rotation).
enum TokenMint {
    nonisolated static func run(_ args: Args) {
        let count = args.int("count", 1000)
        do {
            let where_ = args.string("db")   // a SQLite path or a PostgreSQL URL
            let db = try PostgresURL.isPostgres(where_) ? Database(url: where_) : Database(path: where_)
            let ring = try KeyRing.load(path: args.string("keys"))
            let issuer = args.values["issuer"] ?? "authgate"
            let audience = args.values["audience"] ?? "2signal"
            guard let tenant = try db.tenants.byDomain(args.string("tenant")) else { fail("no tenant") }
            guard let user = try db.users.byEmail(tenantID: tenant.id, email: args.string("email")) else { fail("no user") }
            let now = Time.now()
            let sessions = try db.transaction {
                try (0..<count).map { _ in try db.sessions.create(userID: user.id, now: now, userAgent: "authgate-bench") }
            }
            var out = ""
            out.reserveCapacity(count * 300)
            for s in sessions {
                if args.has("refresh") {
                    out += RefreshToken.make(sessionID: s.id, counter: UInt64(s.counter), ring: ring)
                } else {
                    let claims = AccessClaims(iss: issuer, aud: audience, sub: user.id, tid: tenant.id, email: user.email,
                                              role: user.role, sid: s.id, jti: UUIDs.random(), iat: now, exp: now + 3600)
                    out += JWT.sign(claims, key: ring.signing)
                }
                out += "\n"
            }
            print(out, terminator: "")
        } catch {
            fail("tokens: \(error)")
        }
    }
}
