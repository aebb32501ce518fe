/// A value bound to a statement parameter.
enum SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    case text(String)
    case int(Int64)
    case null

    init(stringLiteral value: String) { self = .text(value) }
    init(integerLiteral value: Int64) { self = .int(value) }
    init(nilLiteral: ()) { self = .null }

    static func text(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
    static func int(_ value: Int64?) -> SQLValue { value.map { .int($0) } ?? .null }
    static func int(_ value: Int) -> SQLValue { .int(Int64(value)) }
    static func bool(_ value: Bool) -> SQLValue { .int(value ? 1 : 0) }
}
