#!/usr/bin/python3
"""A stand-in MES answering IPC-CFX route checks through a broker, with Apache Qpid Proton's
Python binding (Debian's python3-qpid-proton), written from the CFX SDK's classes rather than
from Ferrule's code: it reads CFX.InformationSystem.UnitValidation.ValidateUnitsRequest
envelopes from --address and answers each with a ValidateUnitsResponse (the request's
RequestID, PrimaryResult Passed or Failed) sent to the request's reply-to address.

  cfx-mes-peer.py --url amqp://127.0.0.1:5672 --address /queue/NAME --user U --password P --log FILE
                  [--route 'SERIAL=hold:on hold by QA;OTHER=stall;THIRD=notsupported']

--route: `hold:REASON` answers Failed with REASON (failure code 17), `stall` answers nothing,
`notsupported` answers CFX.NotSupportedResponse; any other serial is Passed. Each request is
appended to --log as one JSON line (the envelope as received) before it is answered. Prints
"ready" once it reads the address, then serves until killed.
"""
import argparse
import json
import sys
import time
import uuid
from datetime import datetime, timezone

from proton import Message, Timeout
from proton.utils import BlockingConnection


def envelope(name, request, body):
    return {"MessageName": name, "Version": "1.7", "TimeStamp": datetime.now(timezone.utc).isoformat(),
            "UniqueID": str(uuid.uuid4()), "Source": "mes.standin", "Target": request.get("Source"),
            "RequestID": request.get("RequestID"), "MessageBody": body}


def answer(request, plan):
    serial = request.get("MessageBody", {}).get("PrimaryIdentifier", "")
    step = plan.get(serial, "pass")
    if step == "stall":
        return None
    if step == "notsupported":
        return envelope("CFX.NotSupportedResponse", request, {
            "$type": "CFX.NotSupportedResponse, CFX",
            "RequestResult": {"Result": "Failed", "ResultCode": 0, "Message": "validation is not offered here"}})
    passed = not step.startswith("hold:")
    message = "OK" if passed else step[len("hold:"):]
    result = {"UniqueIdentifier": serial, "PositionNumber": 0, "Result": "Passed" if passed else "Failed",
              "FailureCode": 0 if passed else 17, "Message": message}
    return envelope("CFX.InformationSystem.UnitValidation.ValidateUnitsResponse", request, {
        "$type": "CFX.InformationSystem.UnitValidation.ValidateUnitsResponse, CFX",
        "Result": {"Result": "Success", "ResultCode": 0, "Message": None},
        "PrimaryResult": result, "ValidationResults": [dict(result, PositionNumber=1)]})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--address", required=True)
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--log", required=True)
    ap.add_argument("--route", default="")
    a = ap.parse_args()
    plan = dict(item.split("=", 1) for item in a.route.split(";") if "=" in item)
    conn = BlockingConnection(a.url, user=a.user, password=a.password, allowed_mechs="PLAIN",
                              allow_insecure_mechs=True, timeout=30)
    receiver = conn.create_receiver(a.address, credit=10)
    senders = {}
    print("ready", flush=True)
    with open(a.log, "a", encoding="utf-8") as log:
        while True:
            try:
                msg = receiver.receive(timeout=3600)
            except Timeout:
                continue
            body = msg.body
            if isinstance(body, (bytes, memoryview)):
                body = bytes(body).decode("utf-8")
            request = json.loads(body)
            log.write(json.dumps({"replyTo": msg.reply_to, "ttl": msg.ttl, "envelope": request}) + "\n")
            log.flush()
            receiver.accept()
            reply = answer(request, plan)
            if reply is None or not msg.reply_to:
                continue
            if msg.reply_to not in senders:
                senders[msg.reply_to] = conn.create_sender(msg.reply_to)
            senders[msg.reply_to].send(Message(body=json.dumps(reply).encode("utf-8"), subject=reply["MessageName"],
                                               content_type="application/json; charset=utf-8"))


if __name__ == "__main__":
    sys.exit(main())
