import AuthCore
import AuthCrypto

/// `project create|list`.
enum ProjectCommands {
    static let commands = [
        Command(words: ["project", "create"], options: ["tenant", "name"],
                synopsis: "project create --tenant D --name N", run: create),
        Command(words: ["project", "list"], options: ["tenant"], synopsis: "project list --tenant D", run: list),
    ]

    static func create(_ ctx: Context) throws {
        let tenant = try ctx.tenant()
        let name = try ctx.validName()
        let project = try ctx.atomically { db in
            let project = try db.projects.create(tenantID: tenant.id, name: name, now: Time.now())
            try ctx.audit("project_created", tenantID: tenant.id, detail: "\(project.id) \(name)")
            return project
        }
        if ctx.json { Output.json(json(project)) } else { Output.line(project.id) }
    }

    static func list(_ ctx: Context) throws {
        let tenant = try ctx.tenant()
        let projects = try ctx.db().projects.list(tenantID: tenant.id)
        if ctx.json {
            Output.json(.array(projects.map(json)))
        } else {
            Output.table(["ID", "NAME", "CREATED"], projects.map { [$0.id, $0.name, timeText($0.createdAt)] })
        }
    }

    static func json(_ p: Project) -> JSON {
        .object([("id", .string(p.id)), ("name", .string(p.name)), ("tenant_id", .string(p.tenantID)),
                 ("created_at", .int(p.createdAt))])
    }
}
