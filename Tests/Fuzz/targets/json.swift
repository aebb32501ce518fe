// JSON parser, differential: JSONParser against Foundation's JSONSerialization. Whenever
// Foundation accepts a document as valid UTF-8 JSON within our depth limit, ours must accept it
// and agree on the value; whenever ours accepts, its encoding must parse back to the same value.
@testable import AuthCrypto
import Foundation

func depth(_ bytes: [UInt8]) -> Int {
    var d = 0, m = 0, inString = false, escaped = false
    for b in bytes {
        if inString {
            if escaped { escaped = false } else if b == 0x5C { escaped = true } else if b == 0x22 { inString = false }
            continue
        }
        switch b {
        case 0x22: inString = true
        case 0x5B, 0x7B: d += 1; m = max(m, d)
        case 0x5D, 0x7D: d -= 1
        default: break
        }
    }
    return m
}

func same(_ ours: JSON, _ theirs: Any) -> Bool {
    switch ours {
    case .null: return theirs is NSNull
    case let .bool(b):
        return (theirs as? NSNumber)?.boolValue == b
    case let .int(i):
        guard let n = theirs as? NSNumber else { return false }
        return n.int64Value == i || n.doubleValue == Double(i)
    case let .double(d):
        guard let n = theirs as? NSNumber else { return false }
        return n.doubleValue == d || (abs(n.doubleValue - d) <= abs(d) * 1e-12)
    case let .string(s): return (theirs as? String) == s
    case let .array(a):
        guard let t = theirs as? [Any], t.count == a.count else { return false }
        return zip(a, t).allSatisfy { same($0, $1) }
    case let .object(pairs):
        guard let t = theirs as? [String: Any] else { return false }
        var last: [String: JSON] = [:]
        for (k, v) in pairs { last[k] = v }
        guard last.count == t.count else { return false }
        return last.allSatisfy { k, v in t[k].map { same(v, $0) } ?? false }
    }
}

func fuzzOne(_ bytes: [UInt8]) {
    let ours = JSONParser.parse(bytes)
    if let ours {
        let again = JSONParser.parse(ours.encoded())
        fuzzCheck(again == ours, "re-encoding changed the value: \(ours.encodedString)")
    }
    // Oracle only on what both are meant to accept: UTF-8 text, a container or scalar at the top,
    // within our depth limit; Foundation's number edge cases (huge exponents) are skipped.
    // (No NUL bytes: Foundation then detects UTF-16/UTF-32 by the NUL pattern; we read only UTF-8.)
    guard String(validating: bytes, as: UTF8.self) != nil, !bytes.contains(0),
          depth(bytes) <= 30, bytes.count < 4096 else { return }
    guard let theirs = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else { return }
    if containsNumberEdge(theirs) || hasSurrogateEscape(bytes) || hasDuplicateKey(bytes) { return }
    fuzzCheck(ours != nil, "Foundation accepts, JSONParser refuses: \(String(decoding: bytes, as: UTF8.self))")
    if let ours { fuzzCheck(same(ours, theirs), "values differ: \(ours.encodedString)") }
}

func containsNumberEdge(_ v: Any) -> Bool {
    if let n = v as? NSNumber {
        let d = n.doubleValue
        return !d.isFinite || abs(d) > 9.0e15 || (d != 0 && abs(d) < 1e-300)
    }
    if let a = v as? [Any] { return a.contains(where: containsNumberEdge) }
    if let o = v as? [String: Any] { return o.values.contains(where: containsNumberEdge) }
    return false
}

/// JSONParser refuses lone surrogates by design; the oracle skips any surrogate escape.
func hasSurrogateEscape(_ b: [UInt8]) -> Bool {
    guard b.count >= 4 else { return false }
    for i in 0..<(b.count - 3) where b[i] == 0x5C && b[i + 1] == 0x75 && (b[i + 2] | 0x20) == 0x64 {
        let c = b[i + 3] | 0x20
        if c == 0x38 || c == 0x39 || (c >= 0x61 && c <= 0x66) { return true }
    }
    return false
}

/// JSONParser refuses duplicate keys and trailing commas by design (Foundation keeps one key and
/// accepts `[0,]`): an independent scan of the (already Foundation-valid) text, keys decoded by
/// Foundation itself.
func hasDuplicateKey(_ b: [UInt8]) -> Bool {
    var stack: [(isObject: Bool, keys: Set<String>)] = []
    var expectKey = false
    var lastToken: UInt8 = 0
    var i = 0
    while i < b.count {
        let c = b[i]
        if (c == 0x5D || c == 0x7D) && lastToken == 0x2C { return true }
        if c != 0x20 && c != 0x09 && c != 0x0A && c != 0x0D { lastToken = c }
        switch c {
        case 0x7B: stack.append((true, [])); expectKey = true
        case 0x5B: stack.append((false, [])); expectKey = false
        case 0x7D, 0x5D: _ = stack.popLast(); expectKey = false
        case 0x2C: expectKey = stack.last?.isObject ?? false
        case 0x22:
            var j = i + 1
            while j < b.count && b[j] != 0x22 { j += b[j] == 0x5C ? 2 : 1 }
            if expectKey, j < b.count {
                let key = (try? JSONSerialization.jsonObject(with: Data(b[i...j]), options: [.fragmentsAllowed])) as? String ?? ""
                if !stack[stack.count - 1].keys.insert(key).inserted { return true }
                expectKey = false
            }
            i = j
        default: break
        }
        i += 1
    }
    return false
}
