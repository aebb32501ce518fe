/// One direction of a relay (source → destination): the frame tracker over the source's bytes,
/// the destination's pending output, and a close frame waiting for the next frame boundary.
struct Pipe {
    /// Output held for a slow destination; reading the source stops at this size (backpressure).
    static let maxBuffered = 64 * 1024

    var frames: FrameParser
    /// Bytes not yet written to the destination. Empty (no allocation) while idle.
    var out: [UInt8] = []
    /// A close frame to inject at the next frame boundary.
    var pendingClose: [UInt8]?
    /// Nothing more is forwarded (a close was injected, or an end is gone).
    var sealed = false
    /// First close code seen in this direction (for the log line).
    var closeCode: UInt16?
    private var closeBytes: [UInt8] = []
    private var closeMask: (UInt8, UInt8, UInt8, UInt8)?
    private var inClose = false

    init(source: FrameParser.Source) {
        frames = FrameParser(source: source, maxPayload: UInt64.max >> 1)
    }

    var room: Int { sealed ? 0 : max(0, Self.maxBuffered - out.count) }

    /// Validates frames in `bytes` and returns how many leading bytes to forward: all of them, or
    /// only up to a frame boundary when a close is pending (the close is then appended to `out`
    /// by `injectIfReady`, and the pipe is sealed).
    mutating func scan(_ bytes: UnsafeRawBufferPointer) throws(FrameError) -> Int {
        if sealed { return 0 }
        if pendingClose != nil && frames.atFrameBoundary { return 0 }
        var index = 0
        while true {
            let event = try frames.next(bytes, at: &index)
            switch event {
            case .needMore:
                return bytes.count
            case let .header(h):
                inClose = h.opcode == .close && closeCode == nil && h.length >= 2
                closeMask = h.maskKey
                closeBytes = []
            case let .payload(range, offset):
                if inClose && offset < 2 {
                    for i in range where closeBytes.count < 2 {
                        var b = bytes[i]
                        if let k = closeMask { b ^= [k.0, k.1, k.2, k.3][Int(offset) + (i - range.lowerBound)] }
                        closeBytes.append(b)
                    }
                    if closeBytes.count == 2 { closeCode = UInt16(closeBytes[0]) << 8 | UInt16(closeBytes[1]) }
                }
            case .frameEnd:
                inClose = false
                if pendingClose != nil { return index }
            }
        }
    }

    /// Appends the pending close if the source is between frames; returns true once sealed.
    @discardableResult
    mutating func injectIfReady() -> Bool {
        if sealed { return true }
        guard let close = pendingClose, frames.atFrameBoundary else { return false }
        out.append(contentsOf: close)
        pendingClose = nil
        sealed = true
        return true
    }
}
