import Foundation
import Testing
@testable import AuthCrypto

@Suite struct JWTFuzzTests {
    static let interesting: [UInt8] = Array("._-=+/ \"\\{}[]:,0123456789AaZz\r\n".utf8) + [0, 0x7F, 0x80, 0xC3, 0xFF]

    static func mutate(_ input: [UInt8], rng: inout SplitMix) -> [UInt8] {
        var b = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            switch Int.random(in: 0..<7, using: &rng) {
            case 0 where !b.isEmpty:  // flip one bit
                let i = Int.random(in: 0..<b.count, using: &rng)
                b[i] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
            case 1 where !b.isEmpty:  // replace with an interesting byte
                b[Int.random(in: 0..<b.count, using: &rng)] = interesting.randomElement(using: &rng)!
            case 2:  // insert
                b.insert(interesting.randomElement(using: &rng)!, at: Int.random(in: 0...b.count, using: &rng))
            case 3 where !b.isEmpty:  // delete
                b.remove(at: Int.random(in: 0..<b.count, using: &rng))
            case 4 where !b.isEmpty:  // truncate
                b.removeLast(Int.random(in: 0...min(b.count, 8), using: &rng))
            case 5 where b.count > 2:  // duplicate a slice
                let i = Int.random(in: 0..<b.count, using: &rng)
                let j = Int.random(in: i..<min(b.count, i + 16), using: &rng)
                b.insert(contentsOf: b[i...j], at: Int.random(in: 0...b.count, using: &rng))
            default:  // random byte anywhere
                b.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...b.count, using: &rng))
            }
        }
        return b
    }

    @Test func mutatedTokensAndRandomBytes() {
        var rng = SplitMix.seeded("JWTFuzzTests")
        let seed = rng.seed
        // Keys and claims come from the generator too, so a replayed seed mutates the same tokens.
        let ring = KeyRing(keys: [SigningKey(kid: "ka", secret: rng.bytes(32)), SigningKey(kid: "kb", secret: rng.bytes(32))])
        let valid = (0..<8).map { i in
            JWT.sign(AccessClaims(iss: "authgate", aud: "2signal", sub: rng.uuid(), tid: rng.uuid(), email: "ann@example.com",
                                  role: "agent", sid: rng.uuid(), jti: rng.uuid(), iat: JWTFixture.now, exp: JWTFixture.now + 3600),
                     key: ring.keys[i % 2])
        }
        let validSet = Set(valid)
        let forgedPayloads = (0..<4).map { _ in Array(JWTFixture.payload().utf8) }
            + [Array(#"{"alg":"HS256","typ":"JWT","kid":"ka"}"#.utf8), Array(#"{"a":[1,{"b":-0.5e3}],"c":"\u00e9"}"#.utf8)]
        let deadline = Date().addingTimeInterval(2)
        var iterations = 0
        var accepted = 0
        while Date() < deadline {
            for _ in 0..<200 {
                iterations += 1
                let base = Array(valid.randomElement(using: &rng)!.utf8)
                let candidate = Int.random(in: 0..<10, using: &rng) == 0
                    ? (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    : Self.mutate(base, rng: &rng)
                let token = String(decoding: candidate, as: UTF8.self)
                let result = JWT.verify(token, ring: ring, issuer: "authgate", audience: "2signal",
                                        now: JWTFixture.now, leeway: 30)
                if case .success = result {
                    accepted += 1
                    #expect(validSet.contains(token) && Array(token.utf8) == candidate,
                            "accepted a token that was never signed (seed \(seed)): \(token)")
                }
                // The JSON parser sees mutated JSON and raw garbage.
                let json = Self.mutate(forgedPayloads.randomElement(using: &rng)!, rng: &rng)
                let slow = JSONParser.parse(json)
                if let value = slow {
                    #expect(JSONParser.parse(value.encoded()) == value, "JSON round trip (seed \(seed))")
                }
                // The allocation-free claims reader agrees with the full parser on every input.
                let fastClaims = JWT.parseClaims(json)
                let slowClaims = slow.flatMap(AccessClaims.init(json:))
                #expect(fastClaims == slowClaims, "fast/slow claims disagree (seed \(seed)): \(String(decoding: json, as: UTF8.self))")
                let fastHeader = JWT.Header(json)
                let slowHeaderOK = slow.map { if case .object = $0 { true } else { false } } ?? false
                #expect((fastHeader != nil) == slowHeaderOK, "header parse disagrees (seed \(seed))")
                _ = JSONParser.parse(candidate)
            }
        }
        print("JWT fuzz: \(iterations) iterations, \(accepted) accepted (all unmodified)")
        #expect(iterations > 1000)
        for token in valid { #expect(JWT.verify(token, ring: ring, issuer: "authgate", audience: "2signal", now: JWTFixture.now, leeway: 30).isSuccess) }
    }
}
