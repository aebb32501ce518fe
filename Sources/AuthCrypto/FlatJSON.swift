/// An allocation-free reader for the flat JSON objects our own tokens carry (string and
/// integer members only). It accepts a strict subset of what `JSONParser` accepts: printable
/// ASCII strings without escapes, integers that fit Int64, no nesting. Anything else makes
/// `scan` return false and the caller falls back to `JSONParser`, so the fast path can never
/// accept an input the full parser would refuse.
enum FlatJSON {
    enum Value {
        case string(Range<Int>)
        case int(Int64)
        /// An array of plain strings (`amr`): the range between the brackets.
        case strings(Range<Int>)
    }

    /// Calls `member` for each key/value in order; `member` returning false aborts the scan.
    static func scan(_ b: UnsafeBufferPointer<UInt8>, _ member: (Range<Int>, Value) -> Bool) -> Bool {
        var i = 0
        func skipWhitespace() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        }
        func string() -> Range<Int>? {
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { return nil }
            i += 1
            let start = i
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\"") {
                    i += 1
                    return start..<(i - 1)
                }
                guard c >= 0x20, c < 0x7F, c != UInt8(ascii: "\\") else { return nil }
                i += 1
            }
            return nil
        }
        func integer() -> Int64? {
            let negative = i < b.count && b[i] == UInt8(ascii: "-")
            if negative { i += 1 }
            guard i < b.count, b[i] >= 0x30, b[i] <= 0x39 else { return nil }
            if b[i] == 0x30 {
                i += 1
                return 0
            }
            var value: Int64 = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                let digit = Int64(b[i] - 0x30)
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (v, o2) = negative ? m.subtractingReportingOverflow(digit) : m.addingReportingOverflow(digit)
                guard !o1, !o2 else { return nil }
                value = v
                i += 1
            }
            return value
        }

        skipWhitespace()
        guard i < b.count, b[i] == UInt8(ascii: "{") else { return false }
        i += 1
        skipWhitespace()
        if i < b.count, b[i] == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                skipWhitespace()
                guard let key = string() else { return false }
                skipWhitespace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { return false }
                i += 1
                skipWhitespace()
                guard i < b.count else { return false }
                let value: Value
                if b[i] == UInt8(ascii: "\"") {
                    guard let s = string() else { return false }
                    value = .string(s)
                } else if b[i] == UInt8(ascii: "[") {
                    i += 1
                    let start = i
                    skipWhitespace()
                    if i < b.count, b[i] != UInt8(ascii: "]") {
                        while true {
                            skipWhitespace()
                            guard string() != nil else { return false }
                            skipWhitespace()
                            guard i < b.count else { return false }
                            if b[i] == UInt8(ascii: ",") { i += 1; continue }
                            break
                        }
                    }
                    guard i < b.count, b[i] == UInt8(ascii: "]") else { return false }
                    value = .strings(start..<i)
                    i += 1
                } else {
                    guard let n = integer() else { return false }
                    value = .int(n)
                }
                guard member(key, value) else { return false }
                skipWhitespace()
                guard i < b.count else { return false }
                if b[i] == UInt8(ascii: ",") {
                    i += 1
                } else if b[i] == UInt8(ascii: "}") {
                    i += 1
                    break
                } else {
                    return false
                }
            }
        }
        skipWhitespace()
        return i == b.count
    }

    static func equals(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        return literal.withUTF8Buffer { l in
            for k in 0..<l.count where b[range.lowerBound + k] != l[k] { return false }
            return true
        }
    }

    /// The strings of a `.strings` range (already checked by `scan`: quoted, no escapes).
    static func strings(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> [String] {
        var out: [String] = []
        var i = range.lowerBound
        while i < range.upperBound {
            if b[i] == UInt8(ascii: "\"") {
                var j = i + 1
                while b[j] != UInt8(ascii: "\"") { j += 1 }
                out.append(string(b, (i + 1)..<j))
                i = j + 1
            } else {
                i += 1
            }
        }
        return out
    }

    static func string(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: b[range]), as: UTF8.self)
    }
}
