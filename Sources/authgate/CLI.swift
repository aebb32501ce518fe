import AuthCore
import Foundation

/// One CLI command: its words, the options it accepts and what it does.
struct Command: Sendable {
    var words: [String]
    var options: Set<String> = []
    var flags: Set<String> = []
    /// The name of one required positional argument (e.g. `keys retire KID`), read as an option.
    var positional: String? = nil
    var synopsis: String
    var run: @Sendable (Context) throws -> Void
}

enum CLI {
    static let commands: [Command] =
        InitCommand.commands + TenantCommands.commands + UserCommands.commands
        + SessionCommands.commands + KeysCommands.commands + ProjectCommands.commands
        + APIKeyCommands.commands + NodeCommands.commands + AuditCommands.commands
        + OpsCommands.commands + MFACommands.commands + MailCommands.commands

    /// Runs one command line; returns the process exit status.
    static func run(_ original: [String]) -> Int32 {
        // Global options may come before the command too: move them behind its words.
        let argv: [String]
        switch GlobalOptions.normalize(original) {
        case let .run(normalized): argv = normalized
        case let .exit(status): return status
        }
        if argv.isEmpty || argv == ["--help"] || argv == ["-h"] || argv == ["help"] {
            if argv.isEmpty {
                Output.error("missing command")
                Output.errorLine(usage)
                return 2
            }
            Output.line(usage)
            return 0
        }
        // The longest run of leading words that names a command.
        let words = argv.prefix { !$0.hasPrefix("-") }
        guard let command = commands
            .filter({ words.starts(with: $0.words) })
            .max(by: { $0.words.count < $1.words.count })
        else {
            let group = commands.filter { $0.words.starts(with: words) }
            if argv.contains("--help"), !words.isEmpty, !group.isEmpty {
                Output.line(group.map { "usage: authgate " + $0.synopsis }.joined(separator: "\n"))
                return 0
            }
            Output.error("unknown command '\(words.joined(separator: " "))'")
            Output.errorLine(usage)
            return 2
        }
        do {
            let rest = Array(argv.dropFirst(command.words.count))
            let args = try Arguments.parse(rest, options: command.options, flags: command.flags,
                                           positional: command.positional)
            if args.has("help") {
                Output.line("usage: authgate \(command.synopsis)")
                return 0
            }
            var env = ProcessInfo.processInfo.environment
            if let db = args.optional("db") {
                // --db takes a SQLite path or a PostgreSQL URL.
                if PostgresURL.isPostgres(db) { env["AUTH_DB_URL"] = db } else { env["AUTH_DB_PATH"] = db; env["AUTH_DB_URL"] = "" }
                if PostgresURL.isPostgres(db), PostgresURL.hasPassword(db) {
                    Output.error("warning: --db carries a password, which every local user can read in /proc/\(getpid())/cmdline "
                                 + "while this runs (and which lands in shell history): put it in ~/.pgpass, or pass the URL "
                                 + "as AUTH_DB_URL in the environment")
                }
            }
            if let config = args.optional("config") { env["AUTH_CONFIG"] = config }
            let settings: Settings
            do { settings = try Settings.load(environment: env) } catch { throw CLIError.failure("\(error)") }
            try command.run(Context(args: args, settings: settings, environment: env))
            return 0
        } catch let error as CLIError {
            Output.error(error.message)
            if case .usage = error { Output.errorLine("usage: authgate \(command.synopsis)") }
            return error.exitCode
        } catch let error as StorageError where error.isOutage {
            // A full disk, an I/O error, a read-only file system: said plainly, exit 75
            // (EX_TEMPFAIL: retry once the storage is fixed). Every write is one transaction.
            Output.error(CLI.storageMessage(error))
            return 75
        } catch {
            Output.error(Output.oneLine("\(error)"))
            return 1
        }
    }

    static func storageMessage(_ error: StorageError) -> String {
        let what: String
        switch error.failure {
        case .full: what = "the database's storage is full"
        case .readonly: what = "the database is read-only (a read-only file system or file, or a read-only PostgreSQL server)"
        case .cantopen: what = "a database file cannot be opened"
        case .nomem: what = "the database ran out of memory"
        default: what = "the database's storage is failing (I/O error)"
        }
        return "storage unavailable: \(what); the command stopped (each of its writes is one transaction: none is half done). Free space or fix the storage, then run it again. ("
            + Output.oneLine("\(error)") + ")"
    }

    static var usage: String {
        var lines = ["usage: authgate <command> [options]   (global, before or after the command: --db PATH, --config FILE, --json, --help; authgate help COMMAND; authgate --version)", "commands:"]
        for command in commands { lines.append("  " + command.synopsis) }
        return lines.joined(separator: "\n")
    }
}
