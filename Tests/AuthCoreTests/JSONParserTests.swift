import Testing
@testable import AuthCrypto

@Suite struct JSONParserTests {
    func parse(_ s: String) -> JSON? { JSONParser.parse(Array(s.utf8)) }

    @Test func values() {
        #expect(parse("null") == .null)
        #expect(parse(" true ") == .bool(true))
        #expect(parse("false") == .bool(false))
        #expect(parse("0") == .int(0))
        #expect(parse("-12") == .int(-12))
        #expect(parse("9223372036854775807") == .int(.max))
        #expect(parse("-9223372036854775808") == .int(.min))
        #expect(parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
        #expect(parse("1.5") == .double(1.5))
        #expect(parse("1e3") == .double(1000))
        #expect(parse("-0.25E-2") == .double(-0.0025))
        #expect(parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{8}\u{c}\n\r\t"))
        #expect(parse(#""\u00e9\u20AC\ud83d\ude00""#) == .string("é€😀"))
        #expect(parse("\"zoë ✓ 😀\"") == .string("zoë ✓ 😀"))
        #expect(parse(#"{"a":[1,{"b":null}],"c":"d"}"#) == .object([("a", .array([.int(1), .object([("b", .null)])])), ("c", .string("d"))]))
        #expect(parse("[]") == .array([]))
        #expect(parse("{ }") == .object([]))
        #expect(parse("\t\r\n[ 1 , 2 ]\n") == .array([.int(1), .int(2)]))
    }

    @Test func rejects() {
        let bad = ["", " ", "nul", "tru", "True", "NaN", "Infinity", "-", "01", "-01", "1.", ".5", "1e", "1e+", "+1",
                   "0x10", "1 2", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\"}", "{a:1}", "{'a':1}", "[1", "{\"a\":1",
                   "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u123g\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
                   "\"a\u{01}b\"", "\"tab\there\"", "{\"a\":1,\"a\":2}", "[1]x", "1e999", "//c\n1", "[1]\u{0}"]
        for s in bad { #expect(parse(s) == nil, "\(s.debugDescription)") }
    }

    @Test func rejectsInvalidUTF8() {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xE0, 0x80, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xC3, 0x22], [0x22, 0x80, 0x22], [0x22, 0xF0, 0x9F, 0x98, 0x22],
        ]
        for c in cases { #expect(JSONParser.parse(c) == nil, "\(c)") }
        #expect(JSONParser.parse([0x22, 0xC3, 0xA9, 0x22]) == .string("é"))
        #expect(JSONParser.parse([0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22]) == .string("😀"))
    }

    @Test func depthLimit() {
        let deep = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect(parse(deep) != nil)
        let tooDeep = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        #expect(parse(tooDeep) == nil)
        #expect(JSONParser.parse(Array(deep.utf8), maxDepth: 4) == nil)
        // Far too deep input must not blow the stack.
        #expect(parse(String(repeating: "[", count: 100_000)) == nil)
        #expect(parse(String(repeating: "{\"a\":", count: 100_000)) == nil)
    }

    @Test func roundTripsWithEncoder() {
        let value = JSON.object([("s", .string("a\"\\\n\u{1}\u{7f}é")), ("i", .int(-5)), ("d", .double(2.5)),
                                 ("b", .bool(false)), ("n", .null), ("a", .array([.int(1), .string("")]))])
        #expect(JSONParser.parse(value.encoded()) == value)
        #expect(JSONParser.parse(value.encodedString) == value)
    }
}
