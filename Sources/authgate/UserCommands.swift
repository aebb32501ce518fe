import AuthCore
import AuthCrypto

/// `user create|list|disable|enable|unlock|delete|set-password|set-role`.
enum UserCommands {
    static let commands = [
        Command(words: ["user", "create"], options: ["tenant", "email", "role"],
                flags: ["password-stdin", "must-change-password"],
                synopsis: "user create --tenant D --email E --role R [--password-stdin] [--must-change-password]",
                run: create),
        Command(words: ["user", "list"], options: ["tenant"], synopsis: "user list --tenant D", run: list),
        Command(words: ["user", "disable"], options: ["tenant", "email"],
                synopsis: "user disable --tenant D --email E", run: disable),
        Command(words: ["user", "enable"], options: ["tenant", "email"],
                synopsis: "user enable --tenant D --email E", run: enable),
        Command(words: ["user", "unlock"], options: ["tenant", "email"],
                synopsis: "user unlock --tenant D --email E", run: unlock),
        Command(words: ["user", "delete"], options: ["tenant", "email"],
                synopsis: "user delete --tenant D --email E", run: delete),
        Command(words: ["user", "set-password"], options: ["tenant", "email"],
                flags: ["password-stdin", "must-change-password"],
                synopsis: "user set-password --tenant D --email E --password-stdin [--must-change-password]",
                run: setPassword),
        Command(words: ["user", "set-role"], options: ["tenant", "email", "role"],
                synopsis: "user set-role --tenant D --email E --role R", run: setRole),
    ]

    static func create(_ ctx: Context) throws {
        let tenant = try ctx.tenant()
        let email = try ctx.validEmail()
        let role = try validRole(ctx, in: tenant)
        let db = try ctx.db()
        if try db.users.byEmail(tenantID: tenant.id, email: email) != nil {
            throw CLIError.failure("a user with email \(email) already exists in tenant \(tenant.domain)")
        }
        let generated = !ctx.args.has("password-stdin")
        let password = generated ? generatePassword(minLength: ctx.settings.minPasswordLength) : try ctx.passwordFromStdin()
        try ctx.checkPolicy(password, email: email)
        let hash = try ctx.hash(password)
        let user: User
        do {
            user = try ctx.atomically { db in
                let user = try db.users.create(tenantID: tenant.id, email: email, passwordHash: hash, role: role,
                                               mustChangePassword: ctx.args.has("must-change-password"), now: Time.now())
                try ctx.audit("user_created", tenantID: tenant.id, detail: "\(user.id) \(email) \(role)")
                return user
            }
        } catch let error as StorageError where error.isConstraint {
            throw CLIError.failure("a user with email \(email) already exists in tenant \(tenant.domain)")
        }
        if ctx.json {
            var object: [(String, JSON)] = [("id", .string(user.id)), ("email", .string(email)),
                                            ("tenant_id", .string(tenant.id)), ("role", .string(role))]
            if generated { object.append(("password", .string(password))) }
            Output.json(.object(object))
        } else {
            Output.line(user.id)
            if generated { Output.line(password) }
        }
    }

    static func list(_ ctx: Context) throws {
        let tenant = try ctx.tenant()
        let users = try ctx.db().users.list(tenantID: tenant.id)
        let now = Time.now()
        if ctx.json {
            Output.json(.array(users.map { json($0, now: now) }))
        } else {
            Output.table(["ID", "EMAIL", "ROLE", "STATUS", "LOCKED", "MUST_CHANGE", "CREATED"], users.map {
                [$0.id, $0.email, $0.role, $0.status, isLocked($0, now: now) ? "yes" : "no",
                 $0.mustChangePassword ? "yes" : "no", timeText($0.createdAt)]
            })
        }
    }

    static func disable(_ ctx: Context) throws {
        let (tenant, user) = try ctx.user()
        let now = Time.now()
        let revoked = try ctx.atomically { db in
            try db.users.setStatus(userID: user.id, status: "disabled", now: now)
            let revoked = try db.sessions.revokeAll(userID: user.id, reason: "user_disabled", now: now, except: nil)
            try ctx.audit("user_disabled", tenantID: tenant.id, detail: "\(user.id) \(user.email); \(revoked) sessions revoked")
            return revoked
        }
        done(ctx, user, "disabled \(user.email); \(revoked) session(s) revoked", revoked: revoked)
    }

    static func enable(_ ctx: Context) throws {
        let (tenant, user) = try ctx.user()
        try ctx.atomically { db in
            try db.users.setStatus(userID: user.id, status: "active", now: Time.now())
            try ctx.audit("user_enabled", tenantID: tenant.id, detail: "\(user.id) \(user.email)")
        }
        done(ctx, user, "enabled \(user.email)")
    }

    static func unlock(_ ctx: Context) throws {
        let (tenant, user) = try ctx.user()
        try ctx.atomically { db in
            try db.users.unlock(userID: user.id)
            try ctx.audit("user_unlocked", tenantID: tenant.id, detail: "\(user.id) \(user.email)")
        }
        done(ctx, user, "unlocked \(user.email)")
    }

    static func delete(_ ctx: Context) throws {
        let (tenant, user) = try ctx.user()
        let now = Time.now()
        let revoked = try ctx.atomically { db in
            let n = try db.sessions.revokeAll(userID: user.id, reason: "user_deleted", now: now, except: nil)
            try db.users.delete(userID: user.id, now: now)
            try ctx.audit("user_deleted", tenantID: tenant.id, detail: "\(user.id) \(user.email); \(n) sessions revoked")
            return n
        }
        done(ctx, user, "deleted \(user.email); \(revoked) session(s) revoked", revoked: revoked)
    }

    static func setPassword(_ ctx: Context) throws {
        guard ctx.args.has("password-stdin") else { throw CLIError.usage("missing --password-stdin") }
        let (tenant, user) = try ctx.user()
        let password = try ctx.passwordFromStdin()
        try ctx.checkPolicy(password, email: user.email)
        let hash = try ctx.hash(password)
        let now = Time.now()
        let revoked = try ctx.atomically { db in
            try db.users.setPassword(userID: user.id, hash: hash, mustChange: ctx.args.has("must-change-password"), now: now)
            try db.users.unlock(userID: user.id)
            let n = try db.sessions.revokeAll(userID: user.id, reason: "password_set", now: now, except: nil)
            try ctx.audit("password_set", tenantID: tenant.id, detail: "\(user.id) \(user.email); \(n) sessions revoked")
            return n
        }
        done(ctx, user, "password set for \(user.email); \(revoked) session(s) revoked", revoked: revoked)
    }

    static func setRole(_ ctx: Context) throws {
        let (tenant, user) = try ctx.user()
        let role = try validRole(ctx, in: tenant)
        let now = Time.now()
        let revoked = try ctx.atomically { db in
            try db.users.setRole(userID: user.id, role: role, now: now)
            let n = try db.sessions.revokeAll(userID: user.id, reason: "role_changed", now: now, except: nil)
            try ctx.audit("role_changed", tenantID: tenant.id, detail: "\(user.id) \(user.email) \(user.role) -> \(role)")
            return n
        }
        done(ctx, user, "role of \(user.email) is now \(role); \(revoked) session(s) revoked", revoked: revoked)
    }

    // MARK: helpers

    static func validRole(_ ctx: Context, in tenant: Tenant) throws -> String {
        let role = try ctx.args.required("role")
        guard Validation.isRole(role) else {
            throw CLIError.failure("unknown role '\(Output.oneLine(role))' (one of \(Validation.roles.joined(separator: ", ")))")
        }
        if role == "platform_admin" && !tenant.isPlatform {
            throw CLIError.failure("platform_admin is only allowed in the platform tenant")
        }
        return role
    }

    /// A random password from the URL-safe alphabet, at least 24 characters and the policy's minimum.
    static func generatePassword(minLength: Int) -> String {
        let length = max(24, minLength)
        let raw = Base64URL.encode(Crypto.randomBytes((length * 3 + 3) / 4))
        return String(raw.prefix(length))
    }

    static func isLocked(_ user: User, now: Int64) -> Bool {
        if let until = user.lockedUntil { return until > now }
        return false
    }

    static func done(_ ctx: Context, _ user: User, _ message: String, revoked: Int? = nil) {
        if ctx.json {
            var object: [(String, JSON)] = [("id", .string(user.id)), ("email", .string(user.email))]
            if let revoked { object.append(("sessions_revoked", .int(Int64(revoked)))) }
            Output.json(.object(object))
        } else {
            Output.line(message)
        }
    }

    static func json(_ u: User, now: Int64) -> JSON {
        .object([
            ("id", .string(u.id)), ("tenant_id", .string(u.tenantID)), ("email", .string(u.email)),
            ("role", .string(u.role)), ("status", .string(u.status)),
            ("must_change_password", .bool(u.mustChangePassword)), ("failed_attempts", .int(Int64(u.failedAttempts))),
            ("locked", .bool(isLocked(u, now: now))), ("locked_until", .opt(u.lockedUntil)),
            ("created_at", .int(u.createdAt)), ("updated_at", .int(u.updatedAt)),
        ])
    }
}
