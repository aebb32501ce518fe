import AuthCore
import AuthCrypto
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// 1,000 concurrent WebSockets through real nginx (its test-only plain listener: a TLS client
/// process per connection would measure the test, not the stack) → companion → echo upstream.
@Suite struct WebSocketNginxLoadTests {
    @Test func relaysAThousandConcurrentConnectionsThroughNginx() throws {
        raiseFileLimit()
        var options = Stack.Options()
        options.plainHTTP = true
        try Stack.with(options) { (stack: Stack) throws in
            let agent = try WebSocketNginxTests.account(stack, role: "agent")
            let token = try stack.mintToken(for: agent)
            let count = 1000
            var clients: [WSTestClient] = []
            clients.reserveCapacity(count)
            for _ in 0..<count {
                let c = try WSTestClient(tcpPort: stack.plainPort)
                let reply = try c.upgrade("/ws/agent?token=\(token)")
                #expect(reply.status == 101)
                clients.append(c)
            }
            for (i, c) in clients.enumerated() { try c.sendText("m\(i)") }
            var echoed = 0
            for (i, c) in clients.enumerated() where try c.receive()?.payload == Array("m\(i)".utf8) { echoed += 1 }
            #expect(echoed == count)
            // Still all alive after the burst: a ping on the first and the last.
            for c in [clients[0], clients[count - 1]] {
                try c.send(opcode: 9, Array("p".utf8))
                #expect(try c.receive()?.opcode == 10)
            }
        }
    }
}
