/// The passkey pages' script (served at /auth/assets/passkeys.js, same origin, so the pages'
/// CSP allows it; plain JavaScript, no library): the WebAuthn ceremonies on the login page
/// ("Sign in with a passkey", and conditional UI where the browser has it), the code step
/// (the passkey as second factor) and the account page (add, rename, delete passkeys; list and
/// revoke sessions). Binary fields travel as base64url, as `PublicKeyCredential.toJSON()` has them.
enum PasskeyAssets {
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
      function bytes(s) {
        s = s.replace(/-/g, "+").replace(/_/g, "/");
        while (s.length % 4) s += "=";
        var raw = atob(s), out = new Uint8Array(raw.length);
        for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
        return out.buffer;
      }
      function b64url(buf) {
        var a = new Uint8Array(buf), s = "";
        for (var i = 0; i < a.length; i++) s += String.fromCharCode(a[i]);
        return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      }
      function creds(list) {
        return (list || []).map(function (c) { return { type: c.type, id: bytes(c.id), transports: c.transports }; });
      }
      function creationOptions(p) {
        var o = Object.assign({}, p);
        o.challenge = bytes(p.challenge);
        o.user = Object.assign({}, p.user, { id: bytes(p.user.id) });
        o.excludeCredentials = creds(p.excludeCredentials);
        return o;
      }
      function requestOptions(p) {
        var o = Object.assign({}, p);
        o.challenge = bytes(p.challenge);
        o.allowCredentials = creds(p.allowCredentials);
        return o;
      }
      function credentialJSON(c) {
        var r = c.response, out = { id: c.id, rawId: b64url(c.rawId), type: c.type, response: {
          clientDataJSON: b64url(r.clientDataJSON) } };
        if (r.attestationObject) {
          out.response.attestationObject = b64url(r.attestationObject);
          if (r.getTransports) out.response.transports = r.getTransports();
        } else {
          out.response.authenticatorData = b64url(r.authenticatorData);
          out.response.signature = b64url(r.signature);
          if (r.userHandle) out.response.userHandle = b64url(r.userHandle);
        }
        return out;
      }
      function call(method, url, body) {
        return fetch(url, { method: method, credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Accept": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body) })
          .then(function (r) {
            return r.json().catch(function () { return {}; }).then(function (j) {
              if (!r.ok) { var e = new Error((j.error && j.error.message) || ("HTTP " + r.status));
                e.code = r.status === 429 ? "rate_limited" : (j.error && j.error.code) || "unavailable"; throw e; }
              return j.data;
            });
          }, function () { var e = new Error("network"); e.code = "network"; throw e; });
      }
      function fail(e) {
        var code = e && e.code ? e.code : (e && e.name === "NotAllowedError" ? "cancelled" : "passkey_error");
        if (code === "invalid_credentials" && box && box.hasAttribute("data-m-passkey_refused")) code = "passkey_refused";
        show(code, e && e.message);
      }
      function returnTo() {
        var f = document.querySelector("input[name=return_to]");
        return f ? f.value : "/";
      }
      var supported = !!(window.PublicKeyCredential && navigator.credentials);

      // The login page: passwordless with a discoverable credential.
      var signin = document.getElementById("passkey-signin");
      if (signin) {
        var pending = null, controller = null;
        var finish = function (cred) {
          return call("POST", "/api/v1/auth/session/passkey", { credential: credentialJSON(cred), return_to: returnTo() })
            .then(function (d) { location.assign(d.redirect_to || returnTo()); });
        };
        if (!supported) { signin.hidden = true; }
        else if (PublicKeyCredential.isConditionalMediationAvailable) {
          PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
            if (!ok) return;
            controller = new AbortController();
            pending = call("POST", "/api/v1/auth/passkey/options").then(function (d) {
              return navigator.credentials.get({ mediation: "conditional", publicKey: requestOptions(d.publicKey),
                                                 signal: controller.signal });
            }).then(function (cred) { if (cred) return finish(cred); })
              .catch(function (e) { if (!(e && e.name === "AbortError")) fail(e); });
          }, function () {});
        }
        signin.addEventListener("click", function () {
          signin.disabled = true;
          if (controller) controller.abort();
          Promise.resolve(pending).catch(function () {}).then(function () {
            return call("POST", "/api/v1/auth/passkey/options");
          }).then(function (d) {
            return navigator.credentials.get({ publicKey: requestOptions(d.publicKey) });
          }).then(finish).catch(function (e) { fail(e); signin.disabled = false; });
        });
      }

      // The code step: the passkey as the second factor.
      var mfa = document.getElementById("passkey-mfa");
      if (mfa) {
        if (!supported) mfa.hidden = true;
        mfa.addEventListener("click", function () {
          var token = document.querySelector("input[name=mfa_token]").value;
          mfa.disabled = true;
          call("POST", "/api/v1/auth/mfa/webauthn/options", { mfa_token: token }).then(function (d) {
            return navigator.credentials.get({ publicKey: requestOptions(d.publicKey) });
          }).then(function (cred) {
            return call("POST", "/api/v1/auth/session/mfa", { mfa_token: token, webauthn: credentialJSON(cred),
                                                              return_to: returnTo() });
          }).then(function (d) { location.assign(d.redirect_to || returnTo()); })
            .catch(function (e) { fail(e); mfa.disabled = false; });
        });
      }

      // The account page: add a passkey, rename or delete one, list and revoke sessions.
      var add = document.getElementById("passkey-add");
      if (add) {
        if (!supported) add.disabled = true;
        add.addEventListener("click", function () {
          var name = document.getElementById("passkey-name").value;
          add.disabled = true;
          call("POST", "/api/v1/auth/mfa/webauthn/register/options").then(function (d) {
            return navigator.credentials.create({ publicKey: creationOptions(d.publicKey) });
          }).then(function (cred) {
            return call("POST", "/api/v1/auth/mfa/webauthn/register", { credential: credentialJSON(cred), name: name });
          }).then(function (d) {
            if (d.recovery_codes) {
              sessionStorage.setItem("authgate-recovery-codes", JSON.stringify(d.recovery_codes));
            }
            location.reload();
          }).catch(function (e) { fail(e); add.disabled = false; });
        });
      }
      var codes = document.getElementById("new-recovery-codes");
      if (codes) {
        var saved = sessionStorage.getItem("authgate-recovery-codes");
        if (saved) {
          sessionStorage.removeItem("authgate-recovery-codes");
          JSON.parse(saved).forEach(function (c) {
            var li = document.createElement("li"), code = document.createElement("code");
            code.textContent = c; li.appendChild(code); codes.appendChild(li);
          });
          document.getElementById("recovery-box").hidden = false;
        }
      }
      Array.prototype.forEach.call(document.querySelectorAll("button[data-passkey-delete]"), function (b) {
        b.addEventListener("click", function () {
          var id = b.getAttribute("data-passkey-delete");
          var url = "/api/v1/auth/mfa/webauthn/" + encodeURIComponent(id);
          call("DELETE", url, {}).catch(function (e) {
            if (e.code !== "last_factor" || !confirm(e.message)) throw e;
            return call("DELETE", url, { confirm_last: true });
          }).then(function () { location.reload(); }, fail);
        });
      });
      var sessions = document.getElementById("sessions");
      if (sessions) {
        var when = function (t) { return typeof t === "number" ? new Date(t * 1000).toLocaleString() : String(t); };
        call("GET", "/api/v1/auth/sessions").then(function (list) {
          sessions.textContent = "";
          list.forEach(function (s) {
            var li = document.createElement("li");
            li.className = "session";
            li.setAttribute("data-session", s.id);
            var text = document.createElement("span");
            text.textContent = (s.user_agent || "unknown device") + " — signed in " + when(s.created_at)
              + ", last used " + when(s.refreshed_at) + (s.ip ? " from " + s.ip : "");
            li.appendChild(text);
            if (s.current) {
              var mark = document.createElement("strong");
              mark.className = "this-session";
              mark.textContent = " (this device)";
              li.appendChild(mark);
            }
            var revoke = document.createElement("button");
            revoke.type = "button";
            revoke.className = "revoke";
            revoke.textContent = s.current ? "Sign out here" : "Revoke";
            revoke.addEventListener("click", function () {
              call("DELETE", "/api/v1/auth/sessions/" + encodeURIComponent(s.id), {})
                .then(function () { if (s.current) location.assign("/auth/login?logged_out=1"); else li.remove(); }, fail);
            });
            li.appendChild(revoke);
            sessions.appendChild(li);
          });
          sessions.setAttribute("data-loaded", String(list.length));
        }, fail);
      }
    })();
    """#
}
