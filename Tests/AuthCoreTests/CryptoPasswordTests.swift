import Dispatch
import Foundation
import TestSupport
import Testing
@testable import AuthCrypto

@Suite struct CryptoPasswordTests {
    let cheap = ScryptParameters(ln: 4, r: 8, p: 1)

    @Test func parametersParse() {
        #expect(ScryptParameters("ln=15,r=8,p=3") == ScryptParameters(ln: 15, r: 8, p: 3))
        #expect(ScryptParameters("ln=15,r=8,p=3")?.description == "ln=15,r=8,p=3")
        for bad in ["", "ln=15,r=8", "ln=15,r=8,p=3,x=1", "r=8,ln=15,p=3", "ln=0,r=8,p=1", "ln=99,r=8,p=1",
                    "ln=015,r=8,p=3", "ln=-1,r=8,p=1", "ln=15,r=0,p=1", "ln=a,r=8,p=1", "ln=15, r=8,p=3"] {
            #expect(ScryptParameters(bad) == nil, "\(bad)")
        }
    }

    @Test func makeAndVerify() throws {
        let encoded = try PasswordHash.make(password: "correct horse", parameters: cheap)
        #expect(encoded.hasPrefix("$scrypt$ln=4,r=8,p=1$"))
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
        #expect(parts.count == 5)
        #expect(Base64.decode(String(parts[3]))?.count == 16)
        #expect(Base64.decode(String(parts[4]))?.count == 32)
        #expect(PasswordHash.verify(password: "correct horse", encoded: encoded))
        #expect(!PasswordHash.verify(password: "correct horsf", encoded: encoded))
        #expect(!PasswordHash.verify(password: "", encoded: encoded))
        #expect(PasswordHash.parameters(of: encoded) == cheap)
        // Salted: the same password hashes differently.
        #expect(try PasswordHash.make(password: "correct horse", parameters: cheap) != encoded)
        // Unicode passwords hash their UTF-8 bytes.
        let uni = try PasswordHash.make(password: "pässwörd ✓", parameters: cheap)
        #expect(PasswordHash.verify(password: "pässwörd ✓", encoded: uni))
    }

    @Test func verifyRefusesGarbage() throws {
        let encoded = try PasswordHash.make(password: "pw", parameters: cheap)
        for bad in ["", "$scrypt$", "plain", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
                    encoded.replacingOccurrences(of: "ln=4", with: "ln=5"),
                    encoded + "x", String(encoded.dropLast(4)),
                    encoded.replacingOccurrences(of: "$scrypt$", with: "$Scrypt$")] {
            #expect(!PasswordHash.verify(password: "pw", encoded: bad), "\(bad)")
        }
        #expect(PasswordHash.parameters(of: "nope") == nil)
    }

    @Test func scryptRefusesBadParameters() {
        #expect(throws: PasswordHashError.self) { try PasswordHash.scrypt(password: [], salt: [], n: 3, r: 1, p: 1, length: 32) }
        #expect(throws: PasswordHashError.self) { try PasswordHash.scrypt(password: [], salt: [], n: 16, r: 1, p: 1, length: 0) }
        // Memory beyond the 64 MiB cap is refused, not allocated.
        #expect(throws: PasswordHashError.self) { try PasswordHash.scrypt(password: [], salt: [], n: 1 << 20, r: 8, p: 1, length: 32) }
    }

    /// The production defaults need ~32 MiB: this proves the explicit maxmem is passed.
    @Test func defaultParametersWork() throws {
        let encoded = try PasswordHash.make(password: "default cost", parameters: .default)
        #expect(encoded.hasPrefix("$scrypt$ln=15,r=8,p=3$"))
        #expect(PasswordHash.verify(password: "default cost", encoded: encoded))
    }

    /// Uses dedicated threads (not Dispatch's small global pool, which blocked callers could exhaust).
    @Test func hashLimiterRefusesBeyondQueue() throws {
        let limiter = HashLimiter(concurrency: 1, queue: 1)
        let release = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            _ = try? limiter.run { started.signal(); _ = release.wait(timeout: .now() + 30) }
            finished.signal()
        }
        #expect(started.wait(timeout: .now() + 10) == .success)
        #expect(limiter.pending == 1)
        Thread.detachNewThread {
            _ = try? limiter.run { }
            finished.signal()
        }
        try waitFor("a second caller queued in the hash limiter", every: 1_000) { limiter.pending == 2 }
        #expect(throws: HashLimiterBusy.self) { try limiter.run { 1 } }
        #expect(limiter.pending == 2)
        release.signal()
        #expect(finished.wait(timeout: .now() + 10) == .success)
        #expect(finished.wait(timeout: .now() + 10) == .success)
        #expect(limiter.pending == 0)
        #expect(try limiter.run { 42 } == 42)
    }

    @Test func hashLimiterPropagatesErrors() {
        struct Boom: Error {}
        let limiter = HashLimiter(concurrency: 2, queue: 0)
        #expect(throws: Boom.self) { try limiter.run { throw Boom() } }
        #expect(limiter.pending == 0)
    }
}
