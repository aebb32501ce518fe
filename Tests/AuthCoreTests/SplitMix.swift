import Foundation

/// A seeded generator (SplitMix64) for the fuzz-style tests. Every seeded test takes its seed
/// from `SplitMix.seeded(_:)`: AUTHGATE_FUZZ_SEED when set (a printed seed replays a run: the
/// same inputs in the same order), a random one otherwise; the seed is printed either way.
struct SplitMix: RandomNumberGenerator {
    static let environmentVariable = "AUTHGATE_FUZZ_SEED"

    var state: UInt64
    /// The seed this generator started from (for failure messages).
    var seed: UInt64 = 0
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The generator of one fuzz test.
    static func seeded(_ test: String) -> SplitMix {
        let given = ProcessInfo.processInfo.environment[environmentVariable].flatMap { UInt64($0) }
        let seed = given ?? UInt64.random(in: 0...UInt64.max)
        print("\(test) seed=\(seed) (replay with \(environmentVariable)=\(seed))\(given == nil ? "" : ", from the environment")")
        return SplitMix(state: seed, seed: seed)
    }

    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }

    /// A UUID-shaped string from the generator (so replayed inputs are identical).
    mutating func uuid() -> String {
        let hex = bytes(16).map { String(format: "%02x", $0) }.joined()
        let c = Array(hex)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
    }
}
