#!/usr/bin/env python3
"""Issue 22: passkeys in a real headless Chromium (Debian's chromium + chromedriver, W3C WebDriver,
Python's stdlib only) with Chromium's virtual authenticator (WebDriver's WebAuthn extension:
POST /session/{id}/webauthn/authenticator, ctap2, internal, resident keys, user verification):
password sign-in, register a passkey on /auth/account, sign out, sign in with password + passkey
(the second factor), sign out, sign in with the passkey alone (passwordless: the button, then
the email field's autofill, conditional UI), then the same passkey from a second origin (another port of the test's nginx, same RP ID) must fail.
A screenshot of each step goes to --shots, and the page's fetch bodies of one registration and
one assertion are kept there (capture-*.json) for known-answer fixtures. Prints one JSON line.
The certificate's SPKI is passed to Chromium (--ignore-certificate-errors-spki-list) so the
pages count as secure contexts with a valid certificate, as WebAuthn requires."""
import argparse, base64, json, os, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_flow import Driver, Fail, wait, free_port, _ready, failed, stop_browser  # noqa: E402

# Wraps window.fetch to keep the passkey routes' request bodies and options answers in
# sessionStorage (it survives the account page's reload).
CAPTURE = r"""
if (!window.__capturing) {
  window.__capturing = true;
  var orig = window.fetch;
  window.fetch = function (url, opts) {
    var p = orig.apply(this, arguments);
    if (/passkey|webauthn|session\/mfa/.test(String(url))) {
      p.then(function (r) { return r.clone().text(); }).then(function (answer) {
        var all = JSON.parse(sessionStorage.getItem("capture") || "[]");
        all.push({ url: String(url), body: opts && opts.body ? String(opts.body) : null, answer: answer });
        sessionStorage.setItem("capture", JSON.stringify(all));
      }, function () {});
    }
    return p;
  };
}
"""


def spki_hash(cert):
    der = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"], check=True, capture_output=True).stdout
    spki = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=der, check=True, capture_output=True).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=spki, check=True, capture_output=True).stdout
    return base64.b64encode(digest).decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--other", required=True, help="a second origin served by the same nginx")
    ap.add_argument("--email", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--shots", required=True)
    a = ap.parse_args()
    os.makedirs(a.shots, exist_ok=True)
    port = free_port()
    log = open(os.path.join(a.shots, "chromedriver.log"), "wb")
    proc = subprocess.Popen(["/usr/bin/chromedriver", "--port=%d" % port], stdout=log, stderr=log, start_new_session=True)
    d = Driver(port)
    step = [0]
    report = {"steps": []}

    def shot(name):
        step[0] += 1
        png = base64.b64decode(d.s("GET", "/screenshot"))
        with open(os.path.join(a.shots, "%02d-%s.png" % (step[0], name)), "wb") as f:
            f.write(png)
        report["steps"].append(name)

    def go(url):
        d.s("POST", "/url", {"url": url})

    def js(script, args=None):
        return d.s("POST", "/execute/sync", {"script": script, "args": args or []})

    def captured():
        return json.loads(js("return sessionStorage.getItem('capture') || '[]';"))

    def sign_out():
        go(a.base + "/auth/logout")
        wait("the sign-out page", lambda: d.text("button") == "Sign out")
        d.click("button[type=submit]")
        wait("signed out", lambda: "logged_out=1" in d.url())

    def on_account():
        return d.url().startswith(a.base + "/auth/account") and d.text("#account-email") == a.email

    try:
        wait("chromedriver to answer /status", lambda: _ready(d), timeout=30)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "acceptInsecureCerts": True,
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1000,1100", "--no-first-run",
                "--ignore-certificate-errors-spki-list=" + spki_hash(a.cert),
                "--user-data-dir=" + os.path.join(a.shots, "profile")]}}}}
        d.sid = d.call("POST", "/session", caps, timeout=60)["sessionId"]
        auth = d.s("POST", "/webauthn/authenticator", {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
            "hasUserVerification": True, "isUserVerified": True})
        report["authenticator"] = auth

        # 1. Sign in with the password; the account page lists no factor yet.
        go(a.base + "/auth/account")
        wait("the login page for /auth/account", lambda: "/auth/login?return_to=/auth/account" in d.url())
        wait("the passkey button on the login page", lambda: d.text("#passkey-signin") == "Sign in with a passkey")
        if "webauthn" not in (d.attr("#email", "autocomplete") or ""):
            raise Fail("the email field does not offer passkeys in autofill (conditional UI)")
        shot("login-page")
        d.type("#email", a.email)
        d.type("#password", a.password)
        d.click("form button[type=submit]")
        wait("the account page", on_account)
        wait("the sessions list", lambda: js("return document.getElementById('sessions').getAttribute('data-loaded');") == "1")
        shot("account-before")

        # 2. Register a passkey from the account page (the virtual authenticator answers).
        js(CAPTURE)
        d.type("#passkey-name", "Chromium virtual")
        d.click("#passkey-add")
        wait("the passkey in the factor list", lambda: "Chromium virtual" in d.text("#factors"), timeout=30)
        wait("the recovery codes shown once", lambda: len(d.text("#new-recovery-codes").split()) == 10)
        creds = d.s("GET", "/webauthn/authenticator/%s/credentials" % auth)
        if len(creds) != 1 or not creds[0].get("isResidentCredential"):
            raise Fail("the authenticator holds %r, not one resident credential" % creds)
        report["capture_registration"] = captured()
        shot("passkey-registered")
        if "with a second factor" not in d.text("main"):
            raise Fail("the account page does not say level 2 after the registration: %r" % d.text("main")[:300])
        # The sessions list marks this one; the password session of step 1 was revoked by the enrolment.
        wait("this session marked", lambda: "(this device)" in d.text("#sessions"))

        # Chromium's virtual authenticator answers a conditional (autofill) request at once when
        # it holds a discoverable credential, where a person would pick it from the list. So the
        # steps below take the credential out (WebDriver: get it with its private key, delete it)
        # before a page load and put it back as each step needs it: non-resident for the second
        # factor (found through allowCredentials only), resident for passwordless.
        held = [None]

        def stash():
            creds = d.s("GET", "/webauthn/authenticator/%s/credentials" % auth)
            if creds:
                handle = (held[0] or {}).get("userHandle")
                held[0] = creds[0]
                if not held[0].get("userHandle") and handle:
                    held[0]["userHandle"] = handle   # the non-resident copy had none
            d.s("DELETE", "/webauthn/authenticator/%s/credentials" % auth)

        def put_back(resident):
            c = dict(held[0])
            c["isResidentCredential"] = resident
            if not resident:
                c.pop("userHandle", None)
            d.s("POST", "/webauthn/authenticator/%s/credential" % auth, c)

        # 3. Sign out; sign in with the password, then the passkey as the second factor.
        stash()
        sign_out()
        go(a.base + "/auth/account")
        wait("the login page", lambda: "/auth/login?return_to=" in d.url() and d.text("form button") == "Sign in")
        put_back(resident=False)
        d.type("#email", a.email)
        d.type("#password", a.password)
        d.click("form button[type=submit]")
        wait("the passkey step", lambda: d.text("#passkey-mfa") == "Use your passkey")
        shot("second-factor-step")
        js("sessionStorage.removeItem('capture');" + CAPTURE)
        d.click("#passkey-mfa")
        wait("the account page after password + passkey", on_account, timeout=30)
        if "with a second factor" not in d.text("main"):
            raise Fail("not level 2 after password + passkey")
        shot("signed-in-second-factor")

        # 4. Sign out; sign in with the passkey alone, with the button.
        stash()
        sign_out()
        go(a.base + "/auth/login?return_to=/auth/account")
        wait("the passkey button", lambda: d.text("#passkey-signin") == "Sign in with a passkey")
        put_back(resident=True)
        js(CAPTURE)
        d.click("#passkey-signin")
        wait("the account page after the passkey alone", on_account, timeout=30)
        if "with a second factor" not in d.text("main"):
            raise Fail("passwordless with user verification is not level 2")
        report["capture_assertion"] = captured()
        shot("signed-in-passwordless")

        # 5. The same from the email field's autofill (conditional UI): the page asks on load.
        stash()
        sign_out()
        put_back(resident=True)
        go(a.base + "/auth/login?return_to=/auth/account")
        wait("the account page through conditional UI", on_account, timeout=30)
        shot("signed-in-conditional-ui")

        # 6. Another origin (same host, another port: the browser allows RP ID localhost there)
        # must fail at the server: its origin is not in AUTH_WEBAUTHN_ORIGINS.
        stash()
        sign_out()
        go(a.other + "/auth/login?return_to=/auth/account")
        wait("the login page on the other origin", lambda: d.text("#passkey-signin") == "Sign in with a passkey")
        put_back(resident=True)
        d.click("#passkey-signin")
        wait("the refusal on the other origin", lambda: "not accepted" in d.text("#message"), timeout=30)
        if "/auth/login" not in d.url():
            raise Fail("the other origin left the login page: %s" % d.url())
        shot("other-origin-refused")
        report["ok"] = True
    except Exception as e:  # noqa: BLE001 - report any failure with a last screenshot
        failed(report, e, shot)
    finally:
        stop_browser(d, proc, log)
    print(json.dumps(report))
    return 0 if report.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
