extension CBOR {
    /// The encoding in CTAP2's canonical head form (shortest arguments, definite lengths), map
    /// pairs in the order they are held. `CBORDecoder.decode(x.encoded()) == x`, and a decoded
    /// input encodes back to its own bytes.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        write(into: &out)
        return out
    }

    public func write(into out: inout [UInt8]) {
        switch self {
        case let .int(v):
            if v >= 0 { Self.head(0, UInt64(v), into: &out) } else { Self.head(1, UInt64(-1 - v), into: &out) }
        case let .bytes(b):
            Self.head(2, UInt64(b.count), into: &out)
            out.append(contentsOf: b)
        case let .text(s):
            Self.head(3, UInt64(s.utf8.count), into: &out)
            out.append(contentsOf: s.utf8)
        case let .array(items):
            Self.head(4, UInt64(items.count), into: &out)
            for item in items { item.write(into: &out) }
        case let .map(pairs):
            Self.head(5, UInt64(pairs.count), into: &out)
            for (k, v) in pairs {
                k.write(into: &out)
                v.write(into: &out)
            }
        case let .bool(b): out.append(b ? 0xF5 : 0xF4)
        case .null: out.append(0xF6)
        }
    }

    static func head(_ major: UInt8, _ value: UInt64, into out: inout [UInt8]) {
        let m = major << 5
        switch value {
        case 0..<24: out.append(m | UInt8(value))
        case 24..<0x100: out.append(contentsOf: [m | 24, UInt8(value)])
        case 0x100..<0x1_0000: out.append(contentsOf: [m | 25, UInt8(value >> 8), UInt8(value & 0xFF)])
        case 0x1_0000..<0x1_0000_0000:
            out.append(m | 26)
            for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        default:
            out.append(m | 27)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
    }
}
