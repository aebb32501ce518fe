import AuthCrypto
@testable import AuthWebAuthn
import Foundation
import Testing

/// Replays the `webauthn` libFuzzer seeds and regression inputs (Tests/Fuzz/corpus/webauthn,
/// Tests/Fuzz/regressions/webauthn) in process with the fuzz target's invariants, so every input
/// `make fuzz` ever reported stays fixed in `make test`; then a few thousand seeded mutations of
/// them (bit flips, cuts, insertions) as the short form of the fuzz run.
@Suite struct WebAuthnFuzzReplayTests {
    static let fuzzRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        url.deleteLastPathComponent()
        return url.path + "/Fuzz"
    }()

    static func inputs() -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        for kind in ["corpus", "regressions"] {
            let dir = "\(fuzzRoot)/\(kind)/webauthn"
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
                if let data = FileManager.default.contents(atPath: "\(dir)/\(name)") { out.append(("\(kind)/\(name)", Array(data))) }
            }
        }
        return out
    }

    /// The fuzz target's invariants (Tests/Fuzz/targets/webauthn.swift), as expectations.
    static func check(_ bytes: [UInt8], _ name: String) {
        if let value = try? CBORDecoder.decode(bytes) { #expect(value.encoded() == bytes, "\(name)") }
        if let (_, end) = try? CBORDecoder.decodePrefix(bytes[...]) { #expect(end > 0 && end <= bytes.count, "\(name)") }
        if let data = try? AuthenticatorData(bytes), let attested = data.attested {
            #expect((try? COSEKey(bytes: attested.cosePublicKey)) == attested.key, "\(name)")
        }
        let rp = try! WebAuthnRelyingParty(rpID: "localhost", origins: ["http://localhost:5000"])
        if let cred = try? WebAuthn.verifyRegistration(clientDataJSON: Array(#"{"type":"webauthn.create","challenge":"AQID","origin":"http://localhost:5000"}"#.utf8),
                                                       attestationObject: bytes, expectedChallenge: [1, 2, 3], rp: rp, requireUserVerification: false) {
            #expect(cred.flags.userPresent && ["none", "packed"].contains(cred.attestationFormat), "\(name)")
        }
    }

    @Test func seedsAndRegressions() {
        let all = Self.inputs()
        #expect(all.count >= 10)
        for (name, bytes) in all { Self.check(bytes, name) }
    }

    @Test func seededMutations() {
        var rng = UInt64(0x5EED_0022)
        func next() -> Int {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: rng >> 33)
        }
        let seeds = Self.inputs().map(\.1).filter { !$0.isEmpty }
        for i in 0..<3000 {
            var b = seeds[i % seeds.count]
            for _ in 0..<(1 + next() % 4) {
                switch next() % 4 {
                case 0: b[next() % b.count] ^= UInt8(1 << (next() % 8))
                case 1: b.removeLast(min(b.count - 1, next() % 8))
                case 2: b.insert(UInt8(truncatingIfNeeded: next()), at: next() % b.count)
                default: b[next() % b.count] = [0x00, 0x17, 0x18, 0x1F, 0x5F, 0x9F, 0xBF, 0xFF][next() % 8]
                }
            }
            Self.check(b, "mutation \(i)")
        }
    }
}
