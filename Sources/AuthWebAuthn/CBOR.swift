/// The CBOR (RFC 8949) subset WebAuthn carries, decoded strictly: unsigned and negative integers
/// that fit an Int64, byte and text strings (text must be UTF-8), arrays, maps with integer, text
/// or byte-string keys, false, true and null. Everything else is refused: tags, floats,
/// `undefined`, simple values, indefinite lengths, reserved additional information, integer
/// heads longer than needed (CTAP2's canonical form), duplicate map keys, and nesting deeper
/// than `maxDepth`. A length is checked against the bytes left before anything is allocated, so
/// a hostile length costs nothing. Map key order is not checked (CTAP2 sorts keys, but a
/// different order changes no meaning, and refusing it would lock out a sloppy authenticator).
public indirect enum CBOR: Sendable, Equatable {
    case int(Int64)
    case bytes([UInt8])
    case text(String)
    case array([CBOR])
    /// Pairs in wire order; keys are unique.
    case map([(CBOR, CBOR)])
    case bool(Bool)
    case null

    public static func == (a: CBOR, b: CBOR) -> Bool {
        switch (a, b) {
        case let (.int(x), .int(y)): return x == y
        case let (.bytes(x), .bytes(y)): return x == y
        case let (.text(x), .text(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.map(x), .map(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.bool(x), .bool(y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    /// The value under an integer key of a map (COSE labels).
    public subscript(label: Int64) -> CBOR? {
        guard case let .map(pairs) = self else { return nil }
        return pairs.first { $0.0 == .int(label) }?.1
    }

    /// The value under a text key of a map.
    public subscript(key: String) -> CBOR? {
        guard case let .map(pairs) = self else { return nil }
        return pairs.first { $0.0 == .text(key) }?.1
    }

    public var intValue: Int64? { if case let .int(v) = self { v } else { nil } }
    public var bytesValue: [UInt8]? { if case let .bytes(v) = self { v } else { nil } }
    public var textValue: String? { if case let .text(v) = self { v } else { nil } }
    public var arrayValue: [CBOR]? { if case let .array(v) = self { v } else { nil } }
    public var mapValue: [(CBOR, CBOR)]? { if case let .map(v) = self { v } else { nil } }
}

/// Why a CBOR input was refused, with the offset where the decoder stopped.
public struct CBORError: Error, Equatable, Sendable, CustomStringConvertible {
    public let reason: String
    public let offset: Int
    public var description: String { "CBOR: \(reason) at byte \(offset)" }
}

public enum CBORDecoder {
    public static let defaultMaxDepth = 16
    /// Items (of any kind, nested included) one input may hold: bounds the work on hostile input.
    public static let defaultMaxItems = 4096

    /// Decodes exactly one item that spans all of `bytes` (trailing bytes are refused).
    public static func decode(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(CBORError) -> CBOR {
        let (value, end) = try decodePrefix(bytes[...], maxDepth: maxDepth)
        guard end == bytes.endIndex else { throw CBORError(reason: "trailing bytes", offset: end) }
        return value
    }

    /// Decodes one item at the start of `bytes` and returns it with the index just past it (the
    /// COSE key inside authenticator data is followed by more data).
    public static func decodePrefix(_ bytes: ArraySlice<UInt8>, maxDepth: Int = defaultMaxDepth) throws(CBORError) -> (CBOR, Int) {
        var reader = Reader(bytes: bytes, position: bytes.startIndex, itemsLeft: defaultMaxItems)
        let value = try reader.item(depthLeft: maxDepth)
        return (value, reader.position)
    }

    private struct Reader {
        let bytes: ArraySlice<UInt8>
        var position: Int
        var itemsLeft: Int

        func fail(_ reason: String) -> CBORError { CBORError(reason: reason, offset: position) }

        var remaining: Int { bytes.endIndex - position }

        mutating func byte() throws(CBORError) -> UInt8 {
            guard position < bytes.endIndex else { throw fail("unexpected end") }
            defer { position += 1 }
            return bytes[position]
        }

        /// The argument of a head: the value itself, in its shortest form only.
        mutating func argument(_ info: UInt8) throws(CBORError) -> UInt64 {
            let size: Int
            switch info {
            case 0..<24: return UInt64(info)
            case 24: size = 1
            case 25: size = 2
            case 26: size = 4
            case 27: size = 8
            case 31: throw fail("indefinite length")
            default: throw fail("reserved additional information \(info)")
            }
            guard remaining >= size else { throw fail("unexpected end") }
            var value: UInt64 = 0
            for _ in 0..<size { value = value << 8 | UInt64(try byte()) }
            let shortest: UInt64 = size == 1 ? 24 : size == 2 ? 0x100 : size == 4 ? 0x1_0000 : 0x1_0000_0000
            guard value >= shortest else { throw fail("integer not in its shortest form") }
            return value
        }

        mutating func length(_ info: UInt8) throws(CBORError) -> Int {
            let n = try argument(info)
            guard n <= UInt64(remaining) else { throw fail("length \(n) beyond the input") }
            return Int(n)
        }

        mutating func item(depthLeft: Int) throws(CBORError) -> CBOR {
            guard depthLeft > 0 else { throw fail("nested too deep") }
            guard itemsLeft > 0 else { throw fail("too many items") }
            itemsLeft -= 1
            let head = try byte()
            let major = head >> 5, info = head & 0x1F
            switch major {
            case 0:
                let v = try argument(info)
                guard v <= UInt64(Int64.max) else { throw fail("integer out of range") }
                return .int(Int64(v))
            case 1:
                let v = try argument(info)
                guard v <= UInt64(Int64.max) else { throw fail("integer out of range") }
                return .int(-1 - Int64(v))
            case 2:
                let n = try length(info)
                defer { position += n }
                return .bytes(Array(bytes[position..<position + n]))
            case 3:
                let n = try length(info)
                guard let s = String(validating: bytes[position..<position + n], as: UTF8.self) else {
                    throw fail("text is not UTF-8")
                }
                position += n
                return .text(s)
            case 4:
                let n = try length(info) // each element takes at least one byte
                var out: [CBOR] = []
                out.reserveCapacity(n)
                for _ in 0..<n { out.append(try item(depthLeft: depthLeft - 1)) }
                return .array(out)
            case 5:
                let n = try argument(info)
                guard n <= UInt64(remaining / 2) else { throw fail("map of \(n) pairs beyond the input") }
                var pairs: [(CBOR, CBOR)] = []
                pairs.reserveCapacity(Int(n))
                var seen = Set<Key>()
                for _ in 0..<Int(n) {
                    let keyAt = position
                    let key = try item(depthLeft: depthLeft - 1)
                    guard let k = Key(key) else { throw CBORError(reason: "map key is not an integer or a string", offset: keyAt) }
                    guard seen.insert(k).inserted else { throw CBORError(reason: "duplicate map key", offset: keyAt) }
                    pairs.append((key, try item(depthLeft: depthLeft - 1)))
                }
                return .map(pairs)
            case 6:
                throw fail("tags are not accepted")
            default:
                switch info {
                case 20: return .bool(false)
                case 21: return .bool(true)
                case 22: return .null
                default: throw fail("simple value or float \(info) is not accepted")
                }
            }
        }
    }

    private enum Key: Hashable {
        case int(Int64), text(String), bytes([UInt8])
        init?(_ value: CBOR) {
            switch value {
            case let .int(v): self = .int(v)
            case let .text(v): self = .text(v)
            case let .bytes(v): self = .bytes(v)
            default: return nil
            }
        }
    }
}
