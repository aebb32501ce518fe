import AuthCore
import AuthCrypto

/// `keys rotate|list`: the JWT signing key ring. Secrets are never printed.
enum KeysCommands {
    static let commands = [
        Command(words: ["keys", "rotate"], synopsis: "keys rotate", run: rotate),
        Command(words: ["keys", "list"], synopsis: "keys list", run: list),
    ]

    static func rotate(_ ctx: Context) throws {
        let path = ctx.settings.keysFile
        try InitCommand.makeParentDirectory(of: path)
        _ = try ctx.db()   // open first: a rotation must not happen without its audit row
        let kid: String
        do { kid = try KeyRing.rotate(path: path) } catch {
            throw CLIError.failure("cannot rotate the key ring \(path): \(error)")
        }
        try ctx.audit("signing_key_rotated", tenantID: nil, detail: "kid \(kid)")
        if ctx.json {
            Output.json(.object([("kid", .string(kid)), ("keys_file", .string(path))]))
        } else {
            Output.line(kid)
        }
    }

    static func list(_ ctx: Context) throws {
        let path = ctx.settings.keysFile
        let ring: KeyRing
        do { ring = try KeyRing.load(path: path) } catch {
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
