/// Why a frame stream was refused (the peer gets close 1002 or 1009).
public enum FrameError: Error, Equatable, Sendable {
    case reservedBits
    case unknownOpcode
    case controlTooLong
    case fragmentedControl
    case maskRequired
    case maskForbidden
    case nonMinimalLength
    case lengthTooLarge
    case tooLarge
    case unexpectedContinuation
    case expectedContinuation
}

/// Incremental RFC 6455 frame parser: an enum state machine that reports frame headers,
/// payload ranges inside the caller's buffer (never copied), and frame ends. It buffers at most
/// the 14 bytes of a split header, so its memory is constant whatever the input.
public struct FrameParser: Sendable {
    /// Which side's frames are parsed: frames from a client must be masked, from a server must not.
    public enum Source: Sendable { case client, server }

    public enum Event: Equatable, Sendable {
        /// Need more bytes; everything up to the end of the buffer was consumed.
        case needMore
        case header(FrameHeader)
        /// Payload bytes `range` of the buffer; `offset` is their position within the frame payload.
        case payload(Range<Int>, offset: UInt64)
        case frameEnd(FrameHeader)
    }

    enum State: Sendable {
        case header(SIMD16<UInt8>, count: Int)
        case payload(FrameHeader, done: UInt64)
        case failed(FrameError)
    }

    public let source: Source
    public let maxPayload: UInt64
    private var state: State = .header(SIMD16(), count: 0)
    /// A fragmented data message is in progress (continuations expected).
    public private(set) var inMessage = false

    public init(source: Source, maxPayload: UInt64 = 1 << 24) {
        self.source = source
        self.maxPayload = maxPayload
    }

    /// True between frames (no partial header buffered, no payload pending).
    public var atFrameBoundary: Bool {
        if case let .header(_, count) = state { return count == 0 }
        return false
    }

    /// Returns the next event from `bytes` starting at `index`, advancing `index`.
    public mutating func next(_ bytes: UnsafeRawBufferPointer, at index: inout Int) throws(FrameError) -> Event {
        switch state {
        case let .failed(e):
            throw e
        case let .payload(h, done):
            if done == h.length {
                state = .header(SIMD16(), count: 0)
                return .frameEnd(h)
            }
            if index >= bytes.count { return .needMore }
            let available = UInt64(bytes.count - index)
            let take = min(available, h.length - done)
            let range = index..<(index + Int(take))
            index += Int(take)
            state = .payload(h, done: done + take)
            return .payload(range, offset: done)
        case .header(var buf, var count):
            while index < bytes.count {
                buf[count] = bytes[index]
                count += 1
                index += 1
                guard let need = Self.headerSize(buf, count: count) else { continue }
                if count < need { continue }
                do {
                    let h = try decode(buf, size: need)
                    state = .payload(h, done: 0)
                    return .header(h)
                } catch {
                    state = .failed(error)
                    throw error
                }
            }
            state = .header(buf, count: count)
            return .needMore
        }
    }

    /// Total header size once the first two bytes are known.
    static func headerSize(_ b: SIMD16<UInt8>, count: Int) -> Int? {
        guard count >= 2 else { return nil }
        let len7 = b[1] & 0x7F
        let mask = b[1] & 0x80 != 0 ? 4 : 0
        switch len7 {
        case 126: return 4 + mask
        case 127: return 10 + mask
        default: return 2 + mask
        }
    }

    private mutating func decode(_ b: SIMD16<UInt8>, size: Int) throws(FrameError) -> FrameHeader {
        let fin = b[0] & 0x80 != 0
        let rsv = (b[0] >> 4) & 0x7
        let opcode = WebSocketOpcode(rawValue: b[0] & 0x0F)
        let masked = b[1] & 0x80 != 0
        let len7 = b[1] & 0x7F
        guard rsv == 0 else { throw .reservedBits }
        guard opcode.isKnown else { throw .unknownOpcode }
        var length = UInt64(len7)
        var at = 2
        if len7 == 126 {
            length = UInt64(b[2]) << 8 | UInt64(b[3])
            guard length >= 126 else { throw .nonMinimalLength }
            at = 4
        } else if len7 == 127 {
            length = 0
            for i in 2..<10 { length = length << 8 | UInt64(b[i]) }
            guard length >> 63 == 0 else { throw .lengthTooLarge }
            guard length > 0xFFFF else { throw .nonMinimalLength }
            at = 10
        }
        if opcode.isControl {
            guard length <= 125 else { throw .controlTooLong }
            guard fin else { throw .fragmentedControl }
        } else {
            guard length <= maxPayload else { throw .tooLarge }
        }
        switch source {
        case .client: guard masked else { throw .maskRequired }
        case .server: guard !masked else { throw .maskForbidden }
        }
        var key: (UInt8, UInt8, UInt8, UInt8)?
        if masked { key = (b[at], b[at + 1], b[at + 2], b[at + 3]) }
        if !opcode.isControl {
            if opcode == .continuation {
                guard inMessage else { throw .unexpectedContinuation }
            } else {
                guard !inMessage else { throw .expectedContinuation }
            }
            inMessage = !fin
        }
        return FrameHeader(fin: fin, rsv: rsv, opcode: opcode, maskKey: key, length: length, headerSize: size)
    }
}

extension FrameParser {
    /// Convenience for tests and small peers: all events of `bytes` until it runs out.
    public mutating func events(_ bytes: [UInt8]) throws(FrameError) -> [Event] {
        var out: [Event] = []
        var index = 0
        var failure: FrameError?
        bytes.withUnsafeBytes { raw in
            do {
                while true {
                    let e = try next(raw, at: &index)
                    if e == .needMore { break }
                    out.append(e)
                }
            } catch {
                failure = error as? FrameError
            }
        }
        if let failure { throw failure }
        return out
    }
}
