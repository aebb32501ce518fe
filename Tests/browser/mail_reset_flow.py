#!/usr/bin/env python3
"""Issue 23 in a real Chromium (the WebDriver client of browser_flow.py): the login page's
"Forgot your password?" link, the forgot form (plain post), the mail read back from the test SMTP
server's directory, the link opened (the page's script copies the token from the fragment and
removes it from the address bar), a new password set, then signed in with it on the dashboard.
Prints one JSON line. Every wait has a deadline and names what it waited for."""
import argparse, base64, glob, json, os, re, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_flow import Driver, Fail, wait, free_port, _ready, failed, stop_browser  # noqa: E402


def mails(maildir):
    return [open(p, encoding="utf-8", errors="replace").read()
            for p in sorted(glob.glob(os.path.join(maildir, "*.eml")), key=lambda p: (len(p), p))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--email", required=True)
    ap.add_argument("--new-password", required=True)
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--shots", required=True)
    a = ap.parse_args()
    os.makedirs(a.shots, exist_ok=True)
    port = free_port()
    log = open(os.path.join(a.shots, "chromedriver.log"), "wb")
    proc = subprocess.Popen(["/usr/bin/chromedriver", "--port=%d" % port], stdout=log, stderr=log, start_new_session=True)
    d = Driver(port)
    step = [0]
    report = {}

    def shot(name):
        step[0] += 1
        with open(os.path.join(a.shots, "%02d-%s.png" % (step[0], name)), "wb") as f:
            f.write(base64.b64decode(d.s("GET", "/screenshot")))

    def js(script):
        return d.s("POST", "/execute/sync", {"script": script, "args": []})

    try:
        wait("chromedriver to answer /status", lambda: _ready(d), timeout=30)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "acceptInsecureCerts": True,
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1000,900", "--no-first-run", "--user-data-dir=" + os.path.join(a.shots, "profile")]}}}}
        d.sid = d.call("POST", "/session", caps, timeout=60)["sessionId"]

        # 1. From the login page to the forgot form; the plain form post answers with its notice.
        d.s("POST", "/url", {"url": a.base + "/auth/login"})
        wait("the login form", lambda: d.text("button") == "Sign in")
        d.click("a[href='/auth/forgot']")
        wait("the forgot page", lambda: "/auth/forgot" in d.url() and "reset link" in d.text("button"))
        d.type("#email", a.email)
        d.click("button[type=submit]")
        wait("the 'on its way' notice", lambda: "sent=1" in d.url() and "on its way" in d.text("#notice"))
        shot("forgot-sent")

        # 2. The mail, as the SMTP server received it.
        mail = wait("the reset mail at the SMTP server", lambda: (mails(a.maildir) or [None])[-1], timeout=30)
        m = re.search(r"(https://\S+/auth/reset)#token=([A-Z2-7]{32})", mail)
        if not m:
            raise Fail("no reset link in the mail: %r" % mail[:2000])
        link = m.group(1) + "#token=" + m.group(2)
        report["token_length"] = len(m.group(2))

        # 3. The link: the script puts the token into the code field and drops the fragment.
        d.s("POST", "/url", {"url": link})
        wait("the reset page with the code filled in", lambda: js("return document.getElementById('token').value") == m.group(2))
        if js("return location.hash") != "":
            raise Fail("the fragment stayed in the address bar: %r" % d.url())
        report["referrer_meta"] = js("return document.referrer")
        shot("reset-page")

        # 4. A new password; the page goes to the login page with its notice.
        d.type("#new_password", a.new_password)
        d.click("button[type=submit]")
        wait("the login page after the reset", lambda: "/auth/login?reset=1" in d.url() and "password was changed" in d.text("#notice"))
        shot("reset-done")

        # 5. Signed in with the new password: the dashboard shows the account.
        dash = a.base + "/demo/dashboard/"
        d.s("POST", "/url", {"url": dash})
        wait("the login redirect", lambda: "/auth/login?return_to=" in d.url() and d.text("button") == "Sign in")
        d.type("#email", a.email)
        d.type("#password", a.new_password)
        d.click("button[type=submit]")
        wait("the dashboard signed in", lambda: d.url() == dash and d.text("#user-email") == a.email)
        shot("signed-in")
        report["ok"] = True
    except Exception as e:  # noqa: BLE001 - report any failure with a last screenshot
        failed(report, e, shot)
    finally:
        stop_browser(d, proc, log)
    print(json.dumps(report))
    return 0 if report.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
