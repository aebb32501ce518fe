import Foundation
import TestSupport
import Testing

/// Review finding 2 (issue 19 item 4): the CGI verify behind nginx + fcgiwrap. In an
/// `auth_request` subrequest nginx sends `QUERY_STRING $query_string` (the subrequest's: empty)
/// and the original URI only in `REQUEST_URI`; fcgiwrap hands those params unchanged to the CGI
/// program as its environment. The run below gets exactly that environment (nginx's params from
/// authgate-fastcgi-params.conf + authgate-verify-location.conf for a subrequest to
/// `/_authgate/verify/user`, plus what fcgiwrap requires), so the tenant rule is checked on the
/// query the app will read.
@Suite("CGI verify as nginx + fcgiwrap ask it")
struct CGIVerifyTests {
    /// The environment fcgiwrap gives the program for an `auth_request` subrequest of `uri`.
    static func fcgiwrapEnvironment(_ stack: Stack, uri: String, token: String?) throws -> [String: String] {
        var env = stack.environment
        env.removeValue(forKey: "AUTH_LISTEN_TCP")
        let bin = try Binaries.require("authgate-fcgi")
        env["GATEWAY_INTERFACE"] = "CGI/1.1"
        env["SCRIPT_FILENAME"] = bin                     // fcgiwrap runs this
        env["SCRIPT_NAME"] = "/_authgate/verify/user"     // $fastcgi_script_name of the subrequest
        env["REQUEST_METHOD"] = "GET"                     // the main request's method
        env["REQUEST_URI"] = uri                          // the main request's URI, query included
        env["DOCUMENT_URI"] = "/_authgate/verify/user"    // the subrequest's URI
        env["QUERY_STRING"] = ""                          // the subrequest has no args
        env["CONTENT_TYPE"] = ""
        env["CONTENT_LENGTH"] = ""                        // blanked by the verify location
        env["SERVER_PROTOCOL"] = "HTTP/1.1"
        env["REQUEST_SCHEME"] = "https"
        env["HTTPS"] = "on"
        env["REMOTE_ADDR"] = "127.0.0.1"
        env["HTTP_PROXY"] = ""
        env["AUTH_VERIFY"] = "1"
        env["AUTH_ALLOW"] = "user"
        env["AUTH_ROLES"] = ""
        if let token { env["HTTP_AUTHORIZATION"] = "Bearer \(token)" }
        return env
    }

    static func verify(_ stack: Stack, uri: String, token: String?) throws -> String {
        let env = try fcgiwrapEnvironment(stack, uri: uri, token: token)
        let r = try Child.run(try Binaries.require("authgate-fcgi"), [], environment: env, timeout: 30)
        #expect(r.status == 0, "\(uri): exit \(r.status) \(r.stderr)")
        return r.stdout
    }

    @Test func tenantRuleHoldsWithAnEmptyQueryString() throws {
        var options = Stack.Options()
        options.companion = false
        options.upstream = false
        try Stack.with(options) { stack in
            let w = try GateWorld(stack)
            let alice = try stack.tokens("alice@demo.local").access

            // Control: her own tenant, and no query at all, are allowed with her identity.
            for uri in ["/app/page", "/app/page?tenant_id=\(w.demo)", "/app/page?x=1"] {
                let out = try Self.verify(stack, uri: uri, token: alice)
                #expect(out.hasPrefix("Status: 204"), "\(uri): \(out)")
                #expect(out.contains("X-Auth-Tenant-Id: \(w.demo)\r\n"), "\(uri): \(out)")
            }
            #expect(try Self.verify(stack, uri: "/app/page", token: nil).hasPrefix("Status: 401"))

            // Another tenant, plain, repeated and in every disguise the nginx suites refuse.
            var refused = ["tenant_id={T}", "tenant_id={H}&tenant_id={T}", "tenant_id={T}&tenant_id={H}",
                           "x=1&tenant_id={T}", "%20tenant_id={T}", "+tenant_id={T}"]
            refused += GateTenantSpellingTests.refused
            for spelling in refused {
                let query = GateTenantSpellingTests.query(spelling, own: w.demo, other: w.other)
                let out = try Self.verify(stack, uri: "/app/page?" + query, token: alice)
                #expect(out.hasPrefix("Status: 403"), "?\(query): \(out.prefix(200))")
            }
            // PATH_INFO, when a server sets it, does not steer a verify either.
            var env = try Self.fcgiwrapEnvironment(stack, uri: "/app/page?tenant_id=\(w.other)", token: alice)
            env["PATH_INFO"] = "/app/page"
            let r = try Child.run(try Binaries.require("authgate-fcgi"), [], environment: env, timeout: 30)
            #expect(r.stdout.hasPrefix("Status: 403"), "\(r.stdout.prefix(200))")
        }
    }
}
