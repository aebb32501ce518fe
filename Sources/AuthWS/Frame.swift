/// WebSocket opcodes (RFC 6455 §5.2).
public struct WebSocketOpcode: RawRepresentable, Equatable, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let continuation = WebSocketOpcode(rawValue: 0x0)
    public static let text = WebSocketOpcode(rawValue: 0x1)
    public static let binary = WebSocketOpcode(rawValue: 0x2)
    public static let close = WebSocketOpcode(rawValue: 0x8)
    public static let ping = WebSocketOpcode(rawValue: 0x9)
    public static let pong = WebSocketOpcode(rawValue: 0xA)

    public var isControl: Bool { rawValue & 0x8 != 0 }
    public var isKnown: Bool { [0, 1, 2, 8, 9, 10].contains(rawValue) }
}

/// Close codes used by the companion (RFC 6455 §7.4 plus the application range).
public struct WebSocketCloseCode: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let normal = WebSocketCloseCode(rawValue: 1000)
    public static let goingAway = WebSocketCloseCode(rawValue: 1001)
    public static let protocolError = WebSocketCloseCode(rawValue: 1002)
    public static let tooBig = WebSocketCloseCode(rawValue: 1009)
    public static let tokenExpired = WebSocketCloseCode(rawValue: 4001)
    public static let sessionRevoked = WebSocketCloseCode(rawValue: 4003)
}

/// A decoded frame header; `maskKey` is nil for unmasked frames.
public struct FrameHeader: Equatable, Sendable {
    public var fin: Bool
    public var rsv: UInt8
    public var opcode: WebSocketOpcode
    public var maskKey: (UInt8, UInt8, UInt8, UInt8)?
    public var length: UInt64
    public var headerSize: Int

    public static func == (a: FrameHeader, b: FrameHeader) -> Bool {
        a.fin == b.fin && a.rsv == b.rsv && a.opcode == b.opcode && a.length == b.length
            && a.headerSize == b.headerSize && a.maskKey.map { [$0.0, $0.1, $0.2, $0.3] } == b.maskKey.map { [$0.0, $0.1, $0.2, $0.3] }
    }
}

public enum WebSocketFrame {
    /// Encodes one frame. A `maskKey` masks the payload (client-to-server frames).
    public static func encode(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true,
                              maskKey: [UInt8]? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 14)
        out.append((fin ? 0x80 : 0) | opcode.rawValue)
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        if payload.count < 126 {
            out.append(maskBit | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            out.append(maskBit | 126)
            out.append(UInt8(payload.count >> 8))
            out.append(UInt8(payload.count & 0xFF))
        } else {
            out.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((UInt64(payload.count) >> UInt64(shift)) & 0xFF)) }
        }
        if let key = maskKey {
            precondition(key.count == 4)
            out.append(contentsOf: key)
            for (i, b) in payload.enumerated() { out.append(b ^ key[i & 3]) }
        } else {
            out.append(contentsOf: payload)
        }
        return out
    }

    /// A close frame payload: 2-byte code then a UTF-8 reason (≤ 123 bytes).
    public static func closePayload(_ code: WebSocketCloseCode, _ reason: String) -> [UInt8] {
        [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)] + Array(reason.utf8.prefix(123))
    }

    public static func close(_ code: WebSocketCloseCode, _ reason: String, maskKey: [UInt8]? = nil) -> [UInt8] {
        encode(.close, closePayload(code, reason), maskKey: maskKey)
    }

    /// XORs `bytes` with the mask key; `offset` is the position of `bytes[0]` within the payload.
    public static func applyMask(_ bytes: UnsafeMutableRawBufferPointer, key: (UInt8, UInt8, UInt8, UInt8), offset: UInt64) {
        let k = [key.0, key.1, key.2, key.3]
        var j = Int(offset & 3)
        for i in 0..<bytes.count {
            bytes[i] ^= k[j]
            j = (j + 1) & 3
        }
    }

    public static func applyMask(_ bytes: inout [UInt8], key: (UInt8, UInt8, UInt8, UInt8), offset: UInt64 = 0) {
        bytes.withUnsafeMutableBytes { applyMask($0, key: key, offset: offset) }
    }
}
