import Foundation
import TestSupport
import Synchronization
import Testing
@testable import AuthCore
@testable import AuthCrypto

/// The key ring file: mode check on load, retire, locked read-modify-write keeping owner and mode.
@Suite struct KeyRingFileTests {
    static func secret() -> String { Base64URL.encode(Crypto.randomBytes(32)) }

    static func mode(_ path: String) -> mode_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o7777 : 0
    }

    @Test(arguments: [0o640, 0o604, 0o620, 0o602, 0o644, 0o660, 0o666, 0o610] as [mode_t])
    func loadRefusesGroupOrOtherAccess(_ mode: mode_t) throws {
        let dirTemp = try TempDir("authgate-keyfile")
        let dir = dirTemp.path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/keys"
        try "k1:\(Self.secret())\n".write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode)
        let error = #expect(throws: KeyRingError.self) { try KeyRing.load(path: path) }
        let text = error?.description ?? ""
        #expect(text.contains(path) && text.contains(KeyRing.octal(mode)), "\(text)")
        #expect(!text.contains("\n"))
        #expect(throws: KeyRingError.self) { try KeyRingStore(path: path) }
        chmod(path, 0o600)
        #expect(try KeyRing.load(path: path).keys.map(\.kid) == ["k1"])
        chmod(path, 0o400)
        #expect(try KeyRingStore(path: path).current.signing.kid == "k1")
    }

    /// A running process keeps its ring when the file turns loose, and takes the new one once
    /// the mode is fixed (chmod alone changes only the ctime).
    @Test func storeIgnoresALooseFileUntilItsModeIsFixed() throws {
        let dirTemp = try TempDir("authgate-keyfile")
        let dir = dirTemp.path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/keys"
        let first = try KeyRing.rotate(path: path)
        let store = try KeyRingStore(path: path)
        let old = umask(0o022)
        try "k2:\(Self.secret())\n".write(toFile: path, atomically: true, encoding: .utf8)
        umask(old)
        chmod(path, 0o644)
        store.reload()
        #expect(store.current.signing.kid == first)
        chmod(path, 0o600)
        store.reload()
        #expect(store.current.signing.kid == "k2")
    }

    @Test func retireRemovesOnlyAVerifyingKey() throws {
        let dirTemp = try TempDir("authgate-keyfile")
        let dir = dirTemp.path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/keys"
        try "# production ring\nold:\(Self.secret())\n".write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o600)
        let middle = try KeyRing.rotate(path: path)
        let signing = try KeyRing.rotate(path: path)
        let signingError = #expect(throws: KeyRingError.self) { try KeyRing.retire(path: path, kid: signing) }
        #expect(signingError?.description.contains("signing key") == true)
        let unknownError = #expect(throws: KeyRingError.self) { try KeyRing.retire(path: path, kid: "nope") }
        #expect(unknownError?.description.contains("no key with kid 'nope'") == true)
        // A kid that only appears inside a comment is not a key.
        #expect(throws: KeyRingError.self) { try KeyRing.retire(path: path, kid: "# production ring") }
        try KeyRing.retire(path: path, kid: middle)
        #expect(try KeyRing.load(path: path).keys.map(\.kid) == ["old", signing])
        try KeyRing.retire(path: path, kid: "old")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix("# production ring\n") && !text.contains("old:"))
        #expect(try KeyRing.load(path: path).keys.map(\.kid) == [signing])
        #expect(throws: KeyRingError.self) { try KeyRing.retire(path: path, kid: signing) }   // the last key
        #expect(throws: KeyRingError.self) { try KeyRing.retire(path: dir + "/missing", kid: "x") }
        #expect(!FileManager.default.fileExists(atPath: dir + "/missing"))
    }

    /// After `retire`, a token its key signed no longer verifies: not the memoized one either.
    @Test func tokensOfARetiredKeyNoLongerVerify() throws {
        let h = try APIHarness()
        let t = try h.tenant("retire.test")
        try h.user("agent@retire.test", tenant: t)
        let (old, _) = h.login("agent@retire.test")
        let policy = GatePolicy()
        #expect(h.call("GET", "/x", bearer: old, verify: policy).status == 204)
        let path = h.app.settings.keysFile
        let oldKid = try KeyRing.load(path: path).signing.kid
        _ = try KeyRing.rotate(path: path)
        h.app.keys.reload()
        let (new, _) = h.login("agent@retire.test")
        #expect(h.call("GET", "/x", bearer: old, verify: policy).status == 204)   // still verifies after rotate
        try KeyRing.retire(path: path, kid: oldKid)
        h.app.keys.reload()
        #expect(h.call("GET", "/x", bearer: old, verify: policy).status == 401)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: old).status == 401)
        #expect(h.call("GET", "/x", bearer: new, verify: policy).status == 204)
        #expect(JWT.verify(old, ring: try KeyRing.load(path: path), issuer: h.app.settings.issuer,
                           audience: h.app.settings.audience, now: Time.now(), leeway: 30) == .failure(.unknownKey))
    }

    /// Eight threads rotating at once: no rotation is lost (the read-modify-write is locked).
    @Test func concurrentRotationsLoseNothing() throws {
        let dirTemp = try TempDir("authgate-keyfile")
        let dir = dirTemp.path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/keys"
        _ = try KeyRing.rotate(path: path)
        let kids = Mutex<[String]>([])
        for r in try onThreads(8, { _ in
            for _ in 0..<6 {
                let kid = try KeyRing.rotate(path: path)
                kids.withLock { $0.append(kid) }
            }
        }) { try r.get() }
        let ring = try KeyRing.load(path: path)
        #expect(ring.keys.count == 1 + 48)
        #expect(Set(ring.keys.map(\.kid)).isSuperset(of: kids.withLock { $0 }))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["keys", "keys.lock"])
    }

    /// Rotate and retire keep the file's owner (as root: chown'ed back) and its owner mode bits.
    @Test func rewritesKeepOwnerAndMode() throws {
        let dirTemp = try TempDir("authgate-keyfile")
        let dir = dirTemp.path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/keys"
        let first = try KeyRing.rotate(path: path)
        chmod(path, 0o400)
        _ = try KeyRing.rotate(path: path)
        #expect(Self.mode(path) == 0o400)
        chmod(path, 0o640)   // a loose file is tightened, never kept loose
        _ = try KeyRing.rotate(path: path)
        #expect(Self.mode(path) == 0o600)
        guard geteuid() == 0 else {
            // Not root: a ring owned by someone else cannot be rewritten without changing its owner.
            return
        }
        let nobody: uid_t = 65534, nogroup: gid_t = 65534
        #expect(chown(path, nobody, nogroup) == 0)
        try KeyRing.retire(path: path, kid: first)
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_uid == nobody && st.st_gid == nogroup && st.st_mode & 0o777 == 0o600)
        #expect(stat(path + ".lock", &st) == 0 && st.st_uid == nobody)
        #expect(try KeyRing.load(path: path).keys.count == 2)
    }

    /// A symlinked ring stays a symlink; its target is rewritten.
    @Test func symlinkedRingIsRewrittenAtItsTarget() throws {
        let dirTemp = try TempDir("authgate-keyfile")
        let dir = dirTemp.path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/real-keys"
        _ = try KeyRing.rotate(path: target)
        let link = dir + "/keys"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let kid = try KeyRing.rotate(path: link)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)
        #expect(try KeyRing.load(path: target).signing.kid == kid)
    }
}
