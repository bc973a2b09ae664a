#!/usr/bin/env python3
"""deploy/systemd/wijkpuls.service: `systemd-analyze verify` and the hardening it promises.

`systemd-analyze verify` checks that ExecStart's binary exists. The unit names
/usr/bin/wijkpuls (where the .deb installs it), which a build machine does not have, so a
copy of the unit is verified whose ExecStart (and nothing else) points at the built
binary. Any warning about the unit fails the test, not only errors (systemd ignores
misplaced or misspelt keys with a warning and exit code 0). `systemd-analyze security
--offline=true` rates the unit's sandboxing; the test requires an exposure of at most 2.5
("OK"). The unit's promises (user, state directory, read-only system, restart and stop
policy, reload by SIGHUP, the exact ExecStart) are checked key by key.
"""
import argparse
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opslib  # noqa: E402
from opslib import Failure, log  # noqa: E402

UNIT = "deploy/systemd/wijkpuls.service"
EXEC_START = "/usr/bin/wijkpuls serve --config /etc/wijkpuls/wijkpuls.yaml"


def parse_unit(path):
    """{(section, key): [values]}: unit files may repeat a key (SystemCallFilter=)."""
    out, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1]
                continue
            key, _, value = line.partition("=")
            out.setdefault((section, key.strip()), []).append(value.strip())
    return out


def check_keys(unit, problems):
    want = {
        ("Service", "User"): "wijkpuls",
        ("Service", "Group"): "wijkpuls",
        ("Service", "ExecStart"): EXEC_START,
        ("Service", "StateDirectory"): "wijkpuls",
        ("Service", "ProtectSystem"): "strict",
        ("Service", "NoNewPrivileges"): "yes",
        ("Service", "PrivateTmp"): "yes",
        ("Service", "Restart"): "on-failure",
        ("Service", "KillSignal"): "SIGTERM",
        ("Service", "TimeoutStopSec"): "15",
        ("Service", "ExecReload"): "/bin/kill -HUP $MAINPID",
        ("Install", "WantedBy"): "multi-user.target",
    }
    for (section, key), value in want.items():
        got = unit.get((section, key))
        if got != [value]:
            problems.append(f"{UNIT}: [{section}] {key}={got!r}, expected {value!r}")
    rw = " ".join(unit.get(("Service", "ReadWritePaths"), [])).split()
    if any(p != "/var/lib/wijkpuls" for p in rw):
        problems.append(f"{UNIT}: ReadWritePaths may only name the state directory, not {rw}")


def run():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--tmp", default="")
    args = ap.parse_args()
    if not shutil.which("systemd-analyze"):
        raise Failure("systemd-analyze is not installed (Debian package systemd; scripts/setup.sh --test)")
    src = os.path.join(opslib.SOURCE_DIR, UNIT)
    with open(src) as f:
        text = f.read()
    problems = []
    check_keys(parse_unit(src), problems)
    if text.count(f"ExecStart={EXEC_START}\n") != 1:
        problems.append(f"{UNIT}: exactly one 'ExecStart={EXEC_START}' line expected")

    tmp = opslib.make_temp_dir(args.tmp, "ops-systemd-")
    try:
        copy = os.path.join(tmp, "wijkpuls.service")
        with open(copy, "w") as f:
            f.write(text.replace(f"ExecStart=/usr/bin/wijkpuls ", f"ExecStart={os.path.abspath(args.binary)} "))
        r = subprocess.run(["systemd-analyze", "verify", copy], capture_output=True, text=True, timeout=60)
        noise = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
        if r.returncode != 0 or noise:
            problems.append(f"systemd-analyze verify (exit {r.returncode}):\n    " + "\n    ".join(noise))
        else:
            log("systemd-analyze verify: clean")
        r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--threshold=25", "--no-pager", copy],
                           capture_output=True, text=True, timeout=60)
        overall = [l for l in r.stdout.splitlines() if "Overall exposure level" in l]
        log(overall[0].strip() if overall else r.stdout[-300:])
        if r.returncode != 0:
            problems.append(f"systemd-analyze security: exposure above 2.5 or error (exit {r.returncode}): "
                            f"{overall or r.stderr.strip()}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if problems:
        raise Failure(f"{len(problems)} problems:\n  " + "\n  ".join(problems))


if __name__ == "__main__":
    opslib.main_wrapper(run)
