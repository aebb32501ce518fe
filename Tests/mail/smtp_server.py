#!/usr/bin/python3
"""The test SMTP server (issue 23): Debian's python3-aiosmtpd on 127.0.0.1:PORT, STARTTLS with
the test's certificate, required before MAIL. Every accepted message is written to
MAILDIR/<n>.eml (the bytes as received). The file MODE (read at each RCPT) says how to answer:
`ok` (default), `4xx` (450, retry later) or `5xx` (550, refused for good).
usage: smtp_server.py PORT CERT KEY MAILDIR MODE_FILE"""
import os, ssl, sys, signal
from aiosmtpd.controller import Controller

port, cert, key, maildir, mode_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]

def mode():
    try:
        with open(mode_file) as f:
            return f.read().strip() or "ok"
    except FileNotFoundError:
        return "ok"

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        m = mode()
        if m == "4xx":
            return "450 4.2.0 mailbox busy, try again later"
        if m == "5xx":
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = len([f for f in os.listdir(maildir) if f.endswith(".eml")]) + 1
        tmp = os.path.join(maildir, "%d.tmp" % n)
        with open(tmp, "wb") as f:
            f.write(("X-Envelope-From: %s\r\nX-Envelope-To: %s\r\nX-TLS: %s\r\n" % (
                envelope.mail_from, ",".join(envelope.rcpt_tos), "yes" if session.ssl else "no")).encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(maildir, "%d.eml" % n))
        return "250 Message accepted"

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True)
controller.start()
print("listening", port, flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
controller.stop()
