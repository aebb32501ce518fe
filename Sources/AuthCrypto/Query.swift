/// The one query-string parser and percent-decoder of Authgate, shared by the nginx gate
/// (verify route, API routes) and the WebSocket companion: two parsers that disagree are a
/// vulnerability class (one checks what the other did not see).
///
/// Pairs are separated by `&` or `;` (some frameworks split on `;` too); empty pairs are
/// skipped; a pair without `=` is a name with no value. Nothing is decoded here: callers get
/// the raw text and decode with `Query.decode`.
public enum Query {
    public struct Parameter: Equatable, Sendable {
        /// Raw name, exactly as sent (not decoded).
        public var name: Substring
        /// Raw value (not decoded); nil when the pair has no `=`.
        public var value: Substring?
        /// The whole pair as sent.
        public var pair: Substring
    }

    public static func isSeparator(_ c: Character) -> Bool { c == "&" || c == ";" }

    public static func parameters(_ query: Substring) -> [Parameter] {
        guard !query.isEmpty else { return [] }
        return query.split(whereSeparator: isSeparator).map { pair in
            if let eq = pair.firstIndex(of: "=") {
                return Parameter(name: pair[..<eq], value: pair[pair.index(after: eq)...], pair: pair)
            }
            return Parameter(name: pair, value: nil, pair: pair)
        }
    }

    public static func parameters(_ query: String) -> [Parameter] { parameters(Substring(query)) }

    /// Percent-decoding with form semantics (`+` is a space). Strict: a `%` not followed by two
    /// hex digits, or bytes that are not UTF-8, give nil. `lenient` keeps a malformed escape as
    /// literal text instead (what PHP and most frameworks do with parameter names).
    public static func decode(_ s: Substring, lenient: Bool = false) -> String? {
        guard s.utf8.contains(where: { $0 == 0x25 || $0 == 0x2B }) else { return String(s) }
        let bytes = Array(s.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x25 {
                if i + 2 < bytes.count, let h = hexValue(bytes[i + 1]), let l = hexValue(bytes[i + 2]) {
                    out.append(h << 4 | l)
                    i += 3
                    continue
                }
                guard lenient else { return nil }
                out.append(b)
            } else if b == 0x2B {
                out.append(0x20)
            } else {
                out.append(b)
            }
            i += 1
        }
        if let text = String(validating: out, as: UTF8.self) { return text }
        return lenient ? String(decoding: out, as: UTF8.self) : nil
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }

    /// The name an app framework behind the gate could see for a raw parameter name, by rule
    /// (the union of what PHP, Rails/Rack, Django, Express/qs, Go and C-string CGI code do):
    /// 1. percent-decode (leniently, `+` as space), repeated up to 3 times (double decoders);
    /// 2. cut at the first NUL (C strings);
    /// 3. strip leading and trailing whitespace, control characters and `+`;
    /// 4. lowercase (ASCII, plus the Turkish `İ`/`ı` as `i`);
    /// 5. an array suffix (`[` with a later `]`) is cut at the `[` (`tenant_id[]`, `tenant_id[x]`);
    /// 6. `.`, space, `[` and `-` become `_` (PHP's conversion, and header-style dashes).
    public static func frameworkName(_ raw: Substring) -> String {
        var name = String(raw)
        for _ in 0..<3 {
            guard let next = decode(Substring(name), lenient: true), next != name else { break }
            name = next
        }
        if let nul = name.firstIndex(of: "\u{0}") { name = String(name[..<nul]) }
        func trimmable(_ c: Character) -> Bool {
            c == "+" || c.unicodeScalars.allSatisfy { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }
        }
        var s = Substring(name)
        while let f = s.first, trimmable(f) { s.removeFirst() }
        while let l = s.last, trimmable(l) { s.removeLast() }
        var lowered = ""
        lowered.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "İ", "ı": lowered.append("i")
            default: lowered += c.isASCII ? c.lowercased() : String(c)
            }
        }
        if let open = lowered.firstIndex(of: "["), lowered[open...].contains("]") {
            lowered = String(lowered[..<open])
        }
        return String(lowered.map { $0 == "." || $0 == " " || $0 == "[" || $0 == "-" ? "_" : $0 })
    }

    public enum TenantRefusal: Error, Equatable, Sendable {
        /// A name that is not exactly `tenant_id` but that a framework could read as it.
        case disguised
        case repeated
        /// Empty, missing `=`, or a value with `%`/`+` (decoders disagree on those).
        case malformedValue
    }

    /// The single `tenant_id` value of a query, nil when absent. Accepted only as the exact raw
    /// name `tenant_id`, once, with a non-empty value free of `%` and `+`; any other parameter
    /// whose `frameworkName` is `tenant_id` is refused.
    public static func tenant(_ query: Substring) -> Result<String?, TenantRefusal> {
        // A name that frameworkName reads as tenant_id holds "tenant" (ASCII, any case) or a `%`
        // (the same rule as nginx's cache-scope map): without either there is nothing to find,
        // and the verify path skips the per-parameter work (a profile showed ~20k instructions).
        guard mayNameTenant(query) else { return .success(nil) }
        var found: String?
        for p in parameters(query) {
            let exact = p.name == "tenant_id"
            if !exact {
                if frameworkName(p.name) == "tenant_id" { return .failure(.disguised) }
                continue
            }
            if found != nil { return .failure(.repeated) }
            guard let value = p.value, !value.isEmpty,
                  !value.utf8.contains(where: { $0 == 0x25 || $0 == 0x2B || $0 < 0x21 || $0 == 0x7F })
            else { return .failure(.malformedValue) }
            found = String(value)
        }
        return .success(found)
    }

    public static func tenant(_ query: String) -> Result<String?, TenantRefusal> { tenant(Substring(query)) }

    /// `%` anywhere, or `tenant` in any ASCII letter case.
    static func mayNameTenant(_ query: Substring) -> Bool {
        // On the contiguous bytes when there are (always, for a native string): the Substring's
        // UTF-8 view walked by index was most of this function's cost on the verify path.
        query.utf8.withContiguousStorageIfAvailable { mayNameTenant(bytes: $0) } ?? mayNameTenant(bytes: query.utf8)
    }

    @inline(__always)
    static func mayNameTenant<Bytes: Sequence<UInt8>>(bytes query: Bytes) -> Bool {
        // "tenant", byte i at bits 8i (a constant, not an array allocated per verify).
        let word: UInt64 = 0x74_6E_61_6E_65_74
        var matched: UInt64 = 0
        for b in query {
            if b == 0x25 { return true }
            let lower = (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b
            if lower == UInt8(truncatingIfNeeded: word >> (matched &* 8)) {
                matched += 1
                if matched == 6 { return true }
            } else {
                // "tenant" has no proper prefix that is also a suffix except "t": restart there.
                matched = lower == 0x74 ? 1 : 0
            }
        }
        return false
    }
}
