import AuthCore
import AuthCrypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `authgate doctor`: the things that break installs in practice, one line each
/// (`ok` / `FAIL … fix: …`), exit 1 when anything is wrong.
enum DoctorCommand {
    static let commands = [
        Command(words: ["doctor"], options: ["nginx-conf", "user"], flags: ["no-nginx"],
                synopsis: "doctor [--user authgate] [--nginx-conf /etc/nginx/nginx.conf] [--no-nginx]", run: run),
    ]

    final class Report {
        var failed = 0
        func ok(_ s: String) { Output.line("ok    \(s)") }
        func fail(_ s: String, fix: String) { failed += 1; Output.line("FAIL  \(s); fix: \(fix)") }
        func check(_ good: Bool, _ what: String, fix: String) { good ? ok(what) : fail(what, fix: fix) }
    }

    static func run(_ ctx: Context) throws {
        let r = Report()
        let s = ctx.settings
        let env = ctx.environment
        let nginxUser = env["AUTH_NGINX_USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "www-data"
        // The service user: --user, else the owner of the state directory.
        let stateDir = ((s.usesPostgres ? s.keysFile : s.dbPath) as NSString).deletingLastPathComponent
        let user = ctx.args.optional("user") ?? owner(of: stateDir).map(\.name)
        let uid = user.flatMap { getpwnam($0)?.pointee.pw_uid }
        let layout = DoctorLayout.detect(stateDir: stateDir, nginxConf: ctx.args.optional("nginx-conf"))
        if let demo = layout.demoState {
            r.ok("layout: the make run demo in \(demo) (nginx config \(layout.nginxConf)); the checks of an installed server's own settings do not apply")
        }

        // Key ring: exists, private, loads, owned by the service user.
        if let st = info(s.keysFile) {
            r.check(st.st_mode & 0o077 == 0, "key ring \(s.keysFile) mode \(octal(st.st_mode))", fix: "chmod 600 \(s.keysFile)")
            r.check(st.st_size > 0, "key ring \(s.keysFile) is not empty", fix: "authgate keys rotate")
            if let uid { r.check(st.st_uid == uid, "key ring owner is \(user!)", fix: "chown \(user!) \(s.keysFile)") }
            do { let ring = try KeyRing.load(path: s.keysFile); r.ok("key ring loads (\(ring.keys.count) key(s), signing kid \(ring.signing.kid))") }
            catch { r.fail("key ring does not load: \(error)", fix: "authgate keys rotate, or repair the file") }
        } else {
            r.fail("no key ring at \(s.keysFile)", fix: "authgate init")
        }
        // Secrets file (second factor): when present, private, owned by the service user, loads.
        // Missing is reported without failing: only second factors need it (`authgate init` makes it).
        if let st = info(s.secretsFile) {
            r.check(st.st_mode & 0o077 == 0, "secrets file \(s.secretsFile) mode \(octal(st.st_mode))", fix: "chmod 600 \(s.secretsFile)")
            if let uid { r.check(st.st_uid == uid, "secrets file owner is \(user!)", fix: "chown \(user!) \(s.secretsFile)") }
            do { let ring = try KeyRing.load(path: s.secretsFile); r.ok("secrets file loads (\(ring.keys.count) key(s), sealing kid \(ring.signing.kid))") }
            catch { r.fail("secrets file does not load: \(error)", fix: "authgate secrets rotate, or repair the file") }
        } else {
            r.ok("no secrets file at \(s.secretsFile): second factors cannot be enrolled (authgate init or authgate secrets rotate creates it)")
        }
        // Database, -wal and -shm: private and owned by the service user.
        if let url = s.dbURL {
            // PostgreSQL: reachable, migrated; the files below are the server's business.
            do {
                var options = s.postgres
                options.poolSize = 1
                let db = try Database(url: url, options: options)
                let seq = db.verifyChangeSeq()
                r.check(seq >= 0, "PostgreSQL \(s.dbDescription) reachable and migrated", fix: "authgate init (with AUTH_DB_URL set)")
                // The connection budget (issue 24): past 80 % of max_connections, a burst is refused.
                if let c = db.serverConnections() {
                    r.check(c.used * 5 < c.max * 4, "PostgreSQL connections: \(c.used) of max_connections \(c.max) in use",
                            fix: PostgresRefusal.tooManyClients.advice)
                }
                if let names = db.synchronousStandbyNames() {
                    r.ok(names.isEmpty
                        ? "PostgreSQL synchronous_standby_names is empty: a failover can lose acknowledged revocations (README: Several hosts, failover)"
                        : "PostgreSQL synchronous standby '\(names)': writes commit with synchronous_commit = \(s.postgres.syncCommit ?? "the server's")")
                }
            } catch {
                // Named: a full server (53300), no primary, starting up, or not reachable at all.
                let refusal = PostgresRefusal.classify("\(error)")
                r.fail("PostgreSQL \(s.dbDescription) refuses connections (\(refusal.rawValue)): \(error)", fix: refusal.advice)
            }
        } else if info(s.dbPath) == nil { r.fail("no database at \(s.dbPath)", fix: "authgate init") }
        for suffix in (s.usesPostgres ? [] : ["", "-wal", "-shm"]) {
            let path = s.dbPath + suffix
            guard let st = info(path) else { continue }
            r.check(st.st_mode & 0o077 == 0, "\(path) mode \(octal(st.st_mode))", fix: "chmod 600 \(path)")
            if let uid { r.check(st.st_uid == uid, "\(path) owner is \(user!)", fix: "chown \(user!) \(path)") }
        }
        // Sockets: present, 0660, group nginx's worker user is in, answering.
        let nginxGroups = groups(of: nginxUser)
        for path in [s.socketPath, s.wsSocketPath] {
            guard let st = info(path), st.st_mode & S_IFMT == S_IFSOCK else {
                r.fail("no socket at \(path)", fix: layout.isDemo ? "start the demo: make run" : "systemctl start authgate.socket authgate-ws.socket"); continue
            }
            r.check(st.st_mode & 0o777 == 0o660, "socket \(path) mode \(octal(st.st_mode))", fix: "SocketMode=0660 in the .socket unit")
            r.check(nginxGroups.contains(st.st_gid), "socket \(path) group reachable by \(nginxUser)",
                    fix: "SocketGroup= a group \(nginxUser) is in (the units use www-data)")
        }
        // The verify route answers through the responder's socket (a request with no credential: 401).
        let status = FastCGIProbe.verifyStatus(socket: s.socketPath)
        r.check(status == 401, "verify route answers on \(s.socketPath) (got \(status == 0 ? "no answer" : String(status)))",
                fix: "systemctl status authgate.socket authgate; journalctl -u authgate")
        // nginx: the snippets are included and the config passes nginx -t.
        if !ctx.args.has("no-nginx") {
            let conf = layout.nginxConf
            let snippetDir = layout.snippetDir
            r.check(info(snippetDir + "/authgate-http.conf") != nil, "nginx snippets in \(snippetDir)",
                    fix: layout.isDemo ? "make run renders them (scripts/render-nginx.sh)"
                        : "copy them from /usr/local/share/authgate/nginx/snippets (see README: Install on a server)")
            let candidates: [String] = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            if let nginx = candidates.first(where: { Glibc.access($0, X_OK) == 0 }) {
                let rc = spawnWait(nginx, layout.nginxTestArguments)
                r.check(rc == 0, "nginx \(layout.nginxTestArguments.joined(separator: " "))", fix: "run nginx -t and fix what it says")
            } else {
                r.fail("nginx not found", fix: "apt-get install nginx")
            }
        }
        // Clock: not before the newest audit row (a clock set back breaks token times).
        let now = Time.now()
        if let db = try? Database(settings: s), let newest = try? db.audit.list(limit: 1).first?.at {
            r.check(now + 300 >= newest, "clock (now \(now), newest audit row \(newest))", fix: "fix the clock (timedatectl set-ntp true)")
        } else {
            r.check(now > 1_700_000_000, "clock (now \(now))", fix: "fix the clock (timedatectl set-ntp true)")
        }
        // Password hashing and token identity.
        if let p = ScryptParameters(s.scrypt) {
            let d = ScryptParameters.default
            r.check(p.ln >= d.ln && p.r >= d.r && p.p >= d.p, "AUTH_SCRYPT \(s.scrypt) not below \(d)", fix: "remove AUTH_SCRYPT (default \(d))")
        }
        let effective = try? EffectiveConfig(environment: env)
        if let file = effective?.file, file.entries["AUTH_DB_URL"].map({ PostgresURL.hasPassword($0.value) }) ?? false {
            let exposed = ConfigFileAudit.exposedPassword(file)
            r.check(exposed == nil, "config file \(file.path) holding a PostgreSQL password is private to its owner",
                    fix: "chmod 600 \(file.path) (owned by the service user), or move the password to ~/.pgpass")
        }
        for (key, value) in [("AUTH_ISSUER", s.issuer), ("AUTH_AUDIENCE", s.audience)] {
            if layout.isDemo, effective?.source(key) == .defaultValue {
                r.ok("\(key) '\(value)' (the demo's default; an installed server sets its own)")
            } else {
                r.check(effective?.source(key) != .defaultValue, "\(key) set", fix: "set \(key) in /etc/authgate/authgate.conf (your apps check it)")
            }
        }
        // Passkeys (issue 22): a relying party that does not fit its origins never gets here
        // (the settings refuse it, and doctor with them); say what is configured.
        if let rpID = s.webauthn.rpID {
            r.ok("passkeys: RP ID \(rpID), origins \(s.webauthn.origins.joined(separator: " "))")
        } else {
            r.ok("passkeys off (AUTH_WEBAUTHN_RP_ID unset)")
        }
        // Mail (issue 23): the transport can deliver (nothing is sent), the outbox has no dead mail.
        if let transport = s.mail.makeTransport() {
            if let file = s.mail.passwordFile, let st = info(file) {
                r.check(st.st_mode & 0o077 == 0, "SMTP password file \(file) mode \(octal(st.st_mode))", fix: "chmod 600 \(file)")
            }
            switch transport.probe() {
            case .sent: r.ok("mail transport \(s.mail.transportDescription) answers")
            case let .temporary(detail), let .permanent(detail):
                r.fail("mail transport \(s.mail.transportDescription): \(detail)",
                       fix: "check AUTH_MAIL_SENDMAIL / AUTH_SMTP_URL, AUTH_SMTP_CA_FILE, AUTH_SMTP_PASSWORD_FILE; then authgate mail test --to ADDR")
            }
        } else {
            r.ok("mail: no transport (AUTH_MAIL_SENDMAIL, AUTH_SMTP_URL unset): reset and invite mails wait in the outbox")
        }
        if let db = try? Database(settings: s), let summary = try? db.outbox.summary(now: now) {
            r.check(summary.dead == 0, "mail outbox: \(summary.pending) pending (oldest \(summary.oldestPendingSeconds) s), \(summary.dead) dead",
                    fix: "authgate mail status; fix the transport, then authgate mail retry")
        }
        if r.failed > 0 { throw CLIError.failure("doctor: \(r.failed) problem(s)") }
    }

    static func info(_ path: String) -> stat? {
        var st = stat()
        return stat(path, &st) == 0 ? st : nil
    }

    static func owner(of path: String) -> (uid: uid_t, name: String)? {
        guard let st = info(path), let pw = getpwuid(st.st_uid) else { return nil }
        return (st.st_uid, String(cString: pw.pointee.pw_name))
    }

    static func groups(of user: String) -> Set<gid_t> {
        guard let pw = getpwnam(user) else { return [] }
        var result: Set<gid_t> = [pw.pointee.pw_gid]
        var count: Int32 = 64
        var list = [gid_t](repeating: 0, count: 64)
        if getgrouplist(pw.pointee.pw_name, pw.pointee.pw_gid, &list, &count) >= 0 {
            result.formUnion(list.prefix(Int(count)))
        }
        return result
    }

    static func octal(_ mode: mode_t) -> String { "0" + String(mode & 0o7777, radix: 8) }

    static func spawnWait(_ path: String, _ args: [String]) -> Int32 {
        var pid: pid_t = 0
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        let argv = ([path] + args).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

/// One FastCGI verify request to the responder's socket, as nginx's auth_request would send it.
enum FastCGIProbe {
    static func verifyStatus(socket path: String) -> Int {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var tv = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < 108 else { return 0 }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in raw.copyBytes(from: bytes); raw[bytes.count] = 0 }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0 else { return 0 }
        func record(_ type: UInt8, _ content: [UInt8]) -> [UInt8] {
            [1, type, 0, 1, UInt8(content.count >> 8), UInt8(content.count & 0xff), 0, 0] + content
        }
        var params: [UInt8] = []
        for (n, v) in [("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/authgate-doctor"), ("DOCUMENT_URI", "/_authgate/verify/user"),
                       ("AUTH_VERIFY", "1"), ("REMOTE_ADDR", "127.0.0.1")] {
            params += [UInt8(n.utf8.count), UInt8(v.utf8.count)] + Array(n.utf8) + Array(v.utf8)
        }
        let request = record(1, [0, 1, 0, 0, 0, 0, 0, 0]) + record(4, params) + record(4, []) + record(5, [])
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return 0 }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        let text = String(decoding: out.count > 8 ? Array(out[8...]) : [], as: UTF8.self)
        guard let range = text.range(of: "Status: ") else { return 0 }
        return Int(text[range.upperBound...].prefix(3)) ?? 0
    }
}
