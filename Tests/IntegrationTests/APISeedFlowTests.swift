import Foundation
import TestSupport
import Testing

/// Issue 3: the two seeds' example clients, run as written against real nginx + responder.
@Suite("API seed flows through nginx")
struct APISeedFlowTests {
    /// Runs a script with extra environment; returns (status, stdout+stderr).
    static func runScript(_ stack: Stack, _ program: String, _ args: [String],
                          environment: [String: String]) throws -> (Int32, String) {
        var env = ProcessInfo.processInfo.environment
        env["BASE"] = "https://127.0.0.1:\(stack.port)"
        for (k, v) in environment { env[k] = v }
        let r = try Child.run(program, args, environment: env, timeout: 120)
        return (r.status, r.stdout + r.stderr)
    }

    @Test func twoSignalPythonHTTPXFlowAsWritten() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"))
        var options = Stack.Options()
        options.profile = "2signal"
        // The seed's password is "password123" (11 characters): allow it for this stack.
        options.environment["AUTH_MIN_PASSWORD_LENGTH"] = "8"
        try Stack.with(options) { stack in
            _ = try stack.makeTenant("company.com")
            try stack.makeUser("alice@company.com", tenant: "company.com", password: "password123")
            let (status, output) = try Self.runScript(stack, "/usr/bin/python3",
                                                      [Stack.repositoryRoot + "/scripts/seed-2signal.py"],
                                                      environment: ["SSL_CERT_FILE": stack.certPath])
            #expect(status == 0, "\(output)")
            #expect(output.contains("2signal seed flow: ok"), "\(output)")
        }
    }

    @Test func get2dialCurlJqFlowAsWritten() throws {
        var options = Stack.Options()
        options.profile = "get2dial"
        try Stack.with(options) { stack in
            _ = try stack.makeTenant("acme.get2dial.com")
            try stack.makeUser("admin@acme.get2dial.com", tenant: "acme.get2dial.com", role: "admin",
                               password: "first password, long enough")
            let (status, output) = try Self.runScript(stack, "/bin/bash",
                                                      [Stack.repositoryRoot + "/scripts/seed-get2dial.sh"],
                                                      environment: ["CURL_CA_BUNDLE": stack.certPath,
                                                                    "PASSWORD": "first password, long enough",
                                                                    "NEW_PASSWORD": "second password, longer still"])
            #expect(status == 0, "\(output)")
            #expect(output.contains("get2dial seed flow: ok"), "\(output)")
        }
    }
}
