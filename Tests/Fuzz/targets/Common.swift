// Shared by every libFuzzer target (scripts/fuzz.sh compiles this file with one target file).
// A violated invariant is a crash: fuzzCheck prints the reason and traps, so libFuzzer keeps the input.
#if canImport(Glibc)
import Glibc
#endif

@inline(never)
func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() {
        let line = Array("FUZZ INVARIANT: \(message())\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        abort()
    }
}

/// Splits input into chunks at positions chosen by its own bytes (first byte: chunk seed).
func fuzzChunks(_ bytes: [UInt8]) -> [[UInt8]] {
    guard let seed = bytes.first else { return [] }
    let body = Array(bytes.dropFirst())
    var out: [[UInt8]] = []
    var i = 0
    var s = UInt32(seed) | 1
    while i < body.count {
        s = s &* 1103515245 &+ 12345
        let n = 1 + Int((s >> 16) % 37)
        out.append(Array(body[i..<min(body.count, i + n)]))
        i += n
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    fuzzOne(bytes)
    return 0
}
