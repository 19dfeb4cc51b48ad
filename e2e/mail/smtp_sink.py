#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) that captures what Frontdesk sends.

usage: smtp_sink.py OUTDIR [--fail-first N]
Listens on 127.0.0.1 (a free port), prints "PORT <n>" on stdout once ready, writes each
accepted message to OUTDIR/<n>.eml with its envelope in OUTDIR/<n>.json, and runs until
stdin closes. With --fail-first N the first N transactions get a 451 (temporary failure).
"""
import asyncio
import json
import os
import socket
import sys

from aiosmtpd.controller import Controller


class Capture:
    def __init__(self, outdir, fail_first):
        self.outdir = outdir
        self.fail_left = fail_first
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        if self.fail_left > 0:
            self.fail_left -= 1
            return "451 4.3.0 try again later"
        self.count += 1
        base = os.path.join(self.outdir, str(self.count))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        return "250 2.0.0 captured"


def main():
    outdir = sys.argv[1]
    fail_first = int(sys.argv[sys.argv.index("--fail-first") + 1]) if "--fail-first" in sys.argv else 0
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    controller = Controller(Capture(outdir, fail_first), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"PORT {port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
