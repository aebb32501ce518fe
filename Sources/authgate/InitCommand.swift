import AuthCore
import AuthCrypto
import Foundation

/// `authgate init`: idempotent set-up of the database, the platform tenant and the key ring.
enum InitCommand {
    static let commands = [
        Command(words: ["init"], options: ["owner"],
                synopsis: "init [--owner USER]   (as root: files go to USER, default the owner of the database's directory)", run: run),
    ]

    static func run(_ ctx: Context) throws {
        if !ctx.settings.usesPostgres { try makeParentDirectory(of: ctx.settings.dbPath) }
        let db = try ctx.db()
        var created: [String] = []

        guard let platformDomain = Validation.normalizedDomain(ctx.settings.platformDomain) else {
            throw CLIError.failure("AUTH_PLATFORM_DOMAIN is not a valid domain: '\(ctx.settings.platformDomain)'")
        }
        // Check and create under the write lock, so racing `init`s agree on one platform tenant.
        let (platform, isNew) = try db.transaction { () throws -> (Tenant, Bool) in
            try db.serialize(on: 0x6175_7468_696e_6974)   // "authinit": PostgreSQL hosts too
            if let existing = try db.tenants.platform() { return (existing, false) }
            if try db.tenants.byDomain(platformDomain) != nil {
                throw CLIError.failure("domain \(platformDomain) belongs to a tenant that is not the platform tenant")
            }
            let tenant = try db.tenants.create(name: "Platform", domain: platformDomain, isPlatform: true, now: Time.now())
            try ctx.audit("tenant_created", tenantID: tenant.id, detail: "platform \(tenant.domain)")
            return (tenant, true)
        }
        if isNew { created.append("platform tenant \(platform.domain)") }

        let keysPath = ctx.settings.keysFile
        var kid: String?
        if !FileManager.default.fileExists(atPath: keysPath) {
            try makeParentDirectory(of: keysPath)
            kid = try KeyRing.rotate(path: keysPath)
            try ctx.audit("signing_key_rotated", tenantID: nil, detail: "kid \(kid!) (init)")
            created.append("key ring \(keysPath)")
        } else {
            _ = try KeyRing.load(path: keysPath)   // refuse to call it ready when the ring is invalid
        }
        // The secrets file (AUTH_SECRETS_FILE): the AES-256-GCM key that seals TOTP seeds at rest.
        let secretsPath = ctx.settings.secretsFile
        if !FileManager.default.fileExists(atPath: secretsPath) {
            try makeParentDirectory(of: secretsPath)
            let secretKid = try KeyRing.rotate(path: secretsPath)
            try ctx.audit("secrets_key_rotated", tenantID: nil, detail: "kid \(secretKid) (init)")
            created.append("secrets file \(secretsPath)")
        } else {
            _ = try KeyRing.load(path: secretsPath)
        }
        if created.isEmpty == false { try ctx.audit("init", tenantID: nil, detail: created.joined(separator: ", ")) }
        let owner = try fileOwner(ctx)
        if let owner {
            let dbFiles = ctx.settings.usesPostgres ? [] : [ctx.settings.dbPath, ctx.settings.dbPath + "-wal", ctx.settings.dbPath + "-shm"]
            for path in dbFiles + [keysPath, keysPath + ".lock", secretsPath, secretsPath + ".lock"]
            where FileManager.default.fileExists(atPath: path) {
                guard chown(path, owner.uid, owner.gid) == 0 else {
                    throw CLIError.failure("chown \(owner.name) \(path): \(String(cString: strerror(errno)))")
                }
            }
        }

        if ctx.json {
            Output.json(.object([
                ("database", .string(ctx.settings.dbDescription)),
                ("keys_file", .string(keysPath)),
                ("secrets_file", .string(secretsPath)),
                ("platform_tenant_id", .string(platform.id)),
                ("platform_domain", .string(platform.domain)),
                ("created", .array(created.map { .string($0) })),
            ]))
        } else {
            Output.line(created.isEmpty ? "already initialized: \(ctx.settings.dbDescription)"
                                        : "initialized: " + created.joined(separator: ", "))
        }
    }

    /// Who must own the database and key ring: `--owner USER`, or (as root) the owner of the
    /// database's directory when that is not root (e.g. /var/lib/authgate made by systemd's
    /// StateDirectory= for the `authgate` user), so the service can read what root created.
    static func fileOwner(_ ctx: Context) throws -> (uid: uid_t, gid: gid_t, name: String)? {
        if let name = ctx.args.optional("owner") {
            guard let pw = getpwnam(name) else { throw CLIError.failure("--owner: no user '\(Output.oneLine(name))'") }
            guard geteuid() == 0 || pw.pointee.pw_uid == geteuid() else {
                throw CLIError.failure("--owner \(name) needs root (the files cannot be given to another user)")
            }
            return (pw.pointee.pw_uid, pw.pointee.pw_gid, name)
        }
        guard geteuid() == 0 else { return nil }
        var st = stat()
        let dir = ((ctx.settings.usesPostgres ? ctx.settings.keysFile : ctx.settings.dbPath) as NSString).deletingLastPathComponent
        guard stat(dir.isEmpty ? "." : dir, &st) == 0, st.st_uid != 0, let pw = getpwuid(st.st_uid) else { return nil }
        return (st.st_uid, pw.pointee.pw_gid, String(cString: pw.pointee.pw_name))
    }

    /// Creates a missing parent directory (0700) so `init` works on a fresh checkout.
    static func makeParentDirectory(of path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        guard !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) else { return }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw CLIError.failure("cannot create directory \(dir): \(error.localizedDescription)")
        }
    }
}
