import Foundation

/// One delivery attempt's outcome. `detail` goes to the outbox's `last_error` and the log: a
/// status, an exit code, libcurl's error text; never the message or its link.
public enum DeliveryResult: Sendable, Equatable {
    case sent
    /// Worth retrying (server down, 4xx, a timeout).
    case temporary(String)
    /// Refused for good (an SMTP 5xx, sendmail's "no such user"): the message is dead at once.
    case permanent(String)
}

public protocol MailTransport: Sendable {
    /// `message`: the stored RFC 5322 text (CRLF line ends). Blocks at most the settings' timeout.
    func deliver(from: String, to: String, message: String) -> DeliveryResult
    /// `authgate doctor`: can a message leave? (sendmail: the program runs; SMTP: connect,
    /// STARTTLS with the certificate checked, AUTH, NOOP.) Sends nothing.
    func probe() -> DeliveryResult
}

extension MailSettings {
    /// The configured transport (nil: none configured; mail waits in the outbox).
    public func makeTransport() -> MailTransport? {
        switch transport {
        case nil: return nil
        case let .sendmail(path): return SendmailTransport(path: path, timeout: timeoutSeconds)
        case let .smtp(url): return SMTPTransport(url: url, caFile: caFile, passwordFile: passwordFile, timeout: timeoutSeconds)
        }
    }
}
