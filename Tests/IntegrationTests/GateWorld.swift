import Foundation
import Testing

/// The people and machines of the Gate* suites, created with the CLI in one stack:
/// tenant `demo.local` (alice agent, sam supervisor, admin admin, a project with an API key,
/// a node), tenant `other.test` (olga agent, a project with an API key), and
/// root@platform.local (platform_admin).
struct GateWorld {
    var demo = "", other = "", platform = ""
    var alice = "", sam = "", admin = "", root = "", olga = ""
    var project = "", apiKeyID = "", apiKey = ""
    var otherProject = "", otherAPIKey = ""
    var nodeID = "", nodeKey = ""

    init(_ stack: Stack) throws {
        demo = try stack.makeTenant("demo.local")
        other = try stack.makeTenant("other.test")
        platform = try stack.tenantID("platform.local")
        alice = try stack.makeUser("alice@demo.local", tenant: "demo.local", role: "agent")
        sam = try stack.makeUser("sam@demo.local", tenant: "demo.local", role: "supervisor")
        admin = try stack.makeUser("admin@demo.local", tenant: "demo.local", role: "admin")
        olga = try stack.makeUser("olga@other.test", tenant: "other.test", role: "agent")
        root = try stack.makeUser("root@platform.local", tenant: "platform.local", role: "platform_admin")
        project = try stack.cliLines(["project", "create", "--tenant", "demo.local", "--name", "Ingest"])[0]
        let key = try stack.cliLines(["apikey", "create", "--project", project, "--name", "ci"], count: 2)
        apiKeyID = key[0]
        apiKey = key[key.count - 1]
        otherProject = try stack.cliLines(["project", "create", "--tenant", "other.test", "--name", "Other"])[0]
        otherAPIKey = try stack.cliLines(["apikey", "create", "--project", otherProject], count: 2).last!
        let node = try stack.cliLines(["node", "create", "--tenant", "demo.local", "--name", "edge-1"], count: 2)
        nodeID = node[0]
        nodeKey = node[node.count - 1]
        #expect(apiKey.hasPrefix("2s_live_") && nodeKey.hasPrefix("node_") && !platform.isEmpty)
    }
}

/// Every client-controlled header a gate must neither forward nor believe.
let spoofedHeaders: [String: String] = [
    "X-Auth-Kind": "evil-kind", "X-Auth-User-Id": "evil-user", "X-Auth-Tenant-Id": "evil-tenant",
    "X-Auth-Home-Tenant-Id": "evil-home", "X-Auth-Role": "platform_admin", "X-Auth-Email": "evil@evil.test",
    "X-Auth-Session-Id": "evil-session", "X-Auth-Project-Id": "evil-project", "X-Auth-Node-Id": "evil-node",
    "X-Original-URI": "/demo/plain?evil-uri", "X-Original-Method": "EVILMETHOD",
]

/// True when no received header/param value carries a spoofed value.
func carriesNoSpoof(_ received: [String: String]) -> Bool {
    !received.values.contains { $0.contains("evil") || $0 == "platform_admin" || $0 == "EVILMETHOD" }
}

/// The two doors of the verify question (README "Choosing a door"): nginx's FastCGI verify
/// locations, and the keep-alive HTTP door. Gate suites take it as a test argument, so one
/// table of cases runs through both (`Stack.Options.door`).
enum GateDoor: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case fastcgi, http
    var testDescription: String { rawValue }

    /// Stack options for this door (the rest as given).
    func options(_ base: Stack.Options = Stack.Options()) -> Stack.Options {
        var o = base
        o.door = self
        return o
    }
}
