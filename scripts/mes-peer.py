#!/usr/bin/env python3
"""A stand-in MES for the HTTP sink tests: a plain Python HTTP server that misbehaves on cue.

  mes-peer.py --log FILE [--plan 'SERIAL=500,stall,200;OTHER=422'] [--stall-seconds 3]
              [--route 'SERIAL=hold:on hold by QA;OTHER=stall']

POST /route-check answers a route check (`mes.routeCheck.http`): {"allowed": true}, or
{"allowed": false, "reason": ...} for a serial held in --route, or stalls, or a status code.

Prints "PORT <n>" once listening on 127.0.0.1, then serves until killed. For each POST it
appends one JSON line to FILE (serial, Idempotency-Key, Authorization, body SHA-256, answer),
then answers per the plan for that unit's serial (header X-Ferrule-Serial), one step per request:
a status code, or `stall` (read the request, log it, answer 200 only after --stall-seconds, by
which time the client has given up: the MES has the report but the station does not know).
Once a serial's plan is used up, and for serials not in it, the answer is 200.
"""
import argparse, hashlib, json, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = None
plans = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/route-check":
            return self.route_check(body)
        serial = self.headers.get("X-Ferrule-Serial", "")
        with lock:
            steps = plans.get(serial, [])
            step = steps.pop(0) if steps else "200"
            with open(args.log, "a") as f:
                f.write(json.dumps({"serial": serial, "key": self.headers.get("Idempotency-Key"),
                                    "authorization": self.headers.get("Authorization"),
                                    "contentType": self.headers.get("Content-Type"),
                                    "sha256": hashlib.sha256(body).hexdigest(), "answer": step, "at": time.time()}) + "\n")
        if step == "stall":
            time.sleep(args.stall_seconds)
            step = "200"
        code = int(step)
        self.answer(code, b'{"ok": true}' if code < 300 else b'{"error": "unit rejected by the MES test peer"}')

    def answer(self, code, data):
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting

    def route_check(self, body):
        """A route check: the serial's plan says allow (the default), hold:REASON, stall, or a status code."""
        query = json.loads(body or b"{}")
        with lock:
            step = routes.get(query.get("serial", ""), "allow")
            with open(args.log, "a") as f:
                f.write(json.dumps({"route": query, "answer": step, "at": time.time()}) + "\n")
        if step == "stall":
            time.sleep(args.stall_seconds)
            step = "allow"
        if step == "allow":
            code, text = 200, json.dumps({"allowed": True})
        elif step.startswith("hold:"):
            code, text = 200, json.dumps({"allowed": False, "reason": step[5:]})
        else:
            code, text = int(step), json.dumps({"error": "the MES test peer says " + step})
        self.answer(code, text.encode())


routes = {}


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--plan", default="")
    p.add_argument("--stall-seconds", type=float, default=3)
    p.add_argument("--route", default="", help="route checks: 'SERIAL=hold:REASON;OTHER=stall;THIRD=503' (default allow)")
    args = p.parse_args()
    for part in filter(None, args.route.split(";")):
        serial, step = part.split("=", 1)
        routes[serial] = step
    for part in filter(None, args.plan.split(";")):
        serial, steps = part.split("=", 1)
        plans[serial] = steps.split(",")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("PORT", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
