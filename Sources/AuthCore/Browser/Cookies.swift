/// Reading the `Cookie` header and writing `Set-Cookie` lines for the browser session.
public enum Cookies {
    /// The value of the first cookie called `name` (the same "first wins" rule as the nginx map
    /// that keys the verify micro-cache on it), nil when absent or empty.
    public static func value(_ name: String, in header: String?) -> String? {
        pair(name, name, in: header).0
    }

    /// Two cookies in one pass over the header (the verify route reads both on every request).
    /// Bytes, not Characters: grapheme-walking a 400-byte JWT twice cost ~80 µs a verify.
    public static func pair(_ first: String, _ second: String, in header: String?) -> (String?, String?) {
        guard let header, !header.isEmpty else { return (nil, nil) }
        let a = Array(first.utf8), b = Array(second.utf8)
        if let found = header.utf8.withContiguousStorageIfAvailable({ scan($0, a, b) }) { return found }
        return Array(header.utf8).withUnsafeBufferPointer { scan($0, a, b) }
    }

    private static func scan(_ h: UnsafeBufferPointer<UInt8>, _ a: [UInt8], _ b: [UInt8]) -> (String?, String?) {
        var found: (String?, String?) = (nil, nil)
        var seenA = false, seenB = false   // the first cookie of a name wins, even an empty one
        var i = 0
        while i < h.count && !(seenA && seenB) {
            while i < h.count && (h[i] == 0x20 || h[i] == 0x09) { i += 1 }
            let start = i
            var end = i
            while end < h.count && h[end] != 0x3B { end += 1 }   // ";"
            var eq = start
            while eq < end && h[eq] != 0x3D { eq += 1 }          // "="
            if eq < end {
                let name = UnsafeBufferPointer(rebasing: h[start..<eq])
                let isA = !seenA && name.elementsEqual(a), isB = !seenB && name.elementsEqual(b)
                if isA || isB {
                    var vs = eq + 1, ve = end
                    while ve > vs && (h[ve - 1] == 0x20 || h[ve - 1] == 0x09) { ve -= 1 }
                    if ve - vs >= 2 && h[vs] == 0x22 && h[ve - 1] == 0x22 { vs += 1; ve -= 1 }   // a quoted value
                    let value = ve > vs ? String(decoding: UnsafeBufferPointer(rebasing: h[vs..<ve]), as: UTF8.self) : nil
                    if isA { found.0 = value; seenA = true }
                    if isB { found.1 = value; seenB = true }
                }
            }
            i = end + 1
        }
        return found
    }

    /// The `Cookie` header without the named cookies (nil when nothing is left): what an
    /// upstream app receives, so it never holds Authgate's tokens.
    public static func removing(_ names: Set<String>, from header: String) -> String? {
        let kept = header.split(separator: ";").filter { part in
            let pair = part.drop(while: { $0 == " " || $0 == "\t" })
            let name = pair.prefix(while: { $0 != "=" })
            return !names.contains(String(name)) && !pair.isEmpty
        }.map { $0.drop(while: { $0 == " " || $0 == "\t" }) }
        return kept.isEmpty ? nil : kept.joined(separator: "; ")
    }

    /// RFC 6265 token characters we accept in a configured name.
    static func isValidName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.unicodeScalars.allSatisfy { c in
            c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "-" || c == "_" || c == ".")
        }
    }

    /// `HttpOnly; Secure; Path=/` always (the `__Host-` prefix requires Secure, Path=/ and no Domain).
    static func line(_ name: String, _ value: String, maxAge: Int64, sameSite: String) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(max(0, maxAge)); Secure; HttpOnly; SameSite=\(sameSite)"
    }
}
