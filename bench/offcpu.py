"""Where one thread's wall-clock time goes, from two `perf record -e sched:sched_switch`
recordings of the same window: one system-wide without stacks (every switch in and
out, so durations are exact) and one of the thread alone with DWARF stacks (where it
blocked). Used by bench/run.py --profile for the daemon's pipeline thread.

    python3 bench/offcpu.py TID all.txt stacks.txt      (the `perf script` outputs)
"""
import bisect
import collections
import json
import re
import sys

EVENT = re.compile(r"^\s*(.+?)\s+(\d+)\s+\[\d+\]\s+([\d.]+):\s+sched:sched_switch:\s+(.*)$")
INTERESTING = re.compile(r"wijkpuls::|rd_kafka_|RdKafka::|rocksdb::|fdatasync|pthread_cond|nanosleep|poll")


def parse(path, with_stacks):
    events, cur = [], None
    with open(path, errors="replace") as f:
        for line in f:
            m = EVENT.match(line)
            if m:
                cur = (float(m.group(3)), m.group(4), [])
                events.append(cur)
            elif with_stacks and cur is not None and line.strip():
                parts = line.strip().split(" ", 1)
                if len(parts) == 2:
                    cur[2].append(parts[1].rsplit(" (", 1)[0])
    return events


def analyse(tid, all_path, stacks_path, top=8):
    tid = str(tid)
    out_re, in_re = re.compile(r"prev_pid=%s " % tid), re.compile(r"next_pid=%s " % tid)
    everything = parse(all_path, False)
    stacked = sorted((t, st) for t, rest, st in parse(stacks_path, True) if out_re.search(rest))
    times = [t for t, _ in stacked]

    def stack_at(t):  # the same switch in the stack recording (clocks agree to a few µs)
        i = bisect.bisect_left(times, t - 0.002)
        near = [j for j in range(i, min(i + 4, len(times))) if abs(times[j] - t) < 0.002]
        return stacked[min(near, key=lambda j: abs(times[j] - t))][1] if near else []

    on_cpu, since, out = 0.0, None, None
    states, sites = collections.Counter(), collections.Counter()
    for t, rest, _ in everything:
        if out_re.search(rest):
            if since is not None:
                on_cpu += t - since
                since = None  # one switch in, one switch out: never count a stretch twice
            out = (t, re.search(r"prev_state=(\S+)", rest).group(1))
        if in_re.search(rest):
            since = t
            if out is not None:
                d = t - out[0]
                if out[1].startswith("R"):
                    states["runnable, waiting for a CPU (preempted)"] += d
                else:
                    states["blocked"] += d
                    frames = [f for f in stack_at(out[0]) if INTERESTING.search(f)]
                    sites[" <- ".join(re.sub(r"\+0x[0-9a-f]+$", "", f) for f in frames[:6]) or "unknown"] += d
                out = None
    window = everything[-1][0] - everything[0][0] if everything else 0.0
    if since is not None:
        on_cpu += everything[-1][0] - since  # on CPU until the end of the window
    return dict(window_s=round(window, 3), on_cpu_s=round(on_cpu, 3),
                states_s={k: round(v, 3) for k, v in states.most_common()},
                blocked_sites_s=[dict(seconds=round(v, 3), site=k) for k, v in sites.most_common(top)])


if __name__ == "__main__":
    print(json.dumps(analyse(sys.argv[1], sys.argv[2], sys.argv[3]), indent=2))
