import CCurl
import Foundation

/// `AUTH_SMTP_URL` through libcurl (Debian's libcurl4, OpenSSL flavour): STARTTLS required on
/// `smtp://` (CURLUSESSL_ALL: no plain fallback when the server does not offer it), TLS from the
/// first byte on `smtps://`, plain only for `?tls=none` to a loopback address (checked when the
/// settings load). The server's certificate and name are always verified (AUTH_SMTP_CA_FILE for
/// a private CA). The password is read from AUTH_SMTP_PASSWORD_FILE at each delivery.
public struct SMTPTransport: MailTransport {
    public let url: SMTPURL
    public let caFile: String?
    public let passwordFile: String?
    public let timeout: Double

    /// curl_global_init is not thread-safe: once, before the first handle.
    static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    final class Upload {
        var bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        deinit { for i in bytes.indices { bytes[i] = 0 } }
    }

    public func probe() -> DeliveryResult { perform(from: nil, to: nil, message: nil) }

    public func deliver(from: String, to: String, message: String) -> DeliveryResult {
        perform(from: from, to: to, message: message)
    }

    /// One libcurl transfer: a message (from, to, message set) or the probe's NOOP (all nil).
    func perform(from: String?, to: String?, message: String?) -> DeliveryResult {
        guard Self.initialized, let curl = curl_easy_init() else { return .temporary("smtp: libcurl cannot start") }
        defer { curl_easy_cleanup(curl) }
        var password: String?
        if let passwordFile {
            guard let data = FileManager.default.contents(atPath: passwordFile),
                  let text = String(data: data, encoding: .utf8) else {
                return .temporary("smtp: cannot read AUTH_SMTP_PASSWORD_FILE \(passwordFile)")
            }
            password = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let upload = Upload(Array((message ?? "").utf8))
        let recipients: UnsafeMutablePointer<curl_slist>? = to.map { curl_slist_append(nil, "<\($0)>") } ?? nil
        defer { curl_slist_free_all(recipients) }
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
            withExtendedLifetime(upload) {
                _ = authgate_curl_set_str(curl, CURLOPT_URL, url.curlURL)
                _ = authgate_curl_set_long(curl, CURLOPT_USE_SSL, url.plain ? Int(CURLUSESSL_NONE.rawValue) : Int(CURLUSESSL_ALL.rawValue))
                _ = authgate_curl_set_long(curl, CURLOPT_SSL_VERIFYPEER, 1)
                _ = authgate_curl_set_long(curl, CURLOPT_SSL_VERIFYHOST, 2)
                if let caFile { _ = authgate_curl_set_str(curl, CURLOPT_CAINFO, caFile) }
                if let user = url.user { _ = authgate_curl_set_str(curl, CURLOPT_USERNAME, user) }
                if let password { _ = authgate_curl_set_str(curl, CURLOPT_PASSWORD, password) }
                if let from, message != nil {
                    _ = authgate_curl_set_str(curl, CURLOPT_MAIL_FROM, "<\(MailMessage.address(in: from))>")
                    _ = authgate_curl_set_list(curl, CURLOPT_MAIL_RCPT, recipients)
                    _ = authgate_curl_set_long(curl, CURLOPT_UPLOAD, 1)
                } else {
                    _ = authgate_curl_set_str(curl, CURLOPT_CUSTOMREQUEST, "NOOP")
                }
                _ = authgate_curl_set_long(curl, CURLOPT_INFILESIZE, upload.bytes.count)
                _ = authgate_curl_set_read(curl) { buffer, size, count, context in
                    guard let buffer, let context else { return 0 }
                    let upload = Unmanaged<Upload>.fromOpaque(context).takeUnretainedValue()
                    let n = min(size * count, upload.bytes.count - upload.offset)
                    upload.bytes.withUnsafeBytes { raw in
                        UnsafeMutableRawPointer(buffer).copyMemory(from: raw.baseAddress! + upload.offset, byteCount: n)
                    }
                    upload.offset += n
                    return n
                }
                _ = authgate_curl_set_ptr(curl, CURLOPT_READDATA, Unmanaged.passUnretained(upload).toOpaque())
                _ = authgate_curl_set_long(curl, CURLOPT_TIMEOUT_MS, Int(timeout * 1000))
                _ = authgate_curl_set_long(curl, CURLOPT_CONNECTTIMEOUT_MS, Int(min(timeout, 10) * 1000))
                _ = authgate_curl_set_long(curl, CURLOPT_NOSIGNAL, 1)
                _ = authgate_curl_set_ptr(curl, CURLOPT_ERRORBUFFER, errorPointer.baseAddress)
                return curl_easy_perform(curl)
            }
        }
        var response = 0
        _ = authgate_curl_response_code(curl, &response)
        if code == CURLE_OK { return .sent }
        var text = String(cString: errorBuffer)
        if text.isEmpty { text = String(cString: curl_easy_strerror(code)) }
        let detail = "smtp \(url.host):\(url.port): \(Self.printable(text))" + (response > 0 ? " (last reply \(response))" : "")
        // A 5xx is for good, except the authentication replies (a password being rotated is
        // worth the retries).
        let authReply = [530, 534, 535, 538].contains(response)
        return (500...599).contains(response) && !authReply ? .permanent(detail) : .temporary(detail)
    }

    static func printable(_ s: String) -> String {
        String(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? " " : Character($0) }.prefix(200))
    }
}
