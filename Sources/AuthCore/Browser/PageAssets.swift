/// The pages' script and style (served at /auth/assets/, same origin, so the CSP allows them).
enum PageAssets {
    /// Submits a page's form with fetch (asking for JSON) and shows the error in place, focused
    /// for screen readers; without JavaScript the form posts and the server answers with a 303.
    /// The login page first tries a silent renewal (the SameSite=Strict refresh cookie is sent
    /// with this same-origin request even when the visit started on another site).
    static let script = #"""
    "use strict";
    (function () {
      var box = document.getElementById("message");
      function show(code, text) {
        if (!box) return;
        box.textContent = box.getAttribute("data-m-" + code) || text || "Something went wrong. Try again.";
        box.hidden = false;
        box.focus();
      }
      function back(form) {
        var field = form.querySelector("input[name=return_to]");
        return field ? field.value : "/";
      }
      // A reset or invite link carries its token in the fragment (#token=...): into the code
      // field, and out of the address bar and the history.
      var fragment = /^#token=([A-Za-z0-9-]{1,80})$/.exec(location.hash);
      var tokenField = document.getElementById("token");
      if (fragment && tokenField) {
        tokenField.value = fragment[1];
        history.replaceState(null, "", location.pathname + location.search);
      }
      var form = document.querySelector("form[data-authgate]");
      if (!form) return;
      if (form.getAttribute("data-authgate") === "login" && !/[?&]logged_out=1/.test(location.search)) {
        fetch("/api/v1/auth/session/renew", { method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Accept": "application/json" }, body: "{}" })
          .then(function (r) { if (r.ok) location.replace(back(form)); }, function () {});
      }
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var button = form.querySelector("button");
        button.disabled = true;
        fetch(form.action, { method: "POST", credentials: "same-origin", headers: { "Accept": "application/json" },
          body: new URLSearchParams(new FormData(form)) })
          .then(function (r) {
            var type = r.headers.get("Content-Type") || "";
            if (type.indexOf("json") < 0) { location.assign(r.url); return; }
            return r.json().then(function (body) {
              if (r.ok && body.data && body.data.mfa_required) { form.submit(); return; }
              if (r.ok) { location.assign((body.data && body.data.redirect_to) || back(form)); return; }
              var error = body.error || {};
              show(r.status === 429 ? "rate_limited" : error.code, error.message);
              button.disabled = false;
            });
          }, function () { show("network"); button.disabled = false; });
      });
    })();
    """#

    static let style = """
    body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d1f23; }
    main { max-width: 24rem; margin: 4rem auto; padding: 2rem; background: #fff; border-radius: 8px;
           box-shadow: 0 1px 4px rgba(0,0,0,.15); }
    h1 { margin-top: 0; font-size: 1.5rem; }
    label { display: block; margin-top: 1rem; font-weight: 600; }
    input { box-sizing: border-box; width: 100%; padding: .5rem; font: inherit; border: 1px solid #767676; border-radius: 4px; }
    input:focus, button:focus, summary:focus { outline: 3px solid #1a5fb4; outline-offset: 2px; }
    details { margin-top: 1rem; }
    button { margin-top: 1.5rem; width: 100%; padding: .6rem; font: inherit; font-weight: 600; color: #fff;
             background: #1a5fb4; border: 0; border-radius: 4px; cursor: pointer; }
    button:disabled { opacity: .6; }
    .error { color: #a51d2d; background: #fdecee; border-left: 4px solid #a51d2d; padding: .5rem .75rem; }
    .notice { color: #26662e; background: #ebf7ec; border-left: 4px solid #26662e; padding: .5rem .75rem; }
    """
}
