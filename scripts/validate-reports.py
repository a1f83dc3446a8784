#!/usr/bin/env python3
"""Validate Ferrule report files against docs/report.schema.json with an independent validator.

usage: validate-reports.py SCHEMA REPORT.json [REPORT.json ...]
Prints one line per invalid file (path: JSON pointer: message) and exits 1 if any is invalid.
"""
import json
import sys

from jsonschema import Draft202012Validator, FormatChecker


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    schema = json.load(open(argv[1]))
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    bad = 0
    for path in argv[2:]:
        with open(path) as f:
            doc = json.load(f)
        for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
            bad += 1
            pointer = "/" + "/".join(str(p) for p in err.absolute_path)
            print(f"{path}: {pointer}: {err.message}")
    print(f"validated {len(argv) - 2} report(s), {bad} error(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
