#!/usr/bin/env python3
"""A Modbus peer that no one on this project wrote (pymodbus), for interop tests.

  modbus-peer.py server --unit N [--lid-closed]
      A pymodbus Modbus TCP server on 127.0.0.1 serving unit N with 64 of each table (plain
      storage, no behaviour): di:0..2 are set with --lid-closed (lid, part, start in Ferrule's
      default map). Prints "PORT <n>" once listening; serves until killed.

  modbus-peer.py client (--tcp HOST:PORT | --rtu PATH) --unit N [--write hr:A=V|coil:A=0/1]... [--read TABLE:A]...
      A pymodbus client: performs the writes, then prints the reads as JSON {"TABLE:A": value}.
"""
import argparse, json, socket, sys, time

from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext


def serve(args):
    from pymodbus.server import StartTcpServer

    # pymodbus's blocks start at 1: values[0] is protocol address 0.
    inputs = [bool(args.lid_closed)] * 3 + [False] * 61
    device = ModbusDeviceContext(di=ModbusSequentialDataBlock(1, inputs),
                                 co=ModbusSequentialDataBlock(1, [False] * 64),
                                 hr=ModbusSequentialDataBlock(1, [0] * 64),
                                 ir=ModbusSequentialDataBlock(1, [0] * 64))
    context = ModbusServerContext(devices={args.unit: device}, single=False)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    print(f"PORT {port}", flush=True)
    StartTcpServer(context=context, address=("127.0.0.1", port))


def client(args):
    from pymodbus.client import ModbusSerialClient, ModbusTcpClient
    from pymodbus import FramerType

    if args.tcp:
        host, port = args.tcp.rsplit(":", 1)
        c = ModbusTcpClient(host, port=int(port), timeout=2, retries=1)
    else:
        c = ModbusSerialClient(args.rtu, framer=FramerType.RTU, baudrate=115200, timeout=2, retries=1)
    if not c.connect():
        print(json.dumps({"error": "cannot connect"}))
        return 3
    out = {}
    for w in args.write:
        point, value = w.split("=")
        table, address = point.split(":")
        if table == "hr":
            r = c.write_register(int(address), int(value), device_id=args.unit)
        else:
            r = c.write_coil(int(address), value == "1", device_id=args.unit)
        if r.isError():
            out[point] = f"error: {r}"
    time.sleep(args.settle)
    for point in args.read:
        table, address = point.split(":")
        a = int(address)
        if table == "di":
            r = c.read_discrete_inputs(a, count=1, device_id=args.unit)
            out[point] = r.bits[0] if not r.isError() else f"error: {r}"
        elif table == "coil":
            r = c.read_coils(a, count=1, device_id=args.unit)
            out[point] = r.bits[0] if not r.isError() else f"error: {r}"
        elif table == "hr":
            r = c.read_holding_registers(a, count=1, device_id=args.unit)
            out[point] = r.registers[0] if not r.isError() else f"error: {r}"
        else:
            r = c.read_input_registers(a, count=1, device_id=args.unit)
            out[point] = r.registers[0] if not r.isError() else f"error: {r}"
    c.close()
    print(json.dumps(out, sort_keys=True))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("--unit", type=int, default=1)
    s.add_argument("--lid-closed", action="store_true")
    c = sub.add_parser("client")
    c.add_argument("--tcp")
    c.add_argument("--rtu")
    c.add_argument("--unit", type=int, default=1)
    c.add_argument("--write", action="append", default=[])
    c.add_argument("--read", action="append", default=[])
    c.add_argument("--settle", type=float, default=0.1)
    args = p.parse_args()
    if args.cmd == "server":
        serve(args)
        return 0
    return client(args)


if __name__ == "__main__":
    sys.exit(main())
