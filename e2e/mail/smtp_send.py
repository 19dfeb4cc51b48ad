#!/usr/bin/env python3
"""Deliver one message to an SMTP server with Python's smtplib (a real SMTP client).

usage: smtp_send.py HOST PORT FROM TO[,TO...] FILE|- [--starttls CAFILE]
Prints one JSON line: {"refused": {...}, "error": null|"..."}; exits 0 when accepted by
at least one recipient, 1 otherwise.
"""
import json
import smtplib
import ssl
import sys


def main():
    host, port, sender, rcpts, path = sys.argv[1:6]
    data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    out = {"refused": {}, "error": None}
    try:
        with smtplib.SMTP(host, int(port), timeout=30) as s:
            s.ehlo("client.example")
            if "--starttls" in sys.argv:
                ca = sys.argv[sys.argv.index("--starttls") + 1]
                ctx = ssl.create_default_context(cafile=ca)
                ctx.check_hostname = False
                s.starttls(context=ctx)
                s.ehlo("client.example")
            refused = s.sendmail(sender, rcpts.split(","), data)
            out["refused"] = {k: [v[0], v[1].decode("utf-8", "replace")] for k, v in refused.items()}
    except smtplib.SMTPRecipientsRefused as e:
        out["error"] = "all recipients refused"
        out["refused"] = {k: [v[0], v[1].decode("utf-8", "replace")] for k, v in e.recipients.items()}
    except smtplib.SMTPResponseException as e:
        out["error"] = f"{e.smtp_code} {e.smtp_error.decode('utf-8', 'replace')}"
    print(json.dumps(out))
    sys.exit(0 if out["error"] is None else 1)


if __name__ == "__main__":
    main()
