import AuthCrypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One line per event on stderr. Callers never pass tokens, passwords or query strings.
public struct Logger: Sendable {
    public var json: Bool

    public init(json: Bool = false) { self.json = json }

    public func info(_ message: String) { write("info", message) }
    public func warning(_ message: String) { write("warning", message) }
    public func error(_ message: String) { write("error", message) }

    /// The access line of the responder: method, path without query, status, microseconds.
    public func request(method: String, path: String, status: Int, micros: Int) {
        if json {
            var out: [UInt8] = []
            JSON.object([("level", .string("info")), ("method", .string(method)), ("path", .string(path)),
                         ("status", .int(Int64(status))), ("us", .int(Int64(micros)))]).write(into: &out)
            out.append(10)
            emit(out)
        } else {
            emit(Array("\(method) \(path) \(status) \(micros)us\n".utf8))
        }
    }

    func write(_ level: String, _ message: String) {
        if json {
            var out = JSON.object([("level", .string(level)), ("msg", .string(message))]).encoded()
            out.append(10)
            emit(out)
        } else {
            emit(Array("\(level): \(message)\n".utf8))
        }
    }

    func emit(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
