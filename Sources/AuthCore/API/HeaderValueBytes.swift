/// The rule every door holds a header value it writes to: no control character but tab
/// (`b == 9 || (b >= 32 && b != 127)` for every byte).
public enum HeaderValueBytes {
    /// Eight bytes at a time (a word with no byte below 0x20 and no 0x7F passes whole), the byte
    /// rule only from a word that may hold one: the per-byte closure was about 1.3k instructions
    /// of an allowed verify's identity (`scripts/bench/callgrind-verify.sh`).
    @inlinable
    public static func isSafe(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        var i = 0
        if let base = v.baseAddress {
            while i + 8 <= v.count {
                let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                let del = w ^ (ones &* 0x7F)
                // Exact "some byte < 0x20" and "some byte == 0x7F" tests (the classic hasless/haszero).
                if ((w &- ones &* 0x20) & ~w & highs) | ((del &- ones) & ~del & highs) != 0 { break }
                i += 8
            }
        }
        while i < v.count {
            let b = v[i]
            guard b == 9 || (b >= 32 && b != 127) else { return false }
            i += 1
        }
        return true
    }
}
