import AuthCrypto
import Foundation

/// stdout for data, stderr for messages. Never a password or key except where a command
/// explicitly shows a freshly generated one.
enum Output {
    static func line(_ text: String) {
        print(text)
    }

    static func json(_ value: JSON) {
        print(value.encodedString)
    }

    /// One-line error message on stderr, prefixed with the program name.
    static func error(_ message: String) {
        errorLine("authgate: " + oneLine(message))
    }

    static func progress(_ message: String) {
        errorLine("authgate: " + message)
    }

    static func errorLine(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Keeps an error on one line whatever its description holds.
    static func oneLine(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
    }

    /// Aligned columns with a header line; cells are made single-line first.
    static func table(_ headers: [String], _ rows: [[String]]) {
        let all = [headers] + rows.map { $0.map(oneLine) }
        var widths = [Int](repeating: 0, count: headers.count)
        for row in all {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        for row in all {
            var text = ""
            for (i, cell) in row.enumerated() {
                if i == row.count - 1 {
                    text += cell
                } else {
                    text += cell + String(repeating: " ", count: widths[i] - cell.count + 2)
                }
            }
            print(text)
        }
    }
}

extension JSON {
    static func opt(_ s: String?) -> JSON { s.map { .string($0) } ?? .null }
    static func opt(_ i: Int64?) -> JSON { i.map { .int($0) } ?? .null }
}
