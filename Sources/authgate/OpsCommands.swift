import AuthCore
import AuthCrypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Operating commands: `config`, `backup`, `restore` (and `doctor`, DoctorCommand.swift).
enum OpsCommands {
    static let commands = [
        Command(words: ["config"], synopsis: "config                                   (effective configuration and where each value comes from)", run: config),
        Command(words: ["backup"], options: ["to"], synopsis: "backup --to FILE                         (online, consistent while the responder writes)", run: backup),
        Command(words: ["restore"], options: ["from"], flags: ["force"],
                synopsis: "restore --from FILE [--force]            (stop authgate and authgate-ws first)", run: restore),
    ] + DoctorCommand.commands + MigrateCommand.commands

    /// Keys whose values are never printed.
    static func isSecret(_ key: String) -> Bool {
        !key.hasSuffix("_FILE") && ["SECRET", "PASSWORD", "TOKEN"].contains { key.contains($0) }
    }

    static func config(_ ctx: Context) throws {
        let effective: EffectiveConfig
        do { effective = try EffectiveConfig(environment: ctx.environment) } catch { throw CLIError.failure("\(error)") }
        let s = ctx.settings
        // Resolved values of the computed defaults, so the output says what is in force.
        let resolved: [String: String] = [
            "AUTH_AUDIENCE": s.audience, "AUTH_JWT_TTL_SECONDS": String(s.jwtTTL),
            "AUTH_HASH_CONCURRENCY": String(s.hashConcurrency), "AUTH_DB_PATH": s.dbPath, "AUTH_KEYS_FILE": s.keysFile,
            "AUTH_SECRETS_FILE": s.secretsFile,
            "AUTH_SOCKET": s.socketPath, "AUTH_WS_SOCKET": s.wsSocketPath,
        ]
        var rows: [(String, String, String)] = []
        for key in ConfigFile.keys {
            let source = effective.source(key.name)
            var value = effective.merged[key.name].flatMap { $0.isEmpty ? nil : $0 } ?? resolved[key.name] ?? key.fallback
            if isSecret(key.name) && source != .defaultValue { value = "(set, not shown)" }
            if key.name == "AUTH_DB_URL" || key.name == "AUTH_DB_LISTEN_URL" { value = PostgresURL.redacted(value) }
            var where_ = source.rawValue
            if source == .file, let f = effective.file, let line = f.entries[key.name]?.line { where_ = "\(f.path):\(line)" }
            rows.append((key.name, value, where_))
        }
        if ctx.json {
            Output.json(.object([
                ("config_file", effective.file.map { .string($0.path) } ?? .null),
                ("values", .array(rows.map { .object([("key", .string($0.0)), ("value", .string($0.1)), ("source", .string($0.2))]) })),
            ]))
        } else {
            Output.line("# config file: \(effective.file?.path ?? "none (\(ConfigFile.defaultPath) absent; AUTH_CONFIG unset)")")
            for r in rows { Output.line("\(r.0)=\(r.1)    # \(r.2)") }
        }
    }

    /// backup and restore copy the SQLite file; a PostgreSQL store has its own tools.
    static func refuseOnPostgres(_ ctx: Context, _ what: String) throws {
        guard ctx.settings.usesPostgres else { return }
        throw CLIError.failure("\(what) copies the SQLite file; the store is PostgreSQL (\(ctx.settings.dbDescription)): "
            + (what == "backup" ? "use pg_dump --format=custom" : "use pg_restore into an empty database, then authgate init"))
    }

    static func backup(_ ctx: Context) throws {
        let to = try ctx.args.required("to")
        try refuseOnPostgres(ctx, "backup")
        guard FileManager.default.fileExists(atPath: ctx.settings.dbPath) else {
            throw CLIError.failure("no database at \(ctx.settings.dbPath)")
        }
        let result: Backup.Result
        do { result = try Backup.backup(source: ctx.settings.dbPath, to: to) } catch { throw CLIError.failure("backup failed: \(error)") }
        if ctx.json {
            Output.json(.object([("file", .string(to)), ("pages", .int(Int64(result.pages))), ("integrity", .string(result.integrity))]))
        } else {
            Output.line("backup of \(ctx.settings.dbPath) written to \(to) (\(result.pages) pages, integrity_check \(result.integrity))")
        }
    }

    static func restore(_ ctx: Context) throws {
        let from = try ctx.args.required("from")
        try refuseOnPostgres(ctx, "restore")
        let target = ctx.settings.dbPath
        let holders = processesHolding(target)
        if !holders.isEmpty && !ctx.args.has("force") {
            throw CLIError.failure("refusing to restore: \(target) is open in process(es) \(holders.map(String.init).joined(separator: ", ")) "
                + "(stop them first: systemctl stop authgate authgate-ws authgate.socket authgate-ws.socket)")
        }
        var st = stat()
        let hadOwner = stat(target, &st) == 0 ? (st.st_uid, st.st_gid) : nil
        let revived = sessionsRevived(current: target, backup: from)
        let result: Backup.Result
        do { result = try Backup.restore(from: from, to: target) } catch { throw CLIError.failure("restore failed: \(error)") }
        if let (uid, gid) = hadOwner, geteuid() == 0 {
            for suffix in ["", "-wal", "-shm"] { _ = chown(target + suffix, uid, gid) }
        }
        Output.line("restored \(target) from \(from) (\(result.pages) pages, integrity_check \(result.integrity))")
        // The backup knows nothing of what happened after it: logouts, password changes and
        // revocations made since are undone, and those sessions' refresh tokens work again.
        let count = revived.map { "\($0) session(s) revoked or ended since the backup are" } ?? "sessions revoked since the backup may be"
        Output.error("warning: \(count) live again (with their refresh tokens), and accounts changed since are as they were. "
                     + "To cut them all: authgate session revoke --all (everyone signs in again), or authgate keys rotate "
                     + "then authgate keys retire OLD_KID (every token of the old key dies)")
    }

    /// Sessions not revoked in the backup that the current database revoked or no longer has;
    /// nil when either cannot be read.
    static func sessionsRevived(current: String, backup: String) -> Int? {
        guard FileManager.default.fileExists(atPath: current),
              let now = try? Database(path: current).sessions.unrevokedIDs(),
              let then = try? Database(path: backup).sessions.unrevokedIDs() else { return nil }
        return then.subtracting(now).count
    }

    /// Pids (other than ours) with the database, its -wal or -shm open (from /proc: complete as root).
    static func processesHolding(_ path: String) -> [Int32] {
        let real = (path as NSString).resolvingSymlinksInPath
        let names = Set([real, real + "-wal", real + "-shm"])
        var pids: [Int32] = []
        let me = getpid()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != me else { continue }
            let dir = "/proc/\(entry)/fd"
            for fd in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/" + fd), names.contains(target) {
                    pids.append(pid)
                    break
                }
            }
        }
        return pids
    }
}

/// `authgate migrate --from-sqlite PATH` (AUTH_DB_URL names the empty PostgreSQL target).
enum MigrateCommand {
    static let commands = [
        Command(words: ["migrate"], options: ["from-sqlite"],
                synopsis: "migrate --from-sqlite PATH                (copy a SQLite database into the empty PostgreSQL one AUTH_DB_URL names)",
                run: run),
    ]

    static func run(_ ctx: Context) throws {
        let path = try ctx.args.required("from-sqlite")
        guard ctx.settings.usesPostgres else {
            throw CLIError.failure("migrate --from-sqlite needs AUTH_DB_URL (or --db postgresql://...) naming the PostgreSQL target")
        }
        let counts: [(table: String, rows: Int)]
        do {
            counts = try StoreMigration.copy(fromSQLite: path, to: try ctx.db()) { line in
                if !ctx.json { Output.errorLine("migrate: \(line)") }
            }
        } catch let error as CLIError { throw error } catch { throw CLIError.failure("migrate failed, nothing copied: \(error)") }
        try ctx.audit("migrated_from_sqlite", tenantID: nil, detail: counts.map { "\($0.table)=\($0.rows)" }.joined(separator: " "))
        if ctx.json {
            Output.json(.object([("source", .string(path)), ("target", .string(ctx.settings.dbDescription)),
                                 ("rows", .object(counts.map { ($0.table, JSON.int(Int64($0.rows))) }))]))
        } else {
            Output.line("copied \(path) into \(ctx.settings.dbDescription): " + counts.map { "\($0.table) \($0.rows)" }.joined(separator: ", "))
        }
    }
}
