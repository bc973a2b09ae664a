#!/usr/bin/env python3
"""The direction of the code's folders (docs/design.md, "The map").

Each folder is one library and may include only the folders below it; the
pure folders include no Kafka, RocksDB, HTTP or Prometheus header, so that
they are tested without a broker, a database or a server. The build enforces
the first rule for the project's own headers (each library sees only the
include roots of what it links); this check states both rules in one place,
covers the system headers the build cannot tell apart, and names the file and
line of every breach.

    tests/layering_test.py SOURCE_DIR
"""
import os
import re
import sys

BELOW = {
    "model": [],
    "validate": ["model"],
    "score": ["model", "validate"],
    "process": ["model", "validate", "score"],
    "store": ["model", "validate", "score", "process"],
    "publish": ["model", "validate", "score", "process"],
    "kafka": ["model", "validate", "score", "process", "publish"],
    "serve": ["model", "validate", "score", "process", "publish"],
    "sim": ["model", "validate", "score", "store", "process", "publish", "kafka"],
    "app": ["model", "validate", "score", "store", "process", "publish", "kafka", "serve", "sim"],
}
PURE = ["model", "validate", "score", "process", "publish"]
# Headers of the adapters' libraries, never in a pure folder.
ADAPTER_HEADERS = re.compile(r"^(librdkafka/|rdkafka|rocksdb/|httplib\.h|prometheus/|civetweb)")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    problems = []
    checked = 0
    for folder, below in BELOW.items():
        path = os.path.join(root, folder)
        if not os.path.isdir(path):
            problems.append(f"{folder}/: the folder is missing")
            continue
        for name in sorted(os.listdir(path)):
            if not name.endswith((".h", ".cc")):
                continue
            rel = f"{folder}/{name}"
            with open(os.path.join(path, name), encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    checked += 1
                    header = m.group(2)
                    top = header.split("/", 1)[0]
                    if folder in PURE and ADAPTER_HEADERS.match(header):
                        problems.append(f"{rel}:{n}: a pure folder includes <{header}> (an adapter's library)")
                    if top in BELOW and top != folder and top not in below:
                        problems.append(f"{rel}:{n}: {folder}/ includes {header}, but {top}/ is not below it "
                                        f"({folder}/ may use {', '.join(below) or 'no other folder'})")
    for p in problems:
        print(p)
    print(f"layering: {checked} includes in {len(BELOW)} folders checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
