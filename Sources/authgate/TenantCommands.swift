import AuthCore
import AuthCrypto

/// `tenant create|list`.
enum TenantCommands {
    static let commands = [
        Command(words: ["tenant", "create"], options: ["name", "domain"],
                synopsis: "tenant create --name N --domain D", run: create),
        Command(words: ["tenant", "list"], synopsis: "tenant list", run: list),
    ]

    static func create(_ ctx: Context) throws {
        let name = try ctx.validName()
        let raw = try ctx.args.required("domain")
        guard let domain = Validation.normalizedDomain(raw) else {
            throw CLIError.failure("invalid domain '\(Output.oneLine(raw))' (letters, digits, dots, hyphens)")
        }
        let tenant = try ctx.atomically { db in
            if try db.tenants.byDomain(domain) != nil {
                throw CLIError.failure("a tenant with domain \(domain) already exists")
            }
            let tenant = try db.tenants.create(name: name, domain: domain, isPlatform: false, now: Time.now())
            try ctx.audit("tenant_created", tenantID: tenant.id, detail: domain)
            return tenant
        }
        if ctx.json { Output.json(json(tenant)) } else { Output.line(tenant.id) }
    }

    static func list(_ ctx: Context) throws {
        let tenants = try ctx.db().tenants.list()
        if ctx.json {
            Output.json(.array(tenants.map(json)))
        } else {
            Output.table(["ID", "DOMAIN", "NAME", "PLATFORM", "CREATED"], tenants.map {
                [$0.id, $0.domain, $0.name, $0.isPlatform ? "yes" : "no", timeText($0.createdAt)]
            })
        }
    }

    static func json(_ t: Tenant) -> JSON {
        .object([
            ("id", .string(t.id)), ("name", .string(t.name)), ("domain", .string(t.domain)),
            ("is_platform", .bool(t.isPlatform)), ("created_at", .int(t.createdAt)),
        ])
    }
}
