#!/usr/bin/env python3
"""A/B of two wijkpuls builds (or two configurations) on one replay file, the
two run *at the same time*, each with its own state directory.

Why at the same time: this machine's speed swings by up to 2x within an hour,
so two builds timed one after the other differ by more than most changes do
(bench/README.md, "Judging a change"). Run side by side, both see the same
machine; the ratio of their CPU times is steady to a few per cent, and the
order in which they are started is swapped every round.

  bench/ab.py build-a/wijkpuls build-b/wijkpuls --records season.rec
  bench/ab.py wijkpuls wijkpuls --config-b big-batches.yaml --records season.rec

Prints each round and the median ratios B/A of wall and CPU (user + sys).
A change meant to use idle cores (more threads) is judged with --sequential:
one after the other, the order swapped every round.
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import config_yaml  # noqa: E402  (bench/run.py: the harness's configuration)


def start(binary, config, records, work, env=None):
    """Starts one replay; returns (process, start time)."""
    cmd = [binary, "replay", records, "--config", config, "--ephemeral-key",
           "--rejected-out", os.path.join(work, "rejected.rec")]
    with open(os.path.join(work, "out.txt"), "w") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                env=dict(os.environ, **(env or {}))), time.monotonic()


def wait_all(running, got):
    """Waits for every process in `running` ({pid: (side, start)}); puts each
    side's (wall, CPU) in `got`."""
    while running:
        pid, status, ru = os.wait4(-1, 0)
        if pid not in running:
            continue
        s, t0 = running.pop(pid)
        if status != 0:
            with open(os.path.join(s["work"], "out.txt")) as f:
                sys.exit("%s exited with status %d:\n%s" % (s["binary"], os.waitstatus_to_exitcode(status), f.read()[-2000:]))
        got[s["name"]] = (time.monotonic() - t0, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024)


def state_dir_of(config):
    """The config's state.dir (its first `dir:` line), resolved as wijkpuls does:
    against the config file's folder."""
    with open(config) as f:
        for line in f:
            s = line.strip()
            if s.startswith("dir:"):
                d = s.split(":", 1)[1].strip().strip('"')
                return os.path.join(os.path.dirname(os.path.abspath(config)), d)
    sys.exit("%s: no state.dir line" % config)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", help="wijkpuls binary A")
    p.add_argument("b", help="wijkpuls binary B")
    p.add_argument("--records", required=True, help="record file to replay (wijkpuls simulate --out)")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--config-a", help="config file for A (its state.dir is emptied every round); "
                   "default: a generated one with a state directory of its own")
    p.add_argument("--config-b", help="the same for B")
    p.add_argument("--env-a", metavar="KEY=VALUE", action="append", default=[], help="an environment variable for A")
    p.add_argument("--env-b", metavar="KEY=VALUE", action="append", default=[], help="the same for B")
    p.add_argument("--sequential", action="store_true",
                   help="one after the other (the order swapped every round), for a change meant to use "
                        "idle cores: side by side, each sees the other's load, not idle cores")
    args = p.parse_args()

    root = tempfile.mkdtemp(prefix="wijkpuls-ab-")
    sides = []
    for name, binary, config, env in (("A", args.a, args.config_a, args.env_a), ("B", args.b, args.config_b, args.env_b)):
        work = os.path.join(root, name)
        os.makedirs(work)
        if config is None:
            config = os.path.join(work, "config.yaml")
            with open(config, "w") as f:
                f.write(config_yaml(os.path.join(work, "state"), group="ab", log_level="warn"))
        sides.append(dict(name=name, binary=os.path.abspath(binary), config=config,
                          state=state_dir_of(config), work=work, env=dict(e.split("=", 1) for e in env)))
    if sides[0]["state"] == sides[1]["state"]:
        sys.exit("A and B must not share a state directory")

    ratios_wall, ratios_cpu = [], []
    running = {}
    try:
        for r in range(args.rounds):
            order = sides if r % 2 == 0 else sides[::-1]
            running = {}
            for s in order:
                shutil.rmtree(s["state"], ignore_errors=True)
                rejected = os.path.join(s["work"], "rejected.rec")
                if os.path.exists(rejected):
                    os.remove(rejected)  # replay appends to it
            got = {}
            for s in order:
                proc, t0 = start(s["binary"], s["config"], args.records, s["work"], s["env"])
                running[proc.pid] = (s, t0)
                if args.sequential:
                    wait_all(running, got)
            wait_all(running, got)
            (wa, ca, ma), (wb, cb, mb) = got["A"], got["B"]
            ratios_wall.append(wb / wa)
            ratios_cpu.append(cb / ca)
            print("round %d (%s first): A wall %.2f s cpu %.2f s %.0f MB | B wall %.2f s cpu %.2f s %.0f MB | "
                  "B/A wall %.3f cpu %.3f" % (r + 1, order[0]["name"], wa, ca, ma, wb, cb, mb, wb / wa, cb / ca),
                  flush=True)
    finally:
        for pid in running:  # the other side, when one failed or on Ctrl-C
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        shutil.rmtree(root, ignore_errors=True)
    print("median B/A over %d rounds: wall %.3f, cpu %.3f (B cheaper in %d of %d rounds by CPU)"
          % (args.rounds, statistics.median(ratios_wall), statistics.median(ratios_cpu),
             sum(1 for x in ratios_cpu if x < 1), args.rounds))


if __name__ == "__main__":
    main()
