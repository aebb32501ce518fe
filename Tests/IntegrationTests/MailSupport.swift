import AuthCore
import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Issue 23's real mail parts: Debian's python3-aiosmtpd on a free port with STARTTLS (a test
/// certificate made with openssl in its temp dir; STARTTLS required before MAIL), and a sendmail
/// script that stores what it gets. Both write every message they accept as `<n>.eml`; the
/// tests read them back (headers, link, code).
final class SMTPTestServer: @unchecked Sendable {
    let temp: TempDir
    let port: Int
    var dir: String { temp.path }
    var certPath: String { dir + "/smtp-cert.pem" }
    var mailDir: String { dir + "/mail" }
    var modeFile: String { dir + "/mode" }
    private(set) var child: Child?

    init() throws {
        temp = try TempDir("authgate-smtp", parent: "/tmp")
        port = try Stack.freePort()
        try FileManager.default.createDirectory(atPath: mailDir, withIntermediateDirectories: true)
        let r = try Child.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                                   "-nodes", "-days", "2", "-subj", "/CN=localhost",
                                                   "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                                                   "-keyout", dir + "/smtp-key.pem", "-out", certPath], timeout: 30)
        guard r.status == 0 else { throw StackError("openssl: \(r.stderr)") }
    }

    /// `ok`, `4xx` or `5xx`: how the next RCPT is answered.
    func setMode(_ mode: String) throws { try mode.write(toFile: modeFile, atomically: true, encoding: .utf8) }

    func start() throws {
        let script = Binaries.repositoryRoot + "/Tests/mail/smtp_server.py"
        let p = try Child.spawn("/usr/bin/python3", [script, String(port), certPath, dir + "/smtp-key.pem", mailDir, modeFile],
                                stdout: dir + "/smtp.log", stderr: dir + "/smtp.log")
        child = p
        try waitFor("the test SMTP server to listen on 127.0.0.1:\(port)", timeout: 20) {
            guard p.isRunning else { throw StackError("the SMTP server exited: \(self.temp.read("smtp.log"))") }
            return (try? String(contentsOfFile: self.dir + "/smtp.log", encoding: .utf8))?.contains("listening") == true
        }
    }

    func stop() {
        child?.signal(SIGTERM)
        _ = child?.stop(grace: 3)
        child = nil
        try? FileManager.default.removeItem(atPath: dir + "/smtp.log")
    }

    var environment: [String: String] {
        ["AUTH_SMTP_URL": "smtp://127.0.0.1:\(port)", "AUTH_SMTP_CA_FILE": certPath]
    }

    func messages() -> [String] { MailCapture.messages(in: mailDir) }
}

/// The sendmail transport's stand-in: Tests/mail/sendmail.sh copied beside a `mail-dir` file.
final class SendmailCapture: @unchecked Sendable {
    let temp: TempDir
    var dir: String { temp.path }
    var mailDir: String { dir + "/mail" }
    var program: String { dir + "/sendmail" }

    init() throws {
        temp = try TempDir("authgate-sendmail", parent: "/tmp")
        chmod(dir, 0o755)
        try FileManager.default.createDirectory(atPath: mailDir, withIntermediateDirectories: true)
        chmod(mailDir, 0o777)
        try FileManager.default.copyItem(atPath: Binaries.repositoryRoot + "/Tests/mail/sendmail.sh", toPath: program)
        chmod(program, 0o755)
        try mailDir.write(toFile: dir + "/mail-dir", atomically: true, encoding: .utf8)
    }

    /// The next runs exit with `status` (nil: deliver).
    func failWith(_ status: Int?) throws {
        if let status { try String(status).write(toFile: dir + "/exit-status", atomically: true, encoding: .utf8) } else {
            try? FileManager.default.removeItem(atPath: dir + "/exit-status")
        }
    }

    var environment: [String: String] { ["AUTH_MAIL_SENDMAIL": program] }
    func messages() -> [String] { MailCapture.messages(in: mailDir) }
    /// The arguments of the `n`-th run (1-based, in time order).
    func arguments(_ n: Int) -> String {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: mailDir)) ?? []).filter { $0.hasSuffix(".args") }
            .sorted(by: MailCapture.order)
        guard names.count >= n else { return "" }
        return (try? String(contentsOfFile: mailDir + "/" + names[n - 1], encoding: .utf8)) ?? ""
    }
}

enum MailCapture {
    /// Every `*.eml` in the order received (the SMTP server numbers them 1, 2, …; the sendmail
    /// script names them by the time in nanoseconds).
    static func messages(in dir: String) -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".eml") }
        return names.sorted(by: order)
            .compactMap { try? String(contentsOfFile: dir + "/" + $0, encoding: .utf8) }
    }

    /// By the number before the first dot (the SMTP server's 1, 2, …; the script's nanoseconds):
    /// never by length (the script's names end in its pid, of any length).
    static func order(_ a: String, _ b: String) -> Bool {
        func key(_ s: String) -> Int64 { Int64(s.prefix { $0 != "." }) ?? 0 }
        return (key(a), a) < (key(b), b)
    }

    /// Waits for the `count`-th message and returns it.
    static func wait(_ read: () -> [String], count: Int, timeout: Double = 20, what: String) throws -> String {
        var got: [String] = []
        try waitFor("\(count) message(s) \(what)", timeout: timeout) {
            got = read()
            return got.count >= count
        }
        return got[count - 1]
    }

    /// Waits for the newest message to `to` with `subject` (a transport may deliver a message twice
    /// when an attempt outlived its deadline: never pick mail by its position).
    static func wait(_ read: () -> [String], to: String, subject: String, after skipped: Int = 0, timeout: Double = 20) throws -> String {
        var found: String?
        try waitFor("a message to \(to) with subject '\(subject)'", timeout: timeout) {
            let matching = read().filter { header($0, "To") == to && header($0, "Subject") == subject }
            found = matching.count > skipped ? matching.last : nil
            return found != nil
        }
        return found!
    }

    /// The token of the link's fragment (`…/auth/<page>#token=<token>`).
    static func linkToken(_ message: String, page: String = "reset") -> String? {
        guard let m = message.firstMatch(of: try! Regex("/auth/\(page)#token=([A-Z2-7]{32})")) else { return nil }
        return m.output[1].substring.map(String.init)
    }

    /// The grouped code (`ABCD-EFGH-…`).
    static func code(_ message: String) -> String? {
        message.firstMatch(of: #/\b([A-Z2-7]{4}(?:-[A-Z2-7]{4}){7})\b/#).map { String($0.output.1) }
    }

    static func header(_ message: String, _ name: String) -> String? {
        for line in message.split(whereSeparator: \.isNewline) {
            if line.isEmpty { break }
            if line.lowercased().hasPrefix(name.lowercased() + ":") { return line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }
}

extension Stack {
    /// Every log file this stack wrote (nginx's access, error and timing logs, the responder's,
    /// the companion's, the demo upstream's), concatenated.
    func allLogs() -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: logDir)) ?? []
        return names.sorted().map { (try? String(contentsOfFile: logDir + "/" + $0, encoding: .utf8)) ?? "" }.joined(separator: "\n")
    }

    /// The outbox row of the newest message to `recipient`.
    func outboxRow(to recipient: String) throws -> OutboxMessage? {
        try database().outbox.recent(limit: 200).first { $0.recipient == recipient }
    }

    /// A metric's value from GET /api/v1/metrics through nginx (loopback may scrape).
    func metric(_ name: String) throws -> Int? {
        let text = try get("/api/v1/metrics", token: nil).text
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Int(line.split(separator: " ")[1])
        }
        return nil
    }
}
