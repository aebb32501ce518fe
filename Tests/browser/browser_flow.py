#!/usr/bin/env python3
"""Drives Debian's chromium through chromedriver (W3C WebDriver over HTTP, Python's stdlib only)
through the demo dashboard: redirect to login, wrong password, login, fetch + WebSocket by
cookie, access cookie expiry and a reload that renews it, logout, redirect again; then (issue 21)
the level-2 page /demo/mfa: enrol a TOTP factor from the page (the key read from the page, the
code computed here with hmac), sign out, sign in with password + code.
A screenshot of each step goes to --shots. Prints one JSON line with the cookies seen.
Every wait has a deadline and names what it waited for; chromedriver (and the chromium it
started) is stopped by its process group, which this script created."""
import argparse, base64, hashlib, hmac, json, os, signal, socket, struct, subprocess, sys, time, urllib.request, urllib.error

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class Fail(Exception):
    pass


class Driver:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port
        self.sid = None

    def call(self, method, path, body=None, timeout=30):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise Fail("%s %s: %s %s" % (method, path, e.code, e.read()[:500]))

    def s(self, method, path, body=None):
        return self.call(method, "/session/%s%s" % (self.sid, path), body)

    def find(self, css):
        return self.s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def text(self, css):
        try:
            return self.s("GET", "/element/%s/text" % self.find(css))
        except Fail:
            return ""

    def type(self, css, value):
        el = self.find(css)
        self.s("POST", "/element/%s/clear" % el, {})
        self.s("POST", "/element/%s/value" % el, {"text": value})

    def attr(self, css, name):
        return self.s("GET", "/element/%s/attribute/%s" % (self.find(css), name))

    def click(self, css):
        self.s("POST", "/element/%s/click" % self.find(css), {})

    def url(self):
        return self.s("GET", "/url")

    def cookies(self):
        return {c["name"]: c for c in self.s("GET", "/cookie")}


def totp(secret, at=None):
    """RFC 6238 (SHA-1, 6 digits, 30 s) with Python's hmac: independent of Authgate's code."""
    s = secret.upper()
    key = base64.b32decode(s + "=" * ((8 - len(s) % 8) % 8))
    h = hmac.new(key, struct.pack(">Q", int(time.time() if at is None else at) // 30), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)


def wait(what, cond, timeout=20):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.1)
    raise Fail("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def failed(report, error, shot):
    """Records a failed flow in the report, with a last screenshot when the browser still answers."""
    report["ok"] = False
    report["error"] = str(error)
    try:
        shot("failure")
    except Exception:  # noqa: BLE001
        pass


def stop_browser(d, proc, log):
    """Ends the WebDriver session, then chromedriver's process group (TERM, then KILL after 10 s)."""
    if d.sid:
        try:
            d.call("DELETE", "/session/" + d.sid, timeout=15)
        except Exception:  # noqa: BLE001
            pass
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    log.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--email", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--shots", required=True)
    ap.add_argument("--ttl", type=int, required=True)
    ap.add_argument("--access-cookie", default="__Host-authgate")
    ap.add_argument("--refresh-cookie", default="__Host-authgate-refresh")
    a = ap.parse_args()
    os.makedirs(a.shots, exist_ok=True)
    port = free_port()
    log = open(os.path.join(a.shots, "chromedriver.log"), "wb")
    proc = subprocess.Popen(["/usr/bin/chromedriver", "--port=%d" % port], stdout=log, stderr=log,
                            start_new_session=True)
    d = Driver(port)
    step = [0]
    report = {}

    def shot(name):
        step[0] += 1
        png = base64.b64decode(d.s("GET", "/screenshot"))
        with open(os.path.join(a.shots, "%02d-%s.png" % (step[0], name)), "wb") as f:
            f.write(png)

    try:
        wait("chromedriver to answer /status", lambda: _ready(d), timeout=30)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "acceptInsecureCerts": True,
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1000,900", "--no-first-run", "--user-data-dir=" + os.path.join(a.shots, "profile")]}}}}
        d.sid = d.call("POST", "/session", caps, timeout=60)["sessionId"]
        dash = a.base + "/demo/dashboard/"

        # 1. The dashboard sends a stranger to the login page, remembering where they were going.
        d.s("POST", "/url", {"url": dash})
        wait("the redirect to /auth/login", lambda: "/auth/login?return_to=/demo/dashboard/" in d.url())
        wait("the login form", lambda: d.text("button") == "Sign in")
        shot("login-page")

        # 2. A wrong password shows the error in place.
        d.type("#email", a.email)
        d.type("#password", "not the password at all")
        d.click("button[type=submit]")
        wait("the wrong-credentials message", lambda: "Wrong email or password" in d.text("#message"))
        shot("wrong-password")

        # 3. The right one lands back on the dashboard, signed in.
        d.type("#password", a.password)
        d.click("button[type=submit]")
        wait("the dashboard after login", lambda: d.url() == dash and d.text("#user-email") == a.email)
        first = d.cookies()
        for name in (a.access_cookie, a.refresh_cookie):
            c = first.get(name) or {}
            if not (c.get("httpOnly") and c.get("secure")):
                raise Fail("cookie %s missing or not HttpOnly+Secure: %r" % (name, c))
        report["access_before"] = first[a.access_cookie]["value"]
        report["refresh_before"] = first[a.refresh_cookie]["value"]
        report["same_site"] = [first[a.access_cookie].get("sameSite"), first[a.refresh_cookie].get("sameSite")]

        # 4. The gated fetch and the WebSocket (by cookie, no token in the URL) both work.
        wait("the gated fetch", lambda: a.email in d.text("#fetch-result"))
        wait("the WebSocket echo", lambda: "echo: hello from the dashboard" in d.text("#ws-result"))
        shot("dashboard-ws-echo")

        # 5. The access cookie expires (Max-Age = the short TTL); a reload is renewed silently.
        wait("the access cookie to expire", lambda: a.access_cookie not in d.cookies(), timeout=a.ttl + 15)
        shot("access-cookie-expired")
        d.s("POST", "/refresh", {})
        wait("the dashboard after the reload", lambda: d.url() == dash and d.text("#user-email") == a.email)
        renewed = d.cookies()
        if a.access_cookie not in renewed or renewed.get(a.refresh_cookie, {}).get("value") == report["refresh_before"]:
            raise Fail("the reload did not renew both cookies: %r" % sorted(renewed))
        report["access_after"] = renewed[a.access_cookie]["value"]
        report["refresh_after"] = renewed[a.refresh_cookie]["value"]
        wait("the WebSocket echo after renewal", lambda: "echo: hello from the dashboard" in d.text("#ws-result"))
        shot("renewed")

        # 6. Logout clears the cookies and lands on the login page.
        d.click("#logout")
        wait("the signed-out login page", lambda: "logged_out=1" in d.url() and "signed out" in d.text("#notice"))
        left = [n for n in d.cookies() if n in (a.access_cookie, a.refresh_cookie)]
        if left:
            raise Fail("cookies left after logout: %r" % left)
        shot("logged-out")

        # 7. The dashboard redirects to the login page again.
        d.s("POST", "/url", {"url": dash})
        wait("the redirect to login after logout", lambda: "/auth/login?return_to=" in d.url())
        shot("login-again")

        # 8. Issue 21: /demo/mfa needs level 2. Signed in with the password only, a page load
        # there goes to /auth/mfa, which sets up an authenticator app from the page.
        mfa = a.base + "/demo/mfa"
        d.type("#email", a.email)
        d.type("#password", a.password)
        d.click("button[type=submit]")
        wait("the dashboard after the password", lambda: d.url() == dash and d.text("#user-email") == a.email)
        d.s("POST", "/url", {"url": mfa})
        wait("the redirect to the enrolment page", lambda: "/auth/mfa?return_to=/demo/mfa" in d.url())
        shot("mfa-start")
        d.click("#enrol")
        wait("the QR code page", lambda: d.text("h1") == "Scan the QR code")
        secret = d.attr("#totp-secret", "data-secret")
        if not secret or d.s("GET", "/element/%s/name" % d.find("#qr")) != "svg":
            raise Fail("no key or no inline SVG QR code on the enrolment page")
        shot("mfa-qr")
        used = totp(secret)
        d.type("#code", used)
        d.click("#confirm")
        wait("the recovery codes", lambda: len(d.text("#recovery-codes").split()) == 10)
        report["recovery_codes"] = d.text("#recovery-codes").split()
        shot("mfa-recovery-codes")
        d.click("#continue")
        wait("/demo/mfa at level 2", lambda: d.url() == mfa and '"x-auth-aal":"2"' in d.text("body").replace(" ", "").lower())
        shot("mfa-level-2")

        # 9. Sign out, then sign in with password + code (the code step comes after the password).
        d.s("POST", "/url", {"url": a.base + "/auth/logout"})
        wait("the sign-out page", lambda: d.text("button") == "Sign out")
        d.click("button[type=submit]")
        wait("signed out", lambda: "logged_out=1" in d.url())
        d.s("POST", "/url", {"url": mfa})
        wait("the login page for /demo/mfa", lambda: "/auth/login?return_to=" in d.url() and d.text("button") == "Sign in")
        d.type("#email", a.email)
        d.type("#password", a.password)
        d.click("button[type=submit]")
        wait("the code step", lambda: d.text("h1") == "Enter your code")
        shot("mfa-code-step")
        wait("a code other than the one the enrolment used", lambda: totp(secret) != used, timeout=35)
        d.type("#code", totp(secret))
        d.click("button[type=submit]")
        wait("/demo/mfa after password + code",
             lambda: d.url() == mfa and '"x-auth-aal":"2"' in d.text("body").replace(" ", "").lower())
        shot("mfa-signed-in")
        report["ok"] = True
    except Exception as e:  # noqa: BLE001 - report any failure with a last screenshot
        failed(report, e, shot)
    finally:
        stop_browser(d, proc, log)
    print(json.dumps(report))
    return 0 if report.get("ok") else 1


def _ready(d):
    try:
        return d.call("GET", "/status", timeout=2).get("ready")
    except Exception:  # noqa: BLE001
        return False


if __name__ == "__main__":
    sys.exit(main())
