import AuthCrypto
import TestSupport
import Testing
@testable import AuthCore
import AuthHTTP

/// The last cuts of issue 20's allowed verify (callgrind-verify.sh) each replace a generic
/// operation by a hand-written one: each must answer exactly what the generic one answered.
@Suite struct VerifyHotPathRuleTests {
    /// The byte rule `HeaderValueBytes.isSafe` replaces (per-byte `allSatisfy`).
    static func byteRule(_ bytes: [UInt8]) -> Bool { bytes.allSatisfy { $0 == 9 || ($0 >= 32 && $0 != 127) } }

    static func isSafe(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBufferPointer { HeaderValueBytes.isSafe($0) } }

    @Test func headerValueRuleAgreesWithTheByteRuleForEveryByteAtEveryPosition() {
        // Every byte value at every position of buffers of 1...24 bytes (so in the word loop, at
        // each lane, and in the tail), with plain ASCII and UTF-8 (high bytes) around it.
        for filler: [UInt8] in [Array("abcdefghijklmnopqrstuvwx".utf8), Array("é€ÿ~ \t".utf8) + Array(repeating: 0xC3, count: 16)] {
            for length in 1...24 {
                for position in 0..<length {
                    for b in 0...255 {
                        var bytes = Array(filler.prefix(length))
                        bytes[position] = UInt8(b)
                        #expect(Self.isSafe(bytes) == Self.byteRule(bytes), "byte \(b) at \(position) of \(length)")
                    }
                }
            }
        }
        #expect(Self.isSafe([]))
    }

    @Test func headerValueRuleAgreesWithTheByteRuleOnRandomValues() {
        var rng = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0, 9, 10, 13, 31, 32, 33, 0x7E, 0x7F, 0x80, 0x9F, 0xA0, 0xC3, 0xFF] + Array(65...90)
        for _ in 0..<4_000 {
            let bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in
                Bool.random(using: &rng) ? alphabet.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            }
            #expect(Self.isSafe(bytes) == Self.byteRule(bytes), "\(bytes)")
        }
    }

    /// `Request.bearer` before issue 20's last step (the UTF-8 view walked by index).
    static func bearerBefore(_ value: String) -> String? {
        let utf8 = value.utf8
        let prefix: [UInt8] = [0x62, 0x65, 0x61, 0x72, 0x65, 0x72, 0x20]
        guard utf8.count > prefix.count else { return nil }
        var i = utf8.startIndex
        for p in prefix {
            let b = utf8[i]
            guard ((b >= 0x41 && b <= 0x5A) ? b | 0x20 : b) == p else { return nil }
            i = utf8.index(after: i)
        }
        var end = utf8.endIndex
        while i < end, utf8[i] == 0x20 || utf8[i] == 0x09 { i = utf8.index(after: i) }
        while end > i, utf8[utf8.index(before: end)] == 0x20 || utf8[utf8.index(before: end)] == 0x09 { end = utf8.index(before: end) }
        return String(value[i..<end])
    }

    @Test func bearerAgreesWithTheIndexWalk() {
        let samples = ["", "Bearer", "Bearer ", "Bearer  ", "Bearer \t", "Bearer x", "bearer x", "BEARER x", "bEaReR x",
                       "Bearerx", "Bearer\tx", "Basic x", "Bearer  \t x y \t ", "Bearer é", "Bearer  é\t", "Béarer x",
                       "Bearer \u{301}x", "\u{62}earer x ", "bearer\u{20}\u{20}", "Beare", "Bearer\u{A0}x",
                       "Bearer " + String(repeating: "a.b.", count: 80), "Bearer @", "Bearer \0x\0"]
        for value in samples {
            let request = Request(method: "GET", path: "/", headers: ["authorization": value])
            #expect(request.bearer == Self.bearerBefore(value), "\(value.debugDescription)")
        }
        #expect(Request(method: "GET", path: "/").bearer == nil)
        // Every byte value right after the prefix and at the end.
        for b in UInt8(0)...UInt8(127) {
            let c = String(decoding: [b], as: UTF8.self)
            for value in ["Bearer " + c + "tok", "Bearer tok" + c, "Bearer" + c + "tok", "bearer" + c] {
                let request = Request(method: "GET", path: "/", headers: ["authorization": value])
                #expect(request.bearer == Self.bearerBefore(value), "\(value.debugDescription)")
            }
        }
    }

    @Test func methodsAgreeWithTheJoin() {
        for amr: [String] in [[], ["pwd"], ["pwd", "otp"], ["otp", "pwd"], ["pwd", "otp", "hwk"], ["a", "b", "c", "d"], ["", ""]] {
            #expect(Identity.methods(amr) == amr.joined(separator: " "), "\(amr)")
        }
    }

    static func claims(_ sub: String) -> AccessClaims {
        AccessClaims(iss: "i", aud: "a", sub: sub, tid: "t", email: "e@x", role: "agent", sid: "s", jti: "j", iat: 1, exp: 2)
    }

    /// Two tokens that share their last 8 bytes share a memo slot: each is answered only with its
    /// own claims (the slot holds the whole token, compared in full), and the later one replaces.
    @Test func memoSlotsCompareTheWholeToken() throws {
        let temp = try TempDir("authgate-memo")
        defer { withExtendedLifetime(temp) {} }
        _ = try KeyRing.rotate(path: temp.path + "/keys")
        let ring = try KeyRingStore(path: temp.path + "/keys").current
        let memo = VerifiedTokenMemo()
        let tail = ".SIGNATURE-tail-0123456789"
        let a = "header.payloadA" + tail, b = "header.payloadB" + tail
        #expect(memo.claims(for: a, ring: ring) == nil)
        memo.remember(a, Self.claims("A"), ring: ring)
        #expect(memo.claims(for: a, ring: ring)?.sub == "A")
        #expect(memo.claims(for: b, ring: ring) == nil)
        #expect(memo.claims(for: String(a.dropFirst()), ring: ring) == nil)
        memo.remember(b, Self.claims("B"), ring: ring)
        #expect(memo.claims(for: b, ring: ring)?.sub == "B")
        #expect(memo.claims(for: a, ring: ring) == nil)
        // Many tokens: each one just remembered is found with its own claims.
        for i in 0..<3_000 {
            let t = "header.payload.\(i)-signature-\(i * 7919)"
            memo.remember(t, Self.claims("\(i)"), ring: ring)
            #expect(memo.claims(for: t, ring: ring)?.sub == "\(i)")
        }
        // Shorter than 16 bytes: not memoized (no JWT is).
        memo.remember("a.b.c", Self.claims("short"), ring: ring)
        #expect(memo.claims(for: "a.b.c", ring: ring) == nil)
        // Another ring: nothing is found.
        _ = try KeyRing.rotate(path: temp.path + "/keys2")
        let other = try KeyRingStore(path: temp.path + "/keys2").current
        memo.remember(a, Self.claims("A"), ring: ring)
        #expect(memo.claims(for: a, ring: other) == nil)
    }

    /// `SessionKey(utf8:)` before issue 20's last step (a switch per byte).
    static func sessionKeyBefore(_ b: [UInt8]) -> (UInt64, UInt64)? {
        guard b.count == 36 else { return nil }
        var hi: UInt64 = 0, lo: UInt64 = 0, n = 0
        for i in 0..<36 {
            let c = b[i]
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == UInt8(ascii: "-") else { return nil }
                continue
            }
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c &- UInt8(ascii: "a") &+ 10
            default: return nil
            }
            if n < 16 { hi = hi << 4 | UInt64(v) } else { lo = lo << 4 | UInt64(v) }
            n += 1
        }
        return (hi, lo)
    }

    @Test func sessionKeyAgreesWithTheSwitchPerByte() {
        let base = Array("0123abcd-ef45-4678-9abc-def012345678".utf8)
        var inputs: [[UInt8]] = [base, Array(base.dropLast()), base + [0x30], [], Array(base.prefix(35)) + [0x2D]]
        for position in 0..<36 {
            for b in 0...255 {
                var bytes = base
                bytes[position] = UInt8(b)
                inputs.append(bytes)
            }
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            inputs.append((0..<36).map { i in [8, 13, 18, 23].contains(i) ? 0x2D : Array("0123456789abcdefABCDEFg".utf8).randomElement(using: &rng)! })
        }
        for bytes in inputs {
            let now = bytes.withUnsafeBufferPointer { SessionKey(utf8: $0) }
            let before = Self.sessionKeyBefore(bytes)
            #expect(now.map { [$0.hi, $0.lo] } == before.map { [$0.0, $0.1] }, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
        }
    }
}
