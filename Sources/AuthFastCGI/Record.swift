/// FastCGI 1.0 wire constants (the specification's `fastcgi.h`), as structs with static members.
public struct RecordType: RawRepresentable, Equatable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let beginRequest = RecordType(rawValue: 1)
    public static let abortRequest = RecordType(rawValue: 2)
    public static let endRequest = RecordType(rawValue: 3)
    public static let params = RecordType(rawValue: 4)
    public static let stdin = RecordType(rawValue: 5)
    public static let stdout = RecordType(rawValue: 6)
    public static let stderr = RecordType(rawValue: 7)
    public static let data = RecordType(rawValue: 8)
    public static let getValues = RecordType(rawValue: 9)
    public static let getValuesResult = RecordType(rawValue: 10)
    public static let unknownType = RecordType(rawValue: 11)
}

public struct Role: RawRepresentable, Equatable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let responder = Role(rawValue: 1)
    public static let authorizer = Role(rawValue: 2)
    public static let filter = Role(rawValue: 3)
}

/// `protocolStatus` of an END_REQUEST record.
public struct ProtocolStatus: RawRepresentable, Equatable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let requestComplete = ProtocolStatus(rawValue: 0)
    public static let cantMultiplex = ProtocolStatus(rawValue: 1)
    public static let unknownRole = ProtocolStatus(rawValue: 3)
}

/// Record encoding: the answers a responder sends.
public enum RecordWriter {
    /// Content per STDOUT record: the largest multiple of 8 a record can carry (no padding needed).
    static let chunk = 65528

    public static func header(_ type: RecordType, id: UInt16, length: Int, into out: inout [UInt8]) {
        out.append(1)
        out.append(type.rawValue)
        out.append(UInt8(id >> 8))
        out.append(UInt8(id & 0xff))
        out.append(UInt8(length >> 8))
        out.append(UInt8(length & 0xff))
        out.append(0)
        out.append(0)
    }

    /// `stdout` as STDOUT records, the empty STDOUT that ends the stream, and END_REQUEST.
    public static func response(id: UInt16, stdout: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(stdout.count + 8 * (stdout.count / chunk + 3) + 8)
        var i = 0
        while i < stdout.count {
            let n = min(chunk, stdout.count - i)
            header(.stdout, id: id, length: n, into: &out)
            out.append(contentsOf: stdout[i..<(i + n)])
            i += n
        }
        header(.stdout, id: id, length: 0, into: &out)
        endRequest(id: id, status: .requestComplete, into: &out)
        return out
    }

    public static func endRequest(id: UInt16, status: ProtocolStatus, into out: inout [UInt8]) {
        header(.endRequest, id: id, length: 8, into: &out)
        out.append(contentsOf: [0, 0, 0, 0, status.rawValue, 0, 0, 0])
    }

    /// A name-value pair (spec §3.4): lengths below 128 in one byte, others in four.
    public static func nameValue(_ name: [UInt8], _ value: [UInt8], into out: inout [UInt8]) {
        for n in [name.count, value.count] {
            if n < 128 {
                out.append(UInt8(n))
            } else {
                out.append(UInt8((n >> 24) & 0x7f) | 0x80)
                out.append(UInt8((n >> 16) & 0xff))
                out.append(UInt8((n >> 8) & 0xff))
                out.append(UInt8(n & 0xff))
            }
        }
        out.append(contentsOf: name)
        out.append(contentsOf: value)
    }
}

/// Decodes a name-value pair stream. Returns nil when a pair is cut short or a length overflows.
public enum NameValuePairs {
    public static func decode(_ bytes: [UInt8]) -> [(name: Range<Int>, value: Range<Int>)]? {
        var pairs: [(name: Range<Int>, value: Range<Int>)] = []
        pairs.reserveCapacity(32)
        var i = 0
        func length() -> Int? {
            guard i < bytes.count else { return nil }
            if bytes[i] < 128 { i += 1; return Int(bytes[i - 1]) }
            guard i + 4 <= bytes.count else { return nil }
            let n = Int(bytes[i] & 0x7f) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            i += 4
            return n
        }
        while i < bytes.count {
            guard let n = length(), let v = length(), n <= bytes.count - i, v <= bytes.count - i - n else { return nil }
            pairs.append((i..<(i + n), (i + n)..<(i + n + v)))
            i += n + v
        }
        return pairs
    }
}
