extension AccessClaims {
    enum FastParse {
        case claims(AccessClaims)
        case invalid
        /// Not a shape the fast reader handles: use `JSONParser` and `init?(json:)`.
        case fallback
    }

    private static let names: [StaticString] = ["iss", "aud", "sub", "tid", "email", "role", "sid", "jti", "iat", "exp", "aal", "amr"]

    /// Reads the claims of a token we issued without building a JSON tree. Unknown claims,
    /// escapes, non-ASCII text, or nesting fall back to the full parser.
    static func fastParse(_ b: UnsafeBufferPointer<UInt8>) -> FastParse {
        var ranges = [Range<Int>](repeating: 0..<0, count: 8)
        var iat: Int64 = 0
        var exp: Int64 = 0
        var aal: Int64 = 1
        var amr: Range<Int>?
        var seen: UInt16 = 0
        var typeError = false
        let scanned = FlatJSON.scan(b) { key, value in
            guard let slot = names.firstIndex(where: { FlatJSON.equals(b, key, $0) }) else { return false }
            guard seen & (1 << slot) == 0 else { return false }  // duplicate: let the full parser refuse it
            seen |= 1 << slot
            switch (slot, value) {
            case (8, .int(let v)): iat = v
            case (9, .int(let v)): exp = v
            case (10, .int(let v)) where v == 1 || v == 2: aal = v
            case (11, .strings(let r)): amr = r
            case (0..<8, .string(let r)): ranges[slot] = r
            default: typeError = true
            }
            return true
        }
        guard scanned else { return .fallback }
        guard !typeError, seen & 0x3FF == 0x3FF else { return .invalid }
        // Tokens issued before aal/amr existed carry neither: level 1, password.
        let methods = amr.map { FlatJSON.strings(b, $0) } ?? ["pwd"]
        guard methods.count <= 8 else { return .invalid }
        var strings: [String] = []
        strings.reserveCapacity(8)
        for r in ranges {
            // The scanner admits printable ASCII only, so no control characters can be present.
            strings.append(FlatJSON.string(b, r))
        }
        return .claims(AccessClaims(iss: strings[0], aud: strings[1], sub: strings[2], tid: strings[3], email: strings[4],
                                    role: strings[5], sid: strings[6], jti: strings[7], iat: iat, exp: exp,
                                    aal: aal, amr: methods))
    }
}
