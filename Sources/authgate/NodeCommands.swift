import AuthCore
import AuthCrypto

/// `node create|list|revoke`: edge-node `node_…` keys, shown once at creation.
enum NodeCommands {
    static let commands = [
        Command(words: ["node", "create"], options: ["tenant", "name"],
                synopsis: "node create --tenant D --name N", run: create),
        Command(words: ["node", "list"], options: ["tenant"], synopsis: "node list --tenant D", run: list),
        Command(words: ["node", "revoke"], options: ["id"], synopsis: "node revoke --id ID", run: revoke),
    ]

    static func create(_ ctx: Context) throws {
        let tenant = try ctx.tenant()
        let name = try ctx.validName()
        let key = CredentialKeys.newNodeKey()
        let node = try ctx.atomically { db in
            let node = try db.nodes.create(tenantID: tenant.id, name: name, keyHash: key.digest, now: Time.now())
            try ctx.audit("node_created", tenantID: tenant.id, detail: "\(node.id) \(name)")
            return node
        }
        if ctx.json {
            Output.json(.object([
                ("id", .string(node.id)), ("key", .string(key.raw)), ("name", .string(name)),
                ("tenant_id", .string(tenant.id)), ("created_at", .int(node.createdAt)),
            ]))
        } else {
            Output.line(node.id)
            Output.line(key.raw)
        }
    }

    static func list(_ ctx: Context) throws {
        let tenant = try ctx.tenant()
        let nodes = try ctx.db().nodes.list(tenantID: tenant.id)
        if ctx.json {
            Output.json(.array(nodes.map { n in
                .object([
                    ("id", .string(n.id)), ("name", .string(n.name)), ("tenant_id", .string(n.tenantID)),
                    ("created_at", .int(n.createdAt)), ("revoked_at", .opt(n.revokedAt)),
                ])
            }))
        } else {
            Output.table(["ID", "NAME", "CREATED", "REVOKED"], nodes.map {
                [$0.id, $0.name, timeText($0.createdAt), timeText($0.revokedAt)]
            })
        }
    }

    static func revoke(_ ctx: Context) throws {
        let id = try ctx.args.required("id").lowercased()
        try ctx.atomically { db in
            guard let node = try db.nodes.byID(id) else { throw CLIError.failure("no node \(id)") }
            guard node.revokedAt == nil else { throw CLIError.failure("node \(id) is already revoked") }
            try db.nodes.revoke(id: id, now: Time.now())
            try ctx.audit("node_revoked", tenantID: node.tenantID, detail: "\(id) \(node.name)")
        }
        if ctx.json {
            Output.json(.object([("id", .string(id)), ("revoked", .bool(true))]))
        } else {
            Output.line("revoked node \(id)")
        }
    }
}
