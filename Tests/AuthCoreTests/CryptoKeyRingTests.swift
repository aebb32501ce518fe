import Foundation
import TestSupport
import Testing
@testable import AuthCrypto

@Suite struct CryptoKeyRingTests {
    static func secret(_ n: Int = 32) -> String { Base64URL.encode(Crypto.randomBytes(n)) }

    static func tempDir() throws -> TempDir { try TempDir("authgate-keyring") }

    @Test func parse() throws {
        let text = "# keys\n\nold:\(Self.secret())\r\n  new:\(Self.secret(48))  \n"
        let ring = try KeyRing.parse(text)
        #expect(ring.keys.map(\.kid) == ["old", "new"])
        #expect(ring.signing.kid == "new")
        #expect(ring.key(kid: "old") != nil)
        #expect(ring.key(kid: "old"[...]) != nil)
        #expect(ring.key(kid: "nope") == nil)
        #expect(ring.signing.secret.count == 48)
    }

    @Test func parseRefusesBadRings() {
        let bad = [
            "", "# only a comment\n", "k:\(Self.secret(31))", "k:\(Self.secret(16))", "nocolon",
            ":\(Self.secret())", "k:not base64!", "k:\(Self.secret())=", "a b:\(Self.secret())",
            "k:\(Self.secret())\nk:\(Self.secret())", "k\"x:\(Self.secret())",
        ]
        for text in bad {
            #expect(throws: KeyRingError.self, "\(text)") { try KeyRing.parse(text) }
        }
    }

    @Test func rotateCreatesAppendsAtomically() throws {
        let temp = try Self.tempDir()
        defer { withExtendedLifetime(temp) {} }
        let dir = temp.path
        let path = dir + "/keys"
        let first = try KeyRing.rotate(path: path)
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        let second = try KeyRing.rotate(path: path)
        #expect(first != second)
        let ring = try KeyRing.load(path: path)
        #expect(ring.keys.map(\.kid) == [first, second])
        #expect(ring.signing.kid == second)
        #expect(ring.keys.allSatisfy { $0.secret.count == 32 })
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600)
        // No temp files left behind (the lock file stays: removing it would break the lock).
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["keys", "keys.lock"])
    }

    @Test func rotateKeepsCommentsAndLoosensNothing() throws {
        let temp = try Self.tempDir()
        defer { withExtendedLifetime(temp) {} }
        let dir = temp.path
        let path = dir + "/keys"
        let original = "# production ring\nk0:\(Self.secret())"
        try original.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o644)
        let kid = try KeyRing.rotate(path: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix(original + "\n\(kid):"))
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600)
        // A broken ring is not rotated (and not overwritten).
        try "k:short".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(throws: KeyRingError.self) { try KeyRing.rotate(path: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "k:short")
    }

    @Test func storeReloadsAndKeepsOldRingOnError() throws {
        let temp = try Self.tempDir()
        defer { withExtendedLifetime(temp) {} }
        let dir = temp.path
        let path = dir + "/keys"
        #expect(throws: KeyRingError.self) { try KeyRingStore(path: path) }
        let first = try KeyRing.rotate(path: path)
        let store = try KeyRingStore(path: path)
        #expect(store.current.signing.kid == first)
        let second = try KeyRing.rotate(path: path)
        store.reload()
        #expect(store.current.signing.kid == second)
        #expect(store.current.key(kid: first) != nil)
        try "garbage".write(toFile: path, atomically: true, encoding: .utf8)
        store.reload()
        #expect(store.current.signing.kid == second)
        // Without an explicit reload, a change is picked up within about a second (written
        // owner-only: a ring readable by group or others is refused).
        let third = "k3"
        let mask = umask(0o077)
        try "k3:\(Self.secret())\n".write(toFile: path, atomically: true, encoding: .utf8)
        umask(mask)
        let deadline = Date().addingTimeInterval(3)
        while store.current.signing.kid != third && Date() < deadline { usleep(20_000) }
        #expect(store.current.signing.kid == third)
    }

    @Test func storeIsCheapAndThreadSafe() async throws {
        let temp = try Self.tempDir()
        defer { withExtendedLifetime(temp) {} }
        let dir = temp.path
        let path = dir + "/keys"
        _ = try KeyRing.rotate(path: path)
        let store = try KeyRingStore(path: path)
        await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask { (0..<20_000).reduce(0) { n, _ in n + store.current.keys.count } }
            }
            for await n in group { #expect(n >= 20_000) }
        }
    }
}
