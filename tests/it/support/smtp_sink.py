"""A real SMTP server for the tests (aiosmtpd): every message it accepts is parsed with the
standard library's email package and written as one JSON file, so the Rust tests read decoded
parts. While a file named REFUSE exists in the directory it answers 451 (try again later), which
is how the tests make the mail server "down" without killing it.

usage: smtp_sink.py PORT DIR
"""
import asyncio
import json
import os
import sys
import uuid
from email import message_from_bytes
from email.policy import default

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        if os.path.exists(os.path.join(self.directory, "REFUSE")):
            with open(os.path.join(self.directory, "REFUSED"), "a") as f:
                f.write("451\n")
            return "451 4.3.0 Mailbox temporarily unavailable, try again later"
        msg = message_from_bytes(envelope.content, policy=default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "message_id": msg["Message-ID"],
            "from": msg["From"],
            "to": msg["To"],
            "subject": msg["Subject"],
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
        }
        name = uuid.uuid4().hex
        tmp = os.path.join(self.directory, "." + name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.directory, name + ".json"))
        return "250 OK"


async def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("READY", flush=True)
    # Until the test harness kills the process (or closes stdin).
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    controller.stop()


if __name__ == "__main__":
    asyncio.run(main())
