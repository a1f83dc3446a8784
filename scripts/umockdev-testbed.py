#!/usr/bin/env python3
"""A umockdev testbed in a process of its own, for the udev tests.

  umockdev-wrapper python3 scripts/umockdev-testbed.py

It must run under umockdev-wrapper: libumockdev's uevent sender looks the device up through
libudev, which finds the testbed's /sys only when umockdev is preloaded into the same process.
(The Swift test process itself cannot be preloaded, so it drives this one over a pipe.)

Prints "ROOT <dir>" once the testbed exists (the wrapped programs need UMOCKDEV_DIR=<dir>), then
reads one JSON command per line from stdin and answers "ok" or "error <why>" per line:
  {"op": "add", "text": "<umockdev device description>"}
  {"op": "uevent", "path": "/sys/devices/...", "action": "add" | "remove" | "change"}
  {"op": "remove", "path": "/sys/devices/..."}
The testbed's directory is removed when stdin closes.
"""
import ctypes, json, sys

lib = ctypes.CDLL("libumockdev.so.0")
lib.umockdev_testbed_new.restype = ctypes.c_void_p
lib.umockdev_testbed_get_root_dir.restype = ctypes.c_char_p
lib.umockdev_testbed_get_root_dir.argtypes = [ctypes.c_void_p]
lib.umockdev_testbed_add_from_string.restype = ctypes.c_int
lib.umockdev_testbed_add_from_string.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
lib.umockdev_testbed_uevent.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
lib.umockdev_testbed_remove_device.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
gobject = ctypes.CDLL("libgobject-2.0.so.0")
gobject.g_object_unref.argtypes = [ctypes.c_void_p]

testbed = lib.umockdev_testbed_new()  # also sets $UMOCKDEV_DIR for this process's libudev
print("ROOT", lib.umockdev_testbed_get_root_dir(testbed).decode(), flush=True)

for line in sys.stdin:
    try:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "add":
            if not lib.umockdev_testbed_add_from_string(testbed, cmd["text"].encode(), None):
                raise ValueError("umockdev rejected the device description")
        elif op == "uevent":
            lib.umockdev_testbed_uevent(testbed, cmd["path"].encode(), cmd["action"].encode())
        elif op == "remove":
            lib.umockdev_testbed_remove_device(testbed, cmd["path"].encode())
        else:
            raise ValueError(f"unknown op {op!r}: use add, uevent or remove")
        print("ok", flush=True)
    except Exception as e:  # the test reads the reason
        print("error", str(e).replace("\n", " "), flush=True)

gobject.g_object_unref(testbed)  # removes the testbed's directory
