#!/usr/bin/env python3
"""Drive a real IMAP server (Dovecot in .ci/mail-peers) with Python's imaplib.

usage:
  imap_tool.py append HOST PORT USER PASS MAILBOX FILE...   append messages
  imap_tool.py flags  HOST PORT USER PASS MAILBOX           print "uid flags" lines
  imap_tool.py count  HOST PORT USER PASS MAILBOX           print the message count
  imap_tool.py recreate HOST PORT USER PASS MAILBOX         delete and create (new UIDVALIDITY)
TLS with the CA in $IMAP_CA (implicit TLS) when set, else plain.
"""
import imaplib
import os
import ssl
import sys
import time


def connect(host, port, user, password):
    ca = os.environ.get("IMAP_CA")
    if ca:
        ctx = ssl.create_default_context(cafile=ca)
        ctx.check_hostname = False
        m = imaplib.IMAP4_SSL(host, int(port), ssl_context=ctx)
    else:
        m = imaplib.IMAP4(host, int(port))
    m.login(user, password)
    return m


def main():
    cmd, host, port, user, password, mailbox = sys.argv[1:7]
    m = connect(host, port, user, password)
    if cmd == "append":
        m.create(mailbox)
        for path in sys.argv[7:]:
            with open(path, "rb") as f:
                typ, _ = m.append(mailbox, None, imaplib.Time2Internaldate(time.time()), f.read())
                assert typ == "OK", typ
    elif cmd == "flags":
        m.select(mailbox)
        typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
        for line in data or []:
            if line:
                print(line.decode())
    elif cmd == "count":
        typ, data = m.select(mailbox)
        print(int(data[0]) if typ == "OK" else 0)
    elif cmd == "recreate":
        m.select("INBOX")
        m.delete(mailbox)
        m.create(mailbox)
    m.logout()


if __name__ == "__main__":
    main()
