import AuthCore
import AuthCrypto
import Glibc

/// `authgate-bench mfa`: the second factor in process (issue 21). For `--users` users with a
/// confirmed TOTP factor: the password step of the login (one scrypt hash at AUTH_SCRYPT, default
/// ln=15,r=8,p=3) and the code step (`/api/v1/auth/mfa/verify`: open the sealed seed, check the
/// code, one transaction), each timed through `Worker.handle`; and the code check alone
/// (AES-256-GCM open + TOTP over three steps) in a loop. JSON on stdout.
enum MFABench {
    nonisolated static func run(_ args: Args) {
        var template = Array("/tmp/authgate-bench-mfa-XXXXXX".utf8CString)
        guard let dirPtr = mkdtemp(&template) else { fail("mkdtemp failed") }
        let dir = String(cString: dirPtr)
        defer { _ = system("rm -rf '\(dir)'") }
        let scrypt = getenv("AUTH_SCRYPT").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "ln=15,r=8,p=3"
        do {
            _ = try KeyRing.rotate(path: dir + "/keys")
            _ = try KeyRing.rotate(path: dir + "/secrets")
            let settings = try Settings(environment: ["AUTH_DB_PATH": dir + "/a.db", "AUTH_KEYS_FILE": dir + "/keys",
                                                      "AUTH_SECRETS_FILE": dir + "/secrets", "AUTH_SCRYPT": scrypt,
                                                      "AUTH_LOG_FORMAT": "text", "AUTH_RATE_LIMIT": "off"])
            let app = try App(settings: settings)
            let worker = try app.makeWorker()
            let ring = try KeyRing.load(path: dir + "/secrets")
            let now = Time.now()
            let tenant = try worker.db.tenants.create(name: "Bench", domain: "bench.local", now: now)
            let password = "correct horse battery staple"
            let hash = try PasswordHash.make(password: password, parameters: app.scrypt)
            var loginMs: [Double] = [], verifyMs: [Double] = []
            var sealedOne = ""
            var factorOne = ""
            for i in 0..<max(1, args.int("users", 5)) {
                let email = "mfa\(i)@bench.local"
                let user = try worker.db.users.create(tenantID: tenant.id, email: email, passwordHash: hash, role: "agent", now: now)
                let seed = Crypto.randomBytes(TOTP.secretBytes)
                let id = "f\(i)-" + UUIDs.random()
                let sealed = SecretBox.seal(seed, context: id, ring: ring)
                _ = try worker.db.mfa.createFactor(id: id, userID: user.id, kind: "totp", sealedSecret: sealed, now: now)
                _ = try worker.db.mfa.confirm(id: id, step: 0, now: now)
                (sealedOne, factorOne) = (sealed, id)
                let t0 = nowSeconds()
                let login = worker.handle(post("/api/v1/auth/login", #"{"email":"\#(email)","password":"\#(password)"}"#))
                let t1 = nowSeconds()
                guard login.status == 200, let token = JSONParser.parse(login.body)?["data"]?["mfa_token"]?.stringValue else {
                    fail("mfa login: \(login.status) \(String(decoding: login.body, as: UTF8.self))")
                }
                let code = TOTP.code(secret: seed, counter: TOTP.step(at: Time.now()))
                let t2 = nowSeconds()
                let verified = worker.handle(post("/api/v1/auth/mfa/verify", #"{"mfa_token":"\#(token)","code":"\#(code)"}"#))
                let t3 = nowSeconds()
                guard verified.status == 200 else { fail("mfa verify: \(verified.status) \(String(decoding: verified.body, as: UTF8.self))") }
                loginMs.append((t1 - t0) * 1000)
                verifyMs.append((t3 - t2) * 1000)
            }
            let code = "000000"
            let checkRate = CoreBench.loop(args.double("secs", 1)) {
                if var s = try? SecretBox.open(sealedOne, context: factorOne, ring: ring) {
                    _ = TOTP.matchingStep(secret: s, code: code, now: Time.now(), after: -1)
                    Crypto.wipe(&s)
                }
            }
            loginMs.sort()
            verifyMs.sort()
            print("""
            {"scrypt_params": "\(app.scrypt)", "users": \(loginMs.count), \
            "mfa_password_step_ms_median": \(fmt(loginMs[loginMs.count / 2], 1)), \
            "mfa_code_step_ms_median": \(fmt(verifyMs[verifyMs.count / 2], 2)), \
            "mfa_login_total_ms_median": \(fmt(loginMs[loginMs.count / 2] + verifyMs[verifyMs.count / 2], 1)), \
            "code_check_us": \(fmt(1e6 / checkRate, 2))}
            """)
        } catch {
            fail("mfa: \(error)")
        }
    }

    static func post(_ path: String, _ json: String) -> Request {
        Request(method: "POST", path: path, query: "", headers: ["content-type": "application/json"],
                body: Array(json.utf8), remoteAddress: "127.0.0.1", verify: nil)
    }
}
