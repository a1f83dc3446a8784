#!/usr/bin/env python3
"""A stand-in network label printer for the label tests: a raw TCP port like a Zebra's 9100.

  label-printer.py --log FILE [--port N]

Prints "PORT <n>" once listening on 127.0.0.1 (any free port unless --port), then serves until
killed. Each connection is one print job: everything it sends until it closes is appended to
FILE as one JSON line {"zpl": "..."}.
"""
import argparse, json, socket, sys, threading

lock = threading.Lock()


def serve(conn, log):
    data = b""
    with conn:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    with lock, open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps({"zpl": data.decode("utf-8", "replace")}) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", a.port))
    s.listen(16)
    print("PORT %d" % s.getsockname()[1], flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, a.log), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
