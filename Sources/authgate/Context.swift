import AuthCore
import AuthCrypto
import Foundation

/// What a command runs with: its parsed arguments, the settings and (opened on first use)
/// the database, migrated so every command works on a fresh or older file.
final class Context {
    let args: Arguments
    let settings: Settings
    /// The environment the settings were read from (plus --db / --config).
    let environment: [String: String]
    private var opened: Database?

    init(args: Arguments, settings: Settings, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.args = args
        self.settings = settings
        self.environment = environment
    }

    var json: Bool { args.has("json") }

    func db() throws -> Database {
        if let opened { return opened }
        var attempt = 0
        while true {
            do {
                let db = try Database(settings: settings)
                try db.migrate()
                opened = db
                return db
            } catch let error as StorageError where error.isBusy && attempt < 40 {
                // Opening a fresh file switches it to WAL, which can answer BUSY without
                // waiting on busy_timeout when another process (a racing `init`) does the same.
                attempt += 1
                usleep(50_000)
            } catch let error as StorageError where error.isOutage && error.failure != .cantopen {
                // Full, failing or read-only: said as a storage outage (CLI.storageMessage), exit 75.
                // A file that cannot be opened at all is most often a wrong path: said as below.
                throw error
            } catch {
                throw CLIError.failure("cannot open database \(settings.dbDescription): \(error)")
            }
        }
    }

    /// A change and its audit row as one write transaction (`BEGIN IMMEDIATE`): a failure
    /// anywhere in `body` (a busy database, the audit insert) leaves nothing half done.
    func atomically<T>(_ body: (Database) throws -> T) throws -> T {
        let db = try db()
        return try db.transaction { try body(db) }
    }

    /// Every mutating command leaves a trace; the actor is always "cli".
    func audit(_ event: String, tenantID: String?, detail: String? = nil) throws {
        try db().audit.record(event, tenantID: tenantID, actor: "cli", ip: nil, detail: detail, at: Time.now())
    }

    /// The tenant named by `--tenant DOMAIN`.
    func tenant(_ option: String = "tenant") throws -> Tenant {
        let raw = try args.required(option)
        guard let domain = Validation.normalizedDomain(raw) else {
            throw CLIError.failure("invalid tenant domain '\(Output.oneLine(raw))'")
        }
        guard let tenant = try db().tenants.byDomain(domain) else {
            throw CLIError.failure("no tenant with domain \(domain)")
        }
        return tenant
    }

    /// The user named by `--tenant DOMAIN --email EMAIL`.
    func user() throws -> (Tenant, User) {
        let tenant = try tenant()
        let email = try validEmail()
        guard let user = try db().users.byEmail(tenantID: tenant.id, email: email) else {
            throw CLIError.failure("no user \(email) in tenant \(tenant.domain)")
        }
        return (tenant, user)
    }

    func validEmail() throws -> String {
        let raw = try args.required("email")
        guard let email = Validation.normalizedEmail(raw) else {
            throw CLIError.failure("invalid email address (control characters, spaces or no '@')")
        }
        return email
    }

    func validName(_ option: String = "name") throws -> String {
        let raw = try args.required(option)
        guard let name = Validation.name(raw) else {
            throw CLIError.failure("invalid --\(option): empty, too long or holding control characters")
        }
        return name
    }

    /// One line from stdin, without its line ending.
    func passwordFromStdin() throws -> String {
        guard let line = readLine(strippingNewline: true) else {
            throw CLIError.failure("--password-stdin: no password on stdin")
        }
        let password = line.hasSuffix("\r") ? String(line.dropLast()) : line
        guard !password.isEmpty else { throw CLIError.failure("--password-stdin: empty password") }
        return password
    }

    func scrypt() throws -> ScryptParameters {
        guard let params = ScryptParameters(settings.scrypt) else {
            throw CLIError.failure("AUTH_SCRYPT is not valid: '\(settings.scrypt)'")
        }
        return params
    }

    /// Hashes with the configured parameters, saying so on stderr when that is slow.
    func hash(_ password: String) throws -> String {
        let params = try scrypt()
        if params.ln > 15 { Output.progress("hashing password (\(params))...") }
        return try PasswordHash.make(password: password, parameters: params)
    }

    /// Checks the password policy of every new password.
    func checkPolicy(_ password: String, email: String) throws {
        if let problem = Validation.passwordProblem(password, email: email, current: nil,
                                                    minLength: settings.minPasswordLength) {
            throw CLIError.failure("weak password: \(problem)")
        }
    }
}

/// Timestamps in human output.
func timeText(_ t: Int64?) -> String { t.map(Time.rfc3339) ?? "-" }
