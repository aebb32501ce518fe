/// Header names and request targets read on their bytes: the HTTP verify door does this for
/// every request, and the generic forms (a lowercased copy per name, a String comparison per
/// known name, a Character search for "?") were a large part of its cost. Each gives exactly
/// what the generic form gives (VerifyHotPathHeadRuleTests).
public struct HTTPHeaderNameTable: Sendable {
    let names: [[UInt8]]

    /// `names` lowercased, in the order they are tried.
    public init(_ names: [String]) {
        self.names = names.map { Array($0.lowercased().utf8) }
    }

    /// `names.firstIndex(of: name.lowercased())` for an ASCII name (ASCII case-insensitive).
    public func index(of name: UnsafeBufferPointer<UInt8>) -> Int? {
        for (i, lower) in names.enumerated() where lower.count == name.count && Self.same(name, lower) { return i }
        return nil
    }

    /// `name.lowercased().hasPrefix(prefix)` for an ASCII name and a lowercase ASCII prefix.
    public static func hasPrefix(_ name: UnsafeBufferPointer<UInt8>, lowercased prefix: [UInt8]) -> Bool {
        name.count >= prefix.count && same(UnsafeBufferPointer(rebasing: name[..<prefix.count]), prefix)
    }

    @inline(__always) static func same(_ name: UnsafeBufferPointer<UInt8>, _ lower: [UInt8]) -> Bool {
        lower.withUnsafeBufferPointer { l in
            for i in 0..<name.count where name[i] | (name[i] &- 65 < 26 ? 0x20 : 0) != l[i] { return false }
            return true
        }
    }
}

extension String {
    /// `lowercased()`, without the Unicode machinery (and a copy) for an ASCII string.
    public func lowercasedASCII() -> String {
        var s = self
        return s.withUTF8 { v -> String? in
            var upper = false
            for b in v {
                if b >= 0x80 { return nil }
                if b &- 65 < 26 { upper = true }
            }
            guard upper else { return nil }
            return String(unsafeUninitializedCapacity: v.count) { out in
                for i in 0..<v.count { out[i] = v[i] | (v[i] &- 65 < 26 ? 0x20 : 0) }
                return v.count
            }
        } ?? (s.utf8.allSatisfy { $0 < 0x80 } ? s : s.lowercased())
    }

    /// The part before the first "?" and the part after it ("" when there is none), split
    /// exactly where `firstIndex(of: "?")` splits: on the bytes when the string is ASCII (every
    /// byte a Character of its own), else by Characters.
    public func splitAtQuestionMark() -> (before: String, after: String) {
        var s = self
        let ascii = s.withUTF8 { v in v.allSatisfy { $0 < 0x80 } }
        if ascii {
            guard let mark = s.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (s, "") }
            return (String(s[..<mark]), String(s[s.utf8.index(after: mark)...]))
        }
        guard let mark = s.firstIndex(of: "?") else { return (s, "") }
        return (String(s[..<mark]), String(s[s.index(after: mark)...]))
    }
}
