import Foundation
import TestSupport
import Testing

/// `authgate-protect-uwsgi.conf` through real nginx to a uwsgi app (a fake uwsgi server in the
/// test reads nginx's uwsgi packets): every HTTP_X_AUTH_* var is Authgate's, exactly once, and
/// the client's X-Auth-* / X-Original-* copies never reach the app. Through both doors.
@Suite("Gate: uWSGI protect snippet through nginx")
struct GateUWSGITests {
    @Test(arguments: GateDoor.allCases) func uwsgiAppSeesOnlyAuthgatesIdentity(door: GateDoor) throws {
        let appDir = try TempDir("authgate-uwsgi", parent: "/tmp")
        chmod(appDir.path, 0o755)   // nginx's workers must reach the socket
        let requests = Recorder<[(String, String)]>()
        let app = try FakeUWSGI.serve(appDir.path + "/app.sock", into: requests)
        defer { try? app.stop() }
        var options = door.options()
        options.extraServerConfig = """
                location = /demo/uwsgi {
                    auth_request /_authgate/\(door == .http ? "verify-http" : "verify")/user;
                    include snippets/authgate-protect-uwsgi.conf;
                    uwsgi_param REQUEST_METHOD $request_method;
                    uwsgi_param REQUEST_URI    $request_uri;
                    uwsgi_pass unix:\(appDir.path)/app.sock;
                }
        """
        try Stack.with(options) { stack in
            let w = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local")
            let r = try stack.get("/demo/uwsgi", token: alice.access, headers: spoofedHeaders)
            #expect(r.status == 200 && r.text == "ok", "\(r.status) \(r.text)")
            try waitFor("the uwsgi app to receive the request") { requests.items.count == 1 }
            let vars = try #require(requests.items.first)
            func all(_ name: String) -> [String] { vars.filter { $0.0 == name }.map(\.1) }
            let expected: [String: String] = [
                "HTTP_X_AUTH_KIND": "user", "HTTP_X_AUTH_USER_ID": w.alice, "HTTP_X_AUTH_TENANT_ID": w.demo,
                "HTTP_X_AUTH_ROLE": "agent", "HTTP_X_AUTH_EMAIL": "alice@demo.local",
                "HTTP_X_AUTH_HOME_TENANT_ID": "", "HTTP_X_AUTH_PROJECT_ID": "", "HTTP_X_AUTH_NODE_ID": "",
                "HTTP_X_ORIGINAL_URI": "", "HTTP_X_ORIGINAL_METHOD": "",
            ]
            for (name, value) in expected {
                if value.isEmpty {
                    // An empty identity value: nginx sends no var at all (or an empty one), and
                    // never the client's copy.
                    #expect(all(name).count <= 1 && all(name).allSatisfy(\.isEmpty), "\(name): \(all(name))")
                } else {
                    #expect(all(name) == [value], "\(name): \(all(name))")
                }
            }
            let session = all("HTTP_X_AUTH_SESSION_ID")
            #expect(session.count == 1 && session.first?.count == 36, "\(session)")
            #expect(carriesNoSpoof(Dictionary(vars, uniquingKeysWith: { $0 + "," + $1 })), "\(vars)")
            #expect(all("REQUEST_URI") == ["/demo/uwsgi"])

            // Refusals never reach the app.
            #expect(try stack.client.get("/demo/uwsgi", headers: spoofedHeaders).status == 401)
            #expect(try stack.get("/demo/uwsgi", token: w.apiKey, headers: spoofedHeaders).status == 403)
            _ = try stack.responderLogSettled()
            #expect(requests.items.count == 1)
        }
    }
}
