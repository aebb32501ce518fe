/// The rule every door holds a header value it writes to: no control character but tab
/// (`b == 9 || (b >= 32 && b != 127)` for every byte).
public enum HeaderValueBytes {
    /// Eight bytes at a time (a word with no byte below 0x20 and no 0x7F passes whole), the byte
    /// rule only from a word that may hold one: the per-byte closure was about 1.3k instructions
    /// of an allowed verify's identity (`scripts/bench/callgrind-verify.sh`).
    @inlinable
    public static func isSafe(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = plainWords(v, stopAtHighBytes: false)
        while i < v.count {
            let b = v[i]
            guard b == 9 || (b >= 32 && b != 127) else { return false }
            i += 1
        }
        return true
    }

    /// How many leading bytes, in whole 8-byte words, certainly pass the byte rule: the scan stops
    /// at the first word that may hold a byte below 0x20 or 0x7F (tab included: the caller's byte
    /// loop decides), or, with `stopAtHighBytes`, a byte of 0x80 or more (the request-head parser
    /// also wants to know whether a value is all ASCII). The exact "some byte < 0x20" and "some
    /// byte == 0x7F" word tests (the classic hasless/haszero).
    @inlinable @inline(__always)
    public static func plainWords(_ v: UnsafeBufferPointer<UInt8>, stopAtHighBytes: Bool) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        var i = 0
        guard let base = v.baseAddress else { return 0 }
        while i + 8 <= v.count {
            let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            let del = w ^ (ones &* 0x7F)
            let high = stopAtHighBytes ? w & highs : 0
            if high | ((w &- ones &* 0x20) & ~w & highs) | ((del &- ones) & ~del & highs) != 0 { break }
            i += 8
        }
        return i
    }
}
