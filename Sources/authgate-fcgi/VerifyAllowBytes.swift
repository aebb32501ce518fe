import AuthCore
import AuthHTTP

/// The common verify answer, an allow without a renewal, rendered straight from the Decision as
/// the door's bytes: the identity's fields in the list's order under their ready-made header
/// names, then `X-Accel-Expires`. The same bytes `VerifyRoute.response` + `ResponseBytes` /
/// `HTTPDoorResponse` produce (the exact-header tests of both doors hold it), without the
/// intermediate `Response` and its header strings: that detour was about 10k of the 22k
/// instructions an allowed verify cost more than a 401 (callgrind-verify.sh). Everything else
/// (denials, renewals) still goes through `VerifyRoute.response`. Written with `memcpy` into one
/// buffer of `capacity` bytes (Array appends were 2k instructions of an allow); an answer that
/// would not fit (a very long e-mail address) takes the generic path, which writes the same bytes.
enum VerifyAllowBytes {
    static let capacity = 640

    /// `Status: 204 No Content` + headers + the blank line (FastCGI STDOUT), or nil when a value
    /// cannot be written as is (then the caller takes the generic path, which drops and logs it).
    static func fastcgi(_ identity: Identity, cacheable: Bool, now: Int64, cache: AllowBytesCache) -> [UInt8]? {
        write { w in
            guard w.put(fastcgiStatus), cache.writeIdentity(identity, to: &w) != nil,
                  cache.writeAccel(cacheable: cacheable, now: now, to: &w) else { return false }
            return w.put(crlf)
        }
    }

    /// The HTTP door's answer: status line, the identity, `X-Accel-Expires`, then each of the
    /// door's nine identity headers the identity lacks, empty (as `HTTPDoorResponse` writes them),
    /// and `tail` (`Content-Length: 0`, + `Connection: close`).
    static func http(_ identity: Identity, cacheable: Bool, now: Int64, tail: [UInt8], cache: AllowBytesCache) -> [UInt8]? {
        write { w in
            guard w.put(httpStatus), let present = cache.writeIdentity(identity, to: &w),
                  cache.writeAccel(cacheable: cacheable, now: now, to: &w) else { return false }
            for i in 0..<HTTPDoorResponse.identityHeaders.count where present & (1 << i) == 0 {
                guard w.put(names[i]), w.put(crlf) else { return false }
            }
            return w.put(tail)
        }
    }

    /// Bytes written from the start of a fixed buffer; `put` refuses what would not fit.
    struct Writer {
        let base: UnsafeMutablePointer<UInt8>
        let capacity: Int
        var count = 0

        @inline(__always)
        mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            guard bytes.count <= capacity - count else { return false }
            if let from = bytes.baseAddress { (base + count).update(from: from, count: bytes.count) }
            count += bytes.count
            return true
        }

        @inline(__always)
        mutating func put(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBufferPointer { put($0) } }

        @inline(__always)
        mutating func put(_ byte: UInt8) -> Bool {
            guard count < capacity else { return false }
            base[count] = byte
            count += 1
            return true
        }
    }

    /// The answer `body` writes, or nil when it returned false (nothing of it is used).
    @inline(__always)
    private static func write(_ body: (inout Writer) -> Bool) -> [UInt8]? {
        var complete = false
        let out = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            var w = Writer(base: buffer.baseAddress!, capacity: buffer.count)
            complete = body(&w)
            count = complete ? w.count : 0
        }
        return complete ? out : nil
    }

    /// The present fields, in order; the set of them (bit i: field i), or nil when a value holds
    /// a control character or does not fit.
    static func writeIdentity(_ identity: Identity, to w: inout Writer) -> UInt32? {
        var present: UInt32 = 0
        var i = 0
        while let field = Identity.Field(rawValue: i) {
            if var value = identity[field] {
                let written = value.withUTF8 { v in
                    HeaderValueBytes.isSafe(v) && w.put(names[i]) && w.put(v) && w.put(crlf)
                }
                guard written else { return nil }
                present |= 1 << i
            }
            i += 1
        }
        return present
    }

    static func writeAccel(cacheable: Bool, now: Int64, to w: inout Writer) -> Bool {
        guard w.put(accelName) else { return false }
        if cacheable {
            guard w.put(UInt8(ascii: "@")), writeDecimal(now, to: &w) else { return false }
        } else {
            guard w.put(UInt8(ascii: "0")) else { return false }
        }
        return w.put(crlf)
    }

    private static func writeDecimal(_ value: Int64, to w: inout Writer) -> Bool {
        guard value > 0 else { return w.put(Array(String(value).utf8)) }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = value
        var count = 0
        return withUnsafeMutableBytes(of: &digits) { buffer in
            while n > 0 {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
                count += 1
            }
            return w.put(UnsafeBufferPointer(rebasing: buffer.bindMemory(to: UInt8.self)[(20 - count)...]))
        }
    }

    /// `X-Auth-Kind: ` ... in `Identity.Field` order.
    private static let names: [[UInt8]] = (0..<Identity.Field.count).map { Array("\(Identity.Field(rawValue: $0)!.header): ".utf8) }
    private static let accelName = Array("X-Accel-Expires: ".utf8)
    private static let crlf: [UInt8] = [13, 10]
    private static let fastcgiStatus = Array("Status: 204 \(reasonPhrase(204))\r\n".utf8)
    private static let httpStatus = Array("HTTP/1.1 204 \(reasonPhrase(204))\r\n".utf8)
}

/// One exchange's (one thread's) rendered pieces of an allow. The identity's header lines as
/// `VerifyAllowBytes.writeIdentity` wrote them, keyed by the identity's box: the verified-token
/// memo hands every verify of one token the same box (VerifiedTokenMemo.Entry), so a token's
/// next allow copies its identity lines in one piece instead of checking and copying each field
/// again (about 2k instructions of an allowed verify, `callgrind-verify.sh`). Direct-mapped: a
/// box whose slot is taken replaces the identity there. User identities only (an API key's or
/// a node's identity is made anew for each verify: never found again). And the
/// `X-Accel-Expires: @now` line of the current second.
final class AllowBytesCache {
    static let slots = 256   // a power of two
    private struct Entry {
        var identity: Identity?
        var lines: [UInt8] = []
        var present: UInt32 = 0
    }
    /// A pointer, not an array property: a lookup is neither bounds- nor exclusivity-checked.
    private let entries: UnsafeMutablePointer<Entry>
    private var accelSecond = Int64.min
    private var accelLine: [UInt8] = []

    init() {
        entries = .allocate(capacity: Self.slots)
        entries.initialize(repeating: Entry(), count: Self.slots)
    }

    deinit {
        entries.deinitialize(count: Self.slots)
        entries.deallocate()
    }

    /// `VerifyAllowBytes.writeIdentity`, from the cache when this identity's box was written before.
    func writeIdentity(_ identity: Identity, to w: inout VerifyAllowBytes.Writer) -> UInt32? {
        guard identity.kind == .user else { return VerifyAllowBytes.writeIdentity(identity, to: &w) }
        let id = identity.storageID
        let slot = Int(truncatingIfNeeded: (UInt64(UInt(bitPattern: id)) &* 0x9E37_79B9_7F4A_7C15) >> 56)
        if let cached = entries[slot].identity, cached.storageID == id {
            return entries[slot].lines.withUnsafeBufferPointer { w.put($0) } ? entries[slot].present : nil
        }
        let start = w.count
        guard let written = VerifyAllowBytes.writeIdentity(identity, to: &w) else { return nil }
        entries[slot] = Entry(identity: identity, lines: Array(UnsafeBufferPointer(start: w.base + start, count: w.count - start)),
                              present: written)
        return written
    }

    /// `VerifyAllowBytes.writeAccel`, the cacheable line made once per second.
    func writeAccel(cacheable: Bool, now: Int64, to w: inout VerifyAllowBytes.Writer) -> Bool {
        guard cacheable else { return VerifyAllowBytes.writeAccel(cacheable: false, now: now, to: &w) }
        if now != accelSecond {
            var made = false
            let line = [UInt8](unsafeUninitializedCapacity: 64) { buffer, count in
                var line = VerifyAllowBytes.Writer(base: buffer.baseAddress!, capacity: buffer.count)
                made = VerifyAllowBytes.writeAccel(cacheable: true, now: now, to: &line)
                count = made ? line.count : 0
            }
            guard made else { return VerifyAllowBytes.writeAccel(cacheable: true, now: now, to: &w) }
            accelLine = line
            accelSecond = now
        }
        return accelLine.withUnsafeBufferPointer { w.put($0) }
    }
}
