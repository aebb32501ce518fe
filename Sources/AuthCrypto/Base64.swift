/// Unpadded base64url (RFC 4648 §5). `decode` accepts only the canonical form: no padding,
/// no whitespace, and the unused low bits of the last character must be zero, so each byte
/// string has exactly one encoding (a JWT cannot be altered without changing its signature input).
public enum Base64URL {
    public static func encode(_ b: [UInt8]) -> String {
        String(decoding: Base64Codec.encode(b, alphabet: Base64Codec.urlAlphabet, pad: false), as: UTF8.self)
    }

    public static func decode<S: StringProtocol>(_ s: S) -> [UInt8]? {
        let utf8 = s.utf8
        if let result = utf8.withContiguousStorageIfAvailable({ decode(bytes: $0[...]) }) { return result }
        return decode(bytes: Array(utf8)[...])
    }

    static func decode<C: Collection>(bytes: C) -> [UInt8]? where C.Element == UInt8 {
        Base64Codec.decode(bytes, table: Base64Codec.urlTable, padded: false)
    }
}

/// Standard padded base64 (RFC 4648 §4), canonical only.
public enum Base64 {
    public static func encode(_ b: [UInt8]) -> String {
        String(decoding: Base64Codec.encode(b, alphabet: Base64Codec.stdAlphabet, pad: true), as: UTF8.self)
    }

    public static func decode(_ s: String) -> [UInt8]? {
        Base64Codec.decode(Array(s.utf8), table: Base64Codec.stdTable, padded: true)
    }
}

enum Base64Codec {
    static let stdAlphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let urlAlphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    static let stdTable = table(stdAlphabet)
    static let urlTable = table(urlAlphabet)

    /// 0xFF marks bytes outside the alphabet.
    private static func table(_ alphabet: [UInt8]) -> [UInt8] {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }

    static func encode(_ b: [UInt8], alphabet: [UInt8], pad: Bool) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity((b.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= b.count {
            let v = UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2])
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(alphabet[Int(v >> 6 & 63)])
            out.append(alphabet[Int(v & 63)])
            i += 3
        }
        let rest = b.count - i
        if rest == 1 {
            let v = UInt32(b[i]) << 16
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            if pad { out.append(contentsOf: [61, 61]) }
        } else if rest == 2 {
            let v = UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(alphabet[Int(v >> 6 & 63)])
            if pad { out.append(61) }
        }
        return out
    }

    static func decode<C: Collection>(_ input: C, table: [UInt8], padded: Bool) -> [UInt8]? where C.Element == UInt8 {
        if let result = input.withContiguousStorageIfAvailable({ decode(buffer: $0, table: table, padded: padded) }) {
            return result
        }
        return Array(input).withUnsafeBufferPointer { decode(buffer: $0, table: table, padded: padded) }
    }

    static func decode(buffer input: UnsafeBufferPointer<UInt8>, table: [UInt8], padded: Bool) -> [UInt8]? {
        var count = input.count
        if padded {
            guard count % 4 == 0 else { return nil }
            if count > 0 && input[count - 1] == 61 { count -= 1 }
            if count > 0 && input[count - 1] == 61 { count -= 1 }
        }
        let rest = count % 4
        guard rest != 1 else { return nil }
        let outCount = count / 4 * 3 + (rest == 0 ? 0 : rest - 1)
        return table.withUnsafeBufferPointer { t -> [UInt8]? in
            var bad: UInt8 = 0
            let out = [UInt8](unsafeUninitializedCapacity: outCount) { o, initialized in
                var i = 0
                var j = 0
                while i + 4 <= count {
                    let a = t[Int(input[i])], b = t[Int(input[i + 1])], c = t[Int(input[i + 2])], d = t[Int(input[i + 3])]
                    bad |= a | b | c | d
                    let v = UInt32(a & 63) << 18 | UInt32(b & 63) << 12 | UInt32(c & 63) << 6 | UInt32(d & 63)
                    o[j] = UInt8(truncatingIfNeeded: v >> 16)
                    o[j + 1] = UInt8(truncatingIfNeeded: v >> 8)
                    o[j + 2] = UInt8(truncatingIfNeeded: v)
                    i += 4
                    j += 3
                }
                if rest == 2 {
                    let a = t[Int(input[i])], b = t[Int(input[i + 1])]
                    bad |= a | b
                    // The 4 unused low bits must be zero in the canonical encoding.
                    if b & 0x0F != 0 { bad |= 0xC0 }
                    o[j] = (a & 63) << 2 | (b & 63) >> 4
                } else if rest == 3 {
                    let a = t[Int(input[i])], b = t[Int(input[i + 1])], c = t[Int(input[i + 2])]
                    bad |= a | b | c
                    if c & 0x03 != 0 { bad |= 0xC0 }
                    o[j] = (a & 63) << 2 | (b & 63) >> 4
                    o[j + 1] = (b & 0x0F) << 4 | (c & 63) >> 2
                }
                initialized = outCount
            }
            // Invalid characters map to 0xFF, which sets bits no valid sextet has.
            return bad & 0xC0 == 0 ? out : nil
        }
    }
}
