import Foundation
import TestSupport
import Testing

/// Issue 20: Traefik is not in Debian, so its forwardAuth request is replayed byte for byte as
/// Traefik v2 builds it (pkg/middlewares/auth/forward.go: a Go `http.NewRequest(GET, address)`,
/// every client header copied unless `authRequestHeaders` lists some, then X-Forwarded-For /
/// -Method / -Proto / -Host / -Uri set by Traefik, Go's own Host, User-Agent and Accept-Encoding,
/// headers in Go's sorted order, one kept connection) against a door configured for it
/// (AUTH_VERIFY_HTTP_URI=forwarded, a fixed policy AUTH_VERIFY_HTTP_ALLOW=user).
@Suite("HTTP verify door: Traefik forwardAuth request shape")
struct HTTPDoorTraefikTests {
    /// What Traefik sends for a client request `method uri` to host `app.example` over TLS.
    static func traefik(method: String, uri: String, clientHeaders: [(String, String)]) -> [UInt8] {
        var headers = clientHeaders.filter { !["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
                                                "proxy-authorization", "proxy-authenticate"].contains($0.0.lowercased()) }
        headers += [("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Host", "app.example"), ("X-Forwarded-Method", method),
                    ("X-Forwarded-Proto", "https"), ("X-Forwarded-Uri", uri), ("Accept-Encoding", "gzip")]
        if !headers.contains(where: { $0.0.lowercased() == "user-agent" }) { headers.append(("User-Agent", "Go-http-client/1.1")) }
        let ua = headers.filter { $0.0.lowercased() == "user-agent" }
        let rest = headers.filter { $0.0.lowercased() != "user-agent" }.sorted { $0.0 < $1.0 }
        var text = "GET /verify HTTP/1.1\r\nHost: 127.0.0.1:9180\r\n"
        for (k, v) in ua + rest { text += "\(k): \(v)\r\n" }
        return Array((text + "\r\n").utf8)
    }

    @Test func forwardAuthRequestShape() throws {
        var options = Stack.Options()
        options.verifyCacheSeconds = 0
        options.environment["AUTH_VERIFY_HTTP_URI"] = "forwarded"
        options.environment["AUTH_VERIFY_HTTP_ALLOW"] = "user"
        try Stack.with(options) { stack in
            let w = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local").access
            let door = try DoorClient(stack.verifyHTTPSocketPath)
            let browser: [(String, String)] = [("User-Agent", "Mozilla/5.0"), ("Accept", "*/*"), ("Connection", "keep-alive")]

            let ok = try door.ask(Self.traefik(method: "POST", uri: "/app/orders?x=1", clientHeaders: browser + [("Authorization", "Bearer \(alice)")]))
            #expect(ok.status == 204 && ok.header("x-auth-user-id") == w.alice && ok.header("x-auth-tenant-id") == w.demo)
            #expect(ok.header("x-auth-project-id") == "", "an identity field the user lacks is named, empty")
            let none = try door.ask(Self.traefik(method: "GET", uri: "/app/", clientHeaders: browser))
            #expect(none.status == 401 && none.header("x-auth-error") == "invalid_token")
            // Traefik copies every client header: a client's policy header must not count (the
            // door's policy is fixed), nor its X-Original-URI hide the tenant in X-Forwarded-Uri.
            let widened = try door.ask(Self.traefik(method: "GET", uri: "/app/", clientHeaders: browser + [
                ("Authorization", "Bearer \(w.apiKey)"), ("X-Authgate-Allow", "api_key"), ("X-Authgate-Roles", "")]))
            #expect(widened.status == 403)
            let hidden = try door.ask(Self.traefik(method: "GET", uri: "/app/?tenant_id=\(w.other)", clientHeaders: browser + [
                ("Authorization", "Bearer \(alice)"), ("X-Original-URI", "/app/"), ("X-Original-Method", "GET")]))
            #expect(hidden.status == 403)
            // trustForwardHeader=false (the advice): Traefik overwrites a client's X-Forwarded-Uri;
            // what arrives is one X-Forwarded-Uri, and that one is read.
            #expect(try door.ask(Self.traefik(method: "GET", uri: "/app/?tenant_id=\(w.demo)",
                                              clientHeaders: browser + [("Authorization", "Bearer \(alice)")])).status == 204)
            #expect(!door.closedByDoor(timeout: 0.2), "one kept connection for all of them")
        }
    }
}
