import AuthCore
import AuthCrypto

/// `user mfa list|reset` (a user's second factors; reset removes them all and revokes every
/// session, audited) and `secrets rotate|list|rewrap|retire` (AUTH_SECRETS_FILE, the key that
/// seals TOTP seeds at rest). Secrets are never printed.
enum MFACommands {
    static let commands = [
        Command(words: ["user", "mfa", "list"], options: ["tenant", "email"],
                synopsis: "user mfa list --tenant D --email E", run: list),
        Command(words: ["user", "mfa", "reset"], options: ["tenant", "email"],
                synopsis: "user mfa reset --tenant D --email E   (removes every factor, passkey and recovery code, revokes every session)",
                run: reset),
        Command(words: ["secrets", "rotate"], synopsis: "secrets rotate   (appends a key to AUTH_SECRETS_FILE: it seals new TOTP seeds)",
                run: rotate),
        Command(words: ["secrets", "list"], synopsis: "secrets list", run: listKeys),
        Command(words: ["secrets", "rewrap"], synopsis: "secrets rewrap   (re-seals every TOTP seed under the newest key)",
                run: rewrap),
        Command(words: ["secrets", "retire"], positional: "kid", synopsis: "secrets retire KID   (after rewrap)", run: retire),
    ]

    static func list(_ ctx: Context) throws {
        let (_, user) = try ctx.user()
        let factors = try ctx.db().mfa.factors(userID: user.id)
        let left = try ctx.db().mfa.remainingRecoveryCodes(userID: user.id)
        // Passkeys (issue 22): kind `webauthn`, with their name.
        let passkeys = try ctx.db().webauthn.credentials(userID: user.id)
        func status(_ f: MFAFactor) -> String { f.isActive ? "active" : "pending" }
        if ctx.json {
            Output.json(.object([
                ("factors", .array(factors.map { f in
                    .object([("id", .string(f.id)), ("kind", .string(f.kind)), ("status", .string(status(f))),
                             ("created_at", .string(Time.rfc3339(f.createdAt))),
                             ("last_used_at", f.lastUsedAt.map { .string(Time.rfc3339($0)) } ?? .null)])
                } + passkeys.map { c in
                    .object([("id", .string(c.id)), ("kind", .string("webauthn")), ("status", .string("active")),
                             ("name", .string(c.name)), ("backup_eligible", .bool(c.backupEligible)),
                             ("created_at", .string(Time.rfc3339(c.createdAt))),
                             ("last_used_at", c.lastUsedAt.map { .string(Time.rfc3339($0)) } ?? .null)])
                })),
                ("recovery_codes_remaining", .int(Int64(left))),
            ]))
        } else {
            Output.table(["ID", "KIND", "STATUS", "CREATED", "LAST_USED", "NAME"], factors.map {
                [$0.id, $0.kind, status($0), Time.rfc3339($0.createdAt), $0.lastUsedAt.map(Time.rfc3339) ?? "-", "-"]
            } + passkeys.map {
                [$0.id, "webauthn", "active", Time.rfc3339($0.createdAt), $0.lastUsedAt.map(Time.rfc3339) ?? "-", Output.oneLine($0.name)]
            })
            Output.line("recovery codes remaining: \(left)")
        }
    }

    static func reset(_ ctx: Context) throws {
        let (tenant, user) = try ctx.user()
        let now = Time.now()
        let (factors, revoked) = try ctx.atomically { db in
            let factors = try db.mfa.deleteAll(userID: user.id)
            let revoked = try db.sessions.revokeAll(userID: user.id, reason: "mfa_reset", now: now, except: nil)
            try ctx.audit("mfa_reset", tenantID: tenant.id,
                          detail: "\(user.id) \(user.email); \(factors) factor(s) removed, \(revoked) session(s) revoked")
            return (factors, revoked)
        }
        if ctx.json {
            Output.json(.object([("id", .string(user.id)), ("email", .string(user.email)),
                                 ("factors_removed", .int(Int64(factors))), ("sessions_revoked", .int(Int64(revoked)))]))
        } else {
            Output.line("second factor reset for \(user.email): \(factors) factor(s) removed, \(revoked) session(s) revoked")
        }
    }

    static func rotate(_ ctx: Context) throws {
        let path = ctx.settings.secretsFile
        try InitCommand.makeParentDirectory(of: path)
        let kid: String = try ctx.atomically { _ in
            let kid: String
            do { kid = try KeyRing.rotate(path: path) } catch {
                throw CLIError.failure("cannot rotate the secrets file \(path): \(error)")
            }
            try ctx.audit("secrets_key_rotated", tenantID: nil, detail: "kid \(kid)")
            return kid
        }
        if ctx.json {
            Output.json(.object([("kid", .string(kid)), ("secrets_file", .string(path))]))
        } else {
            Output.line(kid)
        }
    }

    static func loadRing(_ ctx: Context) throws -> KeyRing {
        do { return try KeyRing.load(path: ctx.settings.secretsFile) } catch {
            throw CLIError.failure("cannot load the secrets file \(ctx.settings.secretsFile) (AUTH_SECRETS_FILE): \(error)")
        }
    }

    static func listKeys(_ ctx: Context) throws {
        let ring = try loadRing(ctx)
        let last = ring.keys.count - 1
        if ctx.json {
            Output.json(.array(ring.keys.enumerated().map { i, key in
                .object([("kid", .string(key.kid)), ("sealing", .bool(i == last))])
            }))
        } else {
            Output.table(["KID", "SEALING"], ring.keys.enumerated().map { i, key in [key.kid, i == last ? "yes" : "no"] })
        }
    }

    /// Re-seals every factor's seed under the newest key (after `secrets rotate`), so the old key
    /// can be retired. A seed that no key opens is reported and left as it is (exit 1).
    static func rewrap(_ ctx: Context) throws {
        let ring = try loadRing(ctx)
        var unopened: [String] = []
        let changed = try ctx.atomically { db in
            let n = try db.mfa.resealAll { f in
                guard SecretBox.kid(of: f.secret) != ring.signing.kid else { return nil }
                var secret: [UInt8]
                do { secret = try SecretBox.open(f.secret, context: f.id, ring: ring) } catch {
                    unopened.append(f.id)
                    return nil
                }
                defer { Crypto.wipe(&secret) }
                return SecretBox.seal(secret, context: f.id, ring: ring)
            }
            try ctx.audit("secrets_rewrapped", tenantID: nil, detail: "\(n) factor(s) under kid \(ring.signing.kid)")
            return n
        }
        if ctx.json {
            Output.json(.object([("rewrapped", .int(Int64(changed))), ("kid", .string(ring.signing.kid)),
                                 ("unopened", .array(unopened.map { .string($0) }))]))
        } else {
            Output.line("\(changed) factor(s) re-sealed under \(ring.signing.kid)")
        }
        if !unopened.isEmpty {
            throw CLIError.failure("\(unopened.count) factor(s) open with no key of the secrets file: \(unopened.joined(separator: " "))")
        }
    }

    /// Refuses a kid that still seals a factor (run `secrets rewrap` first) and the sealing key.
    static func retire(_ ctx: Context) throws {
        guard let kid = ctx.args.optional("kid") else { throw CLIError.usage("missing KID (the kid column of secrets list)") }
        let path = ctx.settings.secretsFile
        let inUse = try ctx.db().mfa.sealingKids()
        if inUse.contains(kid) {
            throw CLIError.failure("kid \(Output.oneLine(kid)) still seals factors: run `authgate secrets rewrap` first")
        }
        try ctx.atomically { _ in
            try ctx.audit("secrets_key_retired", tenantID: nil, detail: "kid \(Output.oneLine(kid))")
            do { try KeyRing.retire(path: path, kid: kid) } catch {
                throw CLIError.failure(Output.oneLine("\(error)"))
            }
        }
        if ctx.json {
            Output.json(.object([("retired", .string(kid)), ("secrets_file", .string(path))]))
        } else {
            Output.line("retired \(kid)")
        }
    }
}
