import AuthCore
import AuthCrypto

/// `apikey create|list|revoke`: project-scoped `2s_live_…` keys, shown once at creation.
enum APIKeyCommands {
    static let commands = [
        Command(words: ["apikey", "create"], options: ["project", "name"],
                synopsis: "apikey create --project ID [--name N]", run: create),
        Command(words: ["apikey", "list"], options: ["project"], synopsis: "apikey list --project ID", run: list),
        Command(words: ["apikey", "revoke"], options: ["id"], synopsis: "apikey revoke --id ID", run: revoke),
    ]

    static func create(_ ctx: Context) throws {
        let project = try projectArgument(ctx)
        let name = ctx.args.optional("name") == nil ? "default" : try ctx.validName()
        let key = CredentialKeys.newAPIKey()
        let apiKey = try ctx.atomically { db in
            let apiKey = try db.apiKeys.create(projectID: project.id, name: name, prefix: key.prefix,
                                               keyHash: key.digest, now: Time.now())
            try ctx.audit("api_key_created", tenantID: project.tenantID, detail: "\(apiKey.id) \(key.prefix) project \(project.id)")
            return apiKey
        }
        if ctx.json {
            Output.json(.object([
                ("id", .string(apiKey.id)), ("key", .string(key.raw)), ("prefix", .string(key.prefix)),
                ("name", .string(name)), ("project_id", .string(project.id)), ("created_at", .int(apiKey.createdAt)),
            ]))
        } else {
            Output.line(apiKey.id)
            Output.line(key.raw)
        }
    }

    static func list(_ ctx: Context) throws {
        let project = try projectArgument(ctx)
        let keys = try ctx.db().apiKeys.list(projectID: project.id)
        if ctx.json {
            Output.json(.array(keys.map(json)))
        } else {
            Output.table(["ID", "PREFIX", "NAME", "CREATED", "LAST_USED", "REVOKED"], keys.map {
                [$0.id, $0.prefix, $0.name, timeText($0.createdAt), timeText($0.lastUsedAt), timeText($0.revokedAt)]
            })
        }
    }

    static func revoke(_ ctx: Context) throws {
        let id = try ctx.args.required("id").lowercased()
        try ctx.atomically { db in
            guard let key = try db.apiKeys.byID(id) else { throw CLIError.failure("no API key \(id)") }
            guard key.revokedAt == nil else { throw CLIError.failure("API key \(id) is already revoked") }
            try db.apiKeys.revoke(id: id, now: Time.now())
            try ctx.audit("api_key_revoked", tenantID: key.tenantID, detail: "\(id) \(key.prefix)")
        }
        if ctx.json {
            Output.json(.object([("id", .string(id)), ("revoked", .bool(true))]))
        } else {
            Output.line("revoked API key \(id)")
        }
    }

    static func projectArgument(_ ctx: Context) throws -> Project {
        let id = try ctx.args.required("project").lowercased()
        guard let project = try ctx.db().projects.byID(id) else { throw CLIError.failure("no project \(id)") }
        return project
    }

    static func json(_ k: APIKey) -> JSON {
        .object([
            ("id", .string(k.id)), ("prefix", .string(k.prefix)), ("name", .string(k.name)),
            ("project_id", .string(k.projectID)), ("created_at", .int(k.createdAt)),
            ("last_used_at", .opt(k.lastUsedAt)), ("revoked_at", .opt(k.revokedAt)),
        ])
    }
}
