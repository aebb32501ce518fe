import AuthCore
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `kill -9` of the WebSocket companion mid-relay: every client through nginx sees its
/// connection end (no hang), the restarted companion takes new upgrades at once, and after the
/// last round nginx's worker is back to its descriptor count (no stuck connections).
/// Rounds: AUTHGATE_CRASH_KILLS / 4, at least 5.
@Suite(.serialized) struct CrashCompanionTests {
    static var rounds: Int { max(5, CrashSafetyTests.kills / 4) }
    static let clients = 10

    static func nginxWorkers(_ stack: Stack) throws -> [pid_t] {
        let master = try String(contentsOfFile: stack.dir + "/nginx.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let children = try String(contentsOfFile: "/proc/\(master)/task/\(master)/children", encoding: .utf8)
        let pids = children.split(separator: " ").compactMap { pid_t($0) }
        guard !pids.isEmpty else { throw StackError("nginx master \(master) has no workers") }
        return pids
    }

    static func nginxFDs(_ stack: Stack) throws -> Int {
        try nginxWorkers(stack).reduce(0) { $0 + (try Stack.openFDs(pid: $1)) }
    }

    @Test func companionKilledMidRelayClientsReconnect() throws {
        var options = Stack.Options()
        options.plainHTTP = true
        options.companion = false
        try Stack.with(options) { (stack: Stack) throws in
            let bin = try Binaries.require("authgate-ws")
            let log = stack.logDir + "/authgate-ws.log"
            func startCompanion() throws -> Child {
                let c = try Child.spawn(bin, [], environment: stack.environment, stdout: log, stderr: log)
                try waitFor("authgate-ws to accept on \(stack.wsSocketPath)") {
                    guard c.isRunning else { throw StackError("authgate-ws exited: \(stack.log("authgate-ws").suffix(1000))") }
                    return UnixSocket.canConnect(stack.wsSocketPath) && UnixSocket.canConnect(stack.upstreamSocketPath)
                }
                return c
            }
            var companion = try startCompanion()
            defer { _ = companion.stop(grace: 2) }
            let agent = try WebSocketNginxTests.account(stack, role: "agent")
            let token = try stack.mintToken(for: agent)
            let baseline = try Self.nginxFDs(stack)
            var ended = 0
            for round in 0..<Self.rounds {
                var open: [WSTestClient] = []
                for i in 0..<Self.clients {
                    let c = try WSTestClient(tcpPort: stack.plainPort, timeoutSeconds: 10)
                    let reply = try c.upgrade("/ws/agent?token=\(token)")
                    #expect(reply.status == 101, "round \(round) client \(i): \(reply.status) (a restarted companion must take upgrades)")
                    try c.sendText("r\(round)c\(i)")
                    #expect(try c.receive()?.payload == Array("r\(round)c\(i)".utf8))
                    open.append(c)
                }
                // Mid-relay: messages in flight on every connection, then kill -9.
                for (i, c) in open.enumerated() { try? c.send(opcode: 1, Array(repeating: UInt8(ascii: "x"), count: 1000 + i)) }
                companion.signal(SIGKILL)
                _ = try companion.wait(timeout: 10, for: "the killed companion (round \(round)) to be reaped")
                // Every client's connection ends (EOF, error or a close frame) within its 10 s timeout.
                for c in open {
                    var frames = 0
                    while frames < 4, let f = try? c.receive() { frames += 1; if f.opcode == 8 { break } }
                    #expect(frames < 4, "a connection kept relaying after the companion died")
                    ended += 1
                }
                open.removeAll()
                companion = try startCompanion()
            }
            #expect(ended == Self.rounds * Self.clients)
            try waitFor("nginx's workers to drop the dead relays' descriptors (baseline \(baseline))", timeout: 15, every: 50_000) {
                (try Self.nginxFDs(stack)) <= baseline + 2
            }
            print("CrashCompanion: \(Self.rounds) kills mid-relay, \(ended) connections ended cleanly and reconnected; nginx worker fds \(baseline) -> \(try Self.nginxFDs(stack))")
        }
    }
}
