import AuthCrypto

/// Projects, project API keys and edge nodes (admin routes), and a node's own `/nodes/me`.
enum KeyRoutes {
    static func register(_ r: inout Router) {
        r.add("POST", "/api/v1/projects", createProject)
        r.add("GET", "/api/v1/projects", listProjects)
        r.add("POST", "/api/v1/projects/{}/api-keys", createAPIKey)
        r.add("GET", "/api/v1/projects/{}/api-keys", listAPIKeys)
        r.add("DELETE", "/api/v1/projects/{}/api-keys/{}", revokeAPIKey)
        r.add("POST", "/api/v1/admin/nodes", createNode)
        r.add("GET", "/api/v1/admin/nodes", listNodes)
        r.add("DELETE", "/api/v1/admin/nodes/{}", revokeNode)
        r.add("GET", "/api/v1/nodes/me", nodeMe)
    }

    static func projectJSON(_ p: Project, _ profile: APIProfile) -> JSON {
        .object([("id", .string(p.id)), ("name", .string(p.name)), ("tenant_id", .string(p.tenantID)),
                 ("created_at", profile.timestamp(p.createdAt))])
    }

    static func requiredName(_ request: Request, optional: Bool = false) throws(AuthError) -> String? {
        let raw = try Body(request).string("name", maxBytes: 1024)
        guard let raw else {
            if optional { return nil }
            throw AuthError.invalidRequest("missing name")
        }
        guard let name = Validation.name(raw) else {
            throw AuthError.invalidRequest("name must be 1-\(Validation.maxNameLength) bytes without control characters")
        }
        return name
    }

    /// The project `id` when it belongs to the acting tenant; 404 otherwise (never another tenant's).
    static func ownedProject(_ w: Worker, _ id: String, tenant: String) throws(AuthError) -> Project {
        guard let p = try w.store({ try w.db.projects.byID(id.lowercased()) }), p.tenantID == tenant else {
            throw AuthError.notFound
        }
        return p
    }

    static let createProject: Router.Handler = { w, request, _ throws(AuthError) in
        let (p, tenant) = try Authenticator(worker: w).requireAdmin(request)
        let name = try requiredName(request)!
        let project = try w.write {
            let project = try w.db.projects.create(tenantID: tenant, name: name, now: Time.now())
            try w.recordAudit("project_created", tenantID: tenant, actor: p.userID, request: request, detail: project.id)
            return project
        }
        return w.profile.respond(201, projectJSON(project, w.profile))
    }

    static let listProjects: Router.Handler = { w, request, _ throws(AuthError) in
        let (_, tenant) = try Authenticator(worker: w).requireAdmin(request)
        let list = try w.store { try w.db.projects.list(tenantID: tenant) }
        return w.profile.respond(200, .array(list.map { projectJSON($0, w.profile) }))
    }

    static func apiKeyJSON(_ k: APIKey, _ profile: APIProfile, raw: String? = nil) -> JSON {
        var pairs: [(String, JSON)] = [("id", .string(k.id))]
        if let raw { pairs.append(("key", .string(raw))) }
        pairs += [("prefix", .string(k.prefix)), ("name", .string(k.name)), ("project_id", .string(k.projectID)),
                  ("created_at", profile.timestamp(k.createdAt))]
        if raw == nil {
            pairs += [("last_used_at", profile.optionalTimestamp(k.lastUsedAt)),
                      ("revoked_at", profile.optionalTimestamp(k.revokedAt))]
        }
        return .object(pairs)
    }

    static let createAPIKey: Router.Handler = { w, request, params throws(AuthError) in
        let (p, tenant) = try Authenticator(worker: w).requireAdmin(request)
        let project = try ownedProject(w, params[0], tenant: tenant)
        let name = try requiredName(request, optional: true) ?? "default"
        let made = CredentialKeys.newAPIKey()
        // The key and its audit row as one write: all or nothing.
        let key = try w.write {
            let key = try w.db.apiKeys.create(projectID: project.id, name: name, prefix: made.prefix, keyHash: made.digest,
                                              now: Time.now())
            try w.recordAudit("api_key_created", tenantID: tenant, actor: p.userID, request: request, detail: key.id)
            return key
        }
        return w.profile.respond(201, apiKeyJSON(key, w.profile, raw: made.raw))
    }

    static let listAPIKeys: Router.Handler = { w, request, params throws(AuthError) in
        let (_, tenant) = try Authenticator(worker: w).requireAdmin(request)
        let project = try ownedProject(w, params[0], tenant: tenant)
        let keys = try w.store { try w.db.apiKeys.list(projectID: project.id) }
        return w.profile.respond(200, .array(keys.map { apiKeyJSON($0, w.profile) }))
    }

    static let revokeAPIKey: Router.Handler = { w, request, params throws(AuthError) in
        let (p, tenant) = try Authenticator(worker: w).requireAdmin(request)
        let project = try ownedProject(w, params[0], tenant: tenant)
        let keyID = params[1].lowercased()
        guard let key = try w.store({ try w.db.apiKeys.byID(keyID) }), key.projectID == project.id,
              key.revokedAt == nil else { throw AuthError.notFound }
        try w.write {
            _ = try w.db.apiKeys.revoke(id: keyID, now: Time.now())
            try w.recordAudit("api_key_revoked", tenantID: tenant, actor: p.userID, request: request, detail: keyID)
        }
        return w.profile.respond(200, APIProfile.successTrue)
    }

    static func nodeJSON(_ n: Node, _ profile: APIProfile, raw: String? = nil) -> JSON {
        var pairs: [(String, JSON)] = [("id", .string(n.id))]
        if let raw { pairs.append(("key", .string(raw))) }
        pairs += [("name", .string(n.name)), ("tenant_id", .string(n.tenantID)), ("created_at", profile.timestamp(n.createdAt))]
        if raw == nil { pairs.append(("revoked_at", profile.optionalTimestamp(n.revokedAt))) }
        return .object(pairs)
    }

    static let createNode: Router.Handler = { w, request, _ throws(AuthError) in
        let (p, tenant) = try Authenticator(worker: w).requireAdmin(request)
        let name = try requiredName(request)!
        let made = CredentialKeys.newNodeKey()
        let node = try w.write {
            let node = try w.db.nodes.create(tenantID: tenant, name: name, keyHash: made.digest, now: Time.now())
            try w.recordAudit("node_created", tenantID: tenant, actor: p.userID, request: request, detail: node.id)
            return node
        }
        return w.profile.respond(201, nodeJSON(node, w.profile, raw: made.raw))
    }

    static let listNodes: Router.Handler = { w, request, _ throws(AuthError) in
        let (_, tenant) = try Authenticator(worker: w).requireAdmin(request)
        let nodes = try w.store { try w.db.nodes.list(tenantID: tenant) }
        return w.profile.respond(200, .array(nodes.map { nodeJSON($0, w.profile) }))
    }

    static let revokeNode: Router.Handler = { w, request, params throws(AuthError) in
        let (p, tenant) = try Authenticator(worker: w).requireAdmin(request)
        let id = params[0].lowercased()
        guard let node = try w.store({ try w.db.nodes.byID(id) }), node.tenantID == tenant, node.revokedAt == nil else {
            throw AuthError.notFound
        }
        try w.write {
            _ = try w.db.nodes.revoke(id: id, now: Time.now())
            try w.recordAudit("node_revoked", tenantID: tenant, actor: p.userID, request: request, detail: id)
        }
        return w.profile.respond(200, APIProfile.successTrue)
    }

    /// `GET /api/v1/nodes/me`: a node checks its own key; identity comes from the key alone.
    static let nodeMe: Router.Handler = { w, request, _ throws(AuthError) in
        guard let bearer = request.bearer, !bearer.isEmpty else {
            throw AuthError(status: 401, code: "invalid_token", message: "missing node key",
                            headers: [("WWW-Authenticate", "Bearer")])
        }
        guard case .node = CredentialKind(credential: bearer) else {
            if case .unknown = CredentialKind(credential: bearer) { throw AuthError.invalidToken("invalid node key") }
            throw AuthError.forbidden("this route needs a node key")
        }
        guard w.state.isFresh() else { throw AuthError.invalidToken("verify state stale") }
        guard let node = w.state.node(digest: CredentialKeys.digest(bearer)) else {
            throw AuthError.invalidToken("invalid node key")
        }
        return w.profile.respond(200, .object([("node_id", .string(node.nodeID)), ("tenant_id", .string(node.tenantID)),
                                               ("name", .string(node.name))]))
    }
}
