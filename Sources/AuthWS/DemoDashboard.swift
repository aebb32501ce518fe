import AuthCore
import AuthCrypto

/// The demo's browser app at /demo/dashboard/ (gated by cookie in nginx): who is logged in,
/// from the X-Auth-* headers this upstream received; a fetch of a gated JSON path; /ws/agent
/// opened by cookie (no token in the URL) with its echo; a logout button (a plain form post).
enum DemoDashboard {
    /// The full HTTP response for a dashboard path, nil for any other path (echoed as JSON).
    static func response(_ head: HTTPHead) -> [UInt8]? {
        switch head.path {
        case "/demo/dashboard/", "/demo/dashboard/index.html": return http(page(head), "text/html; charset=utf-8")
        case "/demo/dashboard/app.js": return http(script, "text/javascript")
        default: return nil
        }
    }

    static func http(_ body: String, _ type: String) -> [UInt8] {
        let bytes = Array(body.utf8)
        let head = "HTTP/1.1 200 OK\r\nContent-Type: \(type)\r\nContent-Length: \(bytes.count)\r\nCache-Control: no-store\r\n"
            + "Content-Security-Policy: default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'\r\n"
            + "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + bytes
    }

    static func page(_ head: HTTPHead) -> String {
        func h(_ name: String) -> String { HTML.escape(head.value(name) ?? "") }
        return """
            <!doctype html>
            <html lang="en">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Demo dashboard · Authgate</title>
            <style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
            dt{font-weight:600}pre{background:#f4f5f7;padding:.5rem;white-space:pre-wrap}</style>
            <script src="/demo/dashboard/app.js" defer></script></head>
            <body><main>
            <h1>Demo dashboard</h1>
            <p>Signed in as <strong id="user-email">\(h("x-auth-email"))</strong>
               (<span id="user-role">\(h("x-auth-role"))</span>).</p>
            <dl>
              <dt>User id</dt><dd id="user-id">\(h("x-auth-user-id"))</dd>
              <dt>Tenant id</dt><dd id="tenant-id">\(h("x-auth-tenant-id"))</dd>
              <dt>Session id</dt><dd id="session-id">\(h("x-auth-session-id"))</dd>
            </dl>
            <h2>A gated JSON path (fetch)</h2>
            <pre id="fetch-result" aria-live="polite">loading…</pre>
            <h2>WebSocket /ws/agent (by cookie)</h2>
            <pre id="ws-result" aria-live="polite">connecting…</pre>
            <form method="post" action="/api/v1/auth/session/logout">
              <button id="logout" type="submit">Sign out</button>
            </form>
            </main></body></html>

            """
    }

    static let script = #"""
    "use strict";
    fetch("/demo/dashboard/api/whoami", { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (b) { return [r.status, b]; }); })
      .then(function (x) {
        var hs = (x[1] && x[1].headers) || {};
        document.getElementById("fetch-result").textContent =
          "status " + x[0] + ": " + (hs["x-auth-email"] || JSON.stringify(x[1]));
      }, function (e) { document.getElementById("fetch-result").textContent = "failed: " + e; });
    (function () {
      var out = document.getElementById("ws-result");
      var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/agent");
      ws.onopen = function () { out.textContent = "open"; ws.send("hello from the dashboard"); };
      ws.onmessage = function (m) { out.textContent = "echo: " + m.data; };
      ws.onclose = function (c) { out.textContent += " (closed " + c.code + ")"; };
      ws.onerror = function () { out.textContent = "error"; };
    })();
    """#
}
