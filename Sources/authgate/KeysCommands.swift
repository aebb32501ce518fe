import AuthCore
import AuthCrypto

/// `keys rotate|retire|list`: the JWT signing key ring. Secrets are never printed.
enum KeysCommands {
    static let commands = [
        Command(words: ["keys", "rotate"], synopsis: "keys rotate", run: rotate),
        Command(words: ["keys", "retire"], positional: "kid", synopsis: "keys retire KID", run: retire),
        Command(words: ["keys", "list"], synopsis: "keys list", run: list),
    ]

    static func rotate(_ ctx: Context) throws {
        let path = ctx.settings.keysFile
        try InitCommand.makeParentDirectory(of: path)
        // Under the database's write lock, so the audit row cannot be refused as busy once the
        // file changed (a file and a row cannot share one transaction; this is the closest).
        let kid: String = try ctx.atomically { _ in
            let kid: String
            do { kid = try KeyRing.rotate(path: path) } catch let error as KeyRingError {
                throw CLIError.failure("cannot rotate: \(error)")
            } catch {
                throw CLIError.failure("cannot rotate the key ring \(path): \(error)")
            }
            try ctx.audit("signing_key_rotated", tenantID: nil, detail: "kid \(kid)")
            return kid
        }
        if ctx.json {
            Output.json(.object([("kid", .string(kid)), ("keys_file", .string(path))]))
        } else {
            Output.line(kid)
        }
    }

    /// Removes a verifying key (e.g. a leaked one): tokens it signed stop verifying within a
    /// second, and refresh tokens it protected stop refreshing. Never the signing key.
    static func retire(_ ctx: Context) throws {
        guard let kid = ctx.args.optional("kid") else { throw CLIError.usage("missing KID (the kid column of keys list)") }
        let path = ctx.settings.keysFile
        try ctx.atomically { _ in   // the audit row first, the file next, one commit (see rotate)
            try ctx.audit("signing_key_retired", tenantID: nil, detail: "kid \(Output.oneLine(kid))")
            do { try KeyRing.retire(path: path, kid: kid) } catch let error as KeyRingError {
                throw CLIError.failure(Output.oneLine(error.description))
            } catch {
                throw CLIError.failure("cannot retire kid \(Output.oneLine(kid)) from \(path): \(error)")
            }
        }
        if ctx.json {
            Output.json(.object([("retired", .string(kid)), ("keys_file", .string(path))]))
        } else {
            Output.line("retired \(kid)")
        }
    }

    static func list(_ ctx: Context) throws {
        let path = ctx.settings.keysFile
        let ring: KeyRing
        do { ring = try KeyRing.load(path: path) } catch let error as KeyRingError {
            throw CLIError.failure(error.description)
        } catch {
            throw CLIError.failure("cannot load the key ring \(path): \(error)")
        }
        let last = ring.keys.count - 1   // the last key signs, all verify
        if ctx.json {
            Output.json(.array(ring.keys.enumerated().map { i, key in
                .object([("kid", .string(key.kid)), ("signing", .bool(i == last))])
            }))
        } else {
            Output.table(["KID", "SIGNING"], ring.keys.enumerated().map { i, key in [key.kid, i == last ? "yes" : "no"] })
        }
    }
}
