import Foundation
import TestSupport
import Testing

/// The lenient `tenant_id` spellings through real nginx with the micro-cache on. A framework
/// behind the gate may read each of these as `tenant_id`; the responder refuses them (403), and
/// nginx's cache-key `map` must send each to the responder instead of serving an allow cached
/// for the same credential without it. Data-driven: a new spelling is one more line.
@Suite("Gate: lenient tenant_id spellings through nginx")
struct GateTenantSpellingTests {
    /// Query strings; `{T}` is another tenant's id, `{H}` the caller's own.
    static let refused: [String] = [
        "tenant%5Fid={T}", "tenant%5fid={H}", "%74enant_id={T}", "tenant%2Eid={T}",
        "tenant.id={T}", "tenant.id={H}", "tenant+id={T}", "tenant%20id={T}", "tenant[id={T}",
        "tenant_id[]={T}", "tenant_id[0]={T}", "Tenant_Id={T}", "TENANT_ID={H}", "TeNaNt.Id={T}",
        "a=1;tenant.id={T}", "tenant_id={H};tenant_id={T}", "tenant_id=%{T}", "tenant_id={T}+",
    ]

    static func query(_ spelling: String, own: String, other: String) -> String {
        spelling.replacingOccurrences(of: "{T}", with: other).replacingOccurrences(of: "{H}", with: own)
    }

    /// Warms the cache for `path` with `token`, then sends `path?query` within the same second;
    /// returns (probe status, whether the probe reached the responder). Retries when the clock
    /// ticked between the two, since only then would a wrongly shared cache key serve the probe.
    static func probe(_ stack: Stack, _ path: String, _ query: String, token: String) throws -> (status: Int, reached: Bool) {
        for _ in 0..<4 {
            let warm = try stack.get(path, token: token)
            #expect(warm.status == 200, "warm \(path): \(warm.status)")
            let before = try stack.responderLogSettled()
            let probe = try stack.get("\(path)?\(query)", token: token)
            let after = try stack.responderLogSettled()
            guard floor(warm.answeredAt) == floor(probe.answeredAt) else { continue }
            return (probe.status, after == before + 1)
        }
        throw StackError("never got a warm request and its probe into one second")
    }

    @Test(arguments: GateDoor.allCases) func lenientSpellingsAreRefusedAndNeverServedFromTheCache(door: GateDoor) throws {
        var options = Stack.Options()
        options.verifyCacheSeconds = 1
        try Stack.with(door.options(options)) { stack in
            let w = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local").access
            let root = try stack.tokens("root@platform.local").access

            // Control: a query without tenant_id in any spelling shares the plain entry, so a
            // probe is able to see a cache hit (a spelling the map missed would look like this).
            // One hit among up to 4 tries is the proof: under a fully parallel `make test` the
            // client's second and nginx's key second can straddle a boundary (seen twice on the
            // HTTP door's proxy_cache, never alone), which only makes a hit look like a miss.
            var controls: [(status: Int, reached: Bool)] = []
            for _ in 0..<4 where controls.last.map({ $0.reached }) ?? true {
                controls.append(try Self.probe(stack, "/demo/echo", "x=1", token: alice))
            }
            #expect(controls.allSatisfy { $0.status == 200 } && controls.last?.reached == false, "control: \(controls)")

            for (name, token, own) in [("alice", alice, w.demo), ("root", root, w.platform)] {
                for spelling in Self.refused {
                    let q = Self.query(spelling, own: own, other: w.other)
                    let r = try Self.probe(stack, "/demo/echo", q, token: token)
                    #expect(r.status == 403, "\(name) ?\(q): \(r.status)")
                    #expect(r.reached, "\(name) ?\(q) was answered from the cache")
                }
            }
            // The plain spelling still works for the platform admin (the rule, not a blanket 403).
            let cross = try stack.get("/demo/echo?tenant_id=\(w.other)", token: root)
            #expect(cross.status == 200 && cross.echoedHeaders["x-auth-tenant-id"] == w.other)
        }
    }
}
