import Foundation

/// The demo nginx config as particular suites need it: every gated location through the HTTP
/// door, extra server config, or the install's server block without the browser snippet.
extension Stack {
    /// Every gated demo location asks the HTTP door: `auth_request /_authgate/verify/X` ->
    /// `/_authgate/verify-http/X` (the same policies, authgate-verify-http.conf).
    func useHTTPDoor(_ conf: String) throws {
        let text = try String(contentsOfFile: conf, encoding: .utf8)
        let patched = text.replacingOccurrences(of: "auth_request /_authgate/verify/", with: "auth_request /_authgate/verify-http/")
        guard patched != text else { throw StackError("no auth_request /_authgate/verify/ in \(conf)") }
        try patched.write(toFile: conf, atomically: true, encoding: .utf8)
    }

    /// Inserts `options.extraServerConfig` before the demo server's catch-all location.
    func addServerConfig(_ conf: String) throws {
        let text = try String(contentsOfFile: conf, encoding: .utf8)
        let anchor = "        location / {\n"
        guard let range = text.range(of: anchor) else { throw StackError("no catch-all location in \(conf)") }
        let patched = text.replacingCharacters(in: range.lowerBound..<range.lowerBound, with: options.extraServerConfig + "\n")
        try patched.write(toFile: conf, atomically: true, encoding: .utf8)
    }

    /// Removes `include snippets/authgate-browser.conf;` and the dashboard location using it.
    func dropBrowserMode(_ conf: String) throws {
        var text = try String(contentsOfFile: conf, encoding: .utf8)
        guard let start = text.range(of: "        location /demo/dashboard/ {\n"),
              let end = text.range(of: "        }\n", range: start.upperBound..<text.endIndex) else {
            throw StackError("no dashboard location in \(conf)")
        }
        text.removeSubrange(start.lowerBound..<end.upperBound)
        guard let include = text.range(of: "        include snippets/authgate-browser.conf;\n") else {
            throw StackError("no browser include in \(conf)")
        }
        text.removeSubrange(include)
        try text.write(toFile: conf, atomically: true, encoding: .utf8)
    }
}
