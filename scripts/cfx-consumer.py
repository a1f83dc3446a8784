#!/usr/bin/python3
"""An AMQP 1.0 consumer no one here wrote (Apache Qpid Proton's Python binding, Debian's
python3-qpid-proton), for the tests: reads messages from a broker address and appends each to
a file as one JSON line {"subject", "id", "contentType", "body"} before accepting it, so a
message is accepted only once it is on disk (a message may be written twice, never lost). Runs
until killed, or until --count messages; when the broker goes away it connects again.

  cfx-consumer.py --url amqp://127.0.0.1:5672 --address /queue/NAME --user U --password P --out FILE
"""
import argparse
import json
import sys
import time

from proton.utils import BlockingConnection
from proton import ConnectionException, Timeout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--address", required=True)
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=0, help="stop after this many (0: never)")
    a = ap.parse_args()
    seen = 0
    ready = False
    with open(a.out, "a", encoding="utf-8") as out:
        while a.count == 0 or seen < a.count:
            try:
                conn = BlockingConnection(a.url, user=a.user, password=a.password, allowed_mechs="PLAIN",
                                          allow_insecure_mechs=True, timeout=30)
                receiver = conn.create_receiver(a.address, credit=50)
            except Exception:  # the broker is down or starting: try again
                time.sleep(0.5)
                continue
            if not ready:
                print("ready", flush=True)
                ready = True
            try:
                while a.count == 0 or seen < a.count:
                    try:
                        msg = receiver.receive(timeout=3600)
                    except Timeout:
                        continue
                    body = msg.body
                    if isinstance(body, (bytes, memoryview)):
                        body = bytes(body).decode("utf-8")
                    out.write(json.dumps({"subject": msg.subject, "id": msg.id, "contentType": msg.content_type,
                                          "body": body}) + "\n")
                    out.flush()
                    receiver.accept()
                    seen += 1
                conn.close()
            except ConnectionException:
                time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
