import AuthCrypto
import Foundation

/// A plain-text RFC 5322 message (UTF-8, 8bit, CRLF line ends), as the outbox stores it until
/// delivery. Header values come from the configuration and from validated addresses only.
public enum MailMessage {
    public static func render(from: String, to: String, subject: String, body: String, now: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let domain = address(in: from).split(separator: "@").last.map(String.init) ?? "localhost"
        let id = Base64URL.encode(Crypto.randomBytes(12))
        let headers = [
            "From: \(from)",
            "To: \(to)",
            "Subject: \(subject)",
            "Date: \(formatter.string(from: now))",
            "Message-ID: <\(id)@\(domain)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "Auto-Submitted: auto-generated",
        ]
        let lines = body.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        return headers.joined(separator: "\r\n") + "\r\n\r\n" + lines.joined(separator: "\r\n") + "\r\n"
    }

    /// `Name <a@b>` -> `a@b`; a bare address is itself.
    public static func address(in value: String) -> String {
        if let open = value.lastIndex(of: "<"), let close = value.lastIndex(of: ">"), open < close {
            return String(value[value.index(after: open)..<close])
        }
        return value.trimmingCharacters(in: .whitespaces)
    }

    /// One `local@domain` with no space, no control character, no angle bracket or comma (it
    /// goes into a header and an SMTP envelope as it is).
    public static func isPlainAddress(_ s: String) -> Bool {
        guard s.utf8.count <= 254, s.utf8.filter({ $0 == UInt8(ascii: "@") }).count == 1,
              let at = s.firstIndex(of: "@"), at != s.startIndex, s.index(after: at) != s.endIndex else { return false }
        return !s.utf8.contains { $0 <= 0x20 || $0 == 0x7f || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">")
            || $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
    }

    /// The recipient addresses of a stored message's `To:` header (for SMTP's envelope).
    public static func recipient(of message: String) -> String? {
        for line in message.split(separator: "\r\n", omittingEmptySubsequences: false) {
            if line.isEmpty { return nil }
            if line.lowercased().hasPrefix("to:") { return address(in: String(line.dropFirst(3))) }
        }
        return nil
    }
}
