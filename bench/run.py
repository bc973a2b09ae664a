#!/usr/bin/env python3
"""The wijkpuls benchmark harness (bench/README.md): builds bench/'s tools in
build-bench/, runs every measurement, prints one table and writes the figures
as JSON (and the table as Markdown) to bench/results/.

Wall-clock figures are medians of --runs runs; CPU figures come from the
kernel's rusage of each process (the same numbers /usr/bin/time -v prints).
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESPONSES = "wijkprofiel.responses.v1"
TOPICS_NOTE = "dev-cluster: 1 mock broker, every topic with the given partition count"

# The mock cluster keeps about 5 MB per partition and a simulated record is
# about 600 bytes: 128 partitions hold 1M records, 256 leave room (a run at 64
# partitions lost the first records of each partition: "every record committed: NO").
FULL = dict(e2e_records=500_000, e2e_partitions=128, replay_records=1_000_000, json_records=200_000,
            partition_counts=[1, 4, 16, 64], partition_records=10_000,
            growth_records=[100_000, 500_000, 1_000_000], growth_partitions=256,
            latency_seconds=60, latency_warmup=5, latency_runs=3, profile_records=50_000,
            restart_records=20_000, rebalance_records=[100_000, 1_000_000], rebalance_partitions=256,
            micro_args=["--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true"])
QUICK = dict(e2e_records=50_000, e2e_partitions=64, replay_records=100_000, json_records=30_000,
             partition_counts=[1, 4, 16, 64], partition_records=5_000,
             growth_records=[25_000, 50_000, 100_000], growth_partitions=64,
             latency_seconds=15, latency_warmup=3, latency_runs=1, profile_records=10_000,
             restart_records=5_000, rebalance_records=[20_000, 100_000], rebalance_partitions=32,
             micro_args=["--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true",
                         "--benchmark_min_time=0.05",
                         "--benchmark_filter=-stored:1000000"])
SECTIONS = ["micro", "replay", "e2e", "json", "partitions", "growth", "latency", "restart", "rebalance", "profile",
            "offcpu", "threads"]
# restart and rebalance (--only restart rebalance) mostly wait for the consumer
# group: minutes of an idle machine.
DEFAULT_SECTIONS = [s for s in SECTIONS if s not in ("profile", "restart", "rebalance", "offcpu", "threads")]


def log(*a):
    print("[bench %s]" % time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def system_cpu():
    """(busy, total) jiffies of all CPUs."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


CLK_TCK = os.sysconf("SC_CLK_TCK")


def stat_cpu(path):
    """(name, CPU seconds) from a /proc/.../stat file, or None once it is gone."""
    try:
        with open(path) as f:
            s = f.read()
    except OSError:
        return None
    v = s.rsplit(")", 1)[1].split()
    return s[s.index("(") + 1:s.rindex(")")], (int(v[11]) + int(v[12])) / CLK_TCK


def process_cpu(pid):
    stat = stat_cpu("/proc/%d/stat" % pid)
    return stat[1] if stat else None


def thread_cpu(pid):
    """{thread id: (name, CPU seconds)} of the live threads of `pid`."""
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return {}
    stats = {int(tid): stat_cpu("/proc/%d/task/%s/stat" % (pid, tid)) for tid in tids}
    return {tid: stat for tid, stat in stats.items() if stat}


def thread_group(name, is_main):
    """The stage a thread of wijkpuls belongs to, by its name."""
    if is_main:
        return "main (pipeline loop)"
    if name.startswith("rocksdb:"):
        return "rocksdb background (flush, compaction)"
    if name.startswith("rdk:"):
        return "librdkafka"
    if name.startswith("wp-"):
        return name
    return "other"


def config_yaml(state_dir, brokers="127.0.0.1:9", group="bench", listen="127.0.0.1:0", key_file=None,
                batch_records=5000, linger_ms=100, one_thread=False, log_level="info", consumer_properties=None,
                group_defaults=False, group_instance_id=None, prepare_threads=1, pipelines=1):
    """The wijkpuls configuration of a benchmark run (bench/ab.py's too). Without a
    key file the command must be given --ephemeral-key. `consumer_properties`
    (a dict) adds to or overrides the librdkafka consumer properties. The group
    session is 6 s unless `group_defaults` (the daemon's own session);
    `group_instance_id` sets kafka.group_instance_id ("" for none)."""
    key = "pseudonymisation_key_file: %s\n" % key_file if key_file else ""
    threads = "false" if one_thread else "true"
    preparers = 0 if one_thread else prepare_threads
    props = {} if group_defaults else {"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"}
    props.update(consumer_properties or {})
    props_yaml = ", ".join('%s: "%s"' % kv for kv in props.items())
    instance = "" if group_instance_id is None else '\n  group_instance_id: "%s"' % group_instance_id
    return f"""kafka:
  brokers: "{brokers}"
  group_id: {group}{instance}
  consumer_properties: {{{props_yaml}}}
state:
  dir: {state_dir}
  sync_writes: true
  min_free_mb: 64
http:
  listen: "{listen}"
methodology: {REPO}/config/methodology.yaml
districts: {REPO}/config/districts.csv
{key}pipeline:
  batch_records: {batch_records}
  linger_ms: {linger_ms}
  prepare_threads: {preparers}
  commit_thread: {threads}
  threads: {pipelines}
log:
  level: {log_level}
"""


class Measured:
    """Runs a command to completion; wall time, rusage, other load meanwhile,
    and the CPU time of each of its threads (sampled from /proc every 0.1 s:
    a thread's last 0.1 s before it ends is not seen)."""

    def __init__(self, cmd, workdir, name, env=None, cluster=None):
        self.out_path = os.path.join(workdir, name + ".out")
        self.err_path = os.path.join(workdir, name + ".err")
        busy0, total0 = system_cpu()
        cl0 = cluster.cpu() if cluster else None
        load0 = os.getloadavg()[0]
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            t0 = time.monotonic()
            p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
            threads = {}
            while True:
                pid, status, ru = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    break
                threads.update(thread_cpu(p.pid))
                time.sleep(0.1)
            self.wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        busy1, total1 = system_cpu()
        self.rc = p.returncode
        self.user, self.sys = ru.ru_utime, ru.ru_stime
        self.cpu = ru.ru_utime + ru.ru_stime
        self.maxrss_mb = ru.ru_maxrss / 1024.0
        self.threads = {}
        for tid, (name, seconds) in threads.items():
            g = thread_group(name, tid == p.pid)
            self.threads[g] = self.threads.get(g, 0.0) + seconds
        ncpu = os.cpu_count() or 1
        # Busy CPU of the whole machine during the run, in CPUs, minus this process.
        busy_cpus = (busy1 - busy0) / max(1, total1 - total0) * ncpu
        self.cluster_cpu = (cluster.cpu() - cl0) if cluster else 0.0
        self.other_cpus = max(0.0, busy_cpus - (self.cpu + self.cluster_cpu) / self.wall)
        self.load = (load0 + os.getloadavg()[0]) / 2
        if self.rc != 0:
            raise RuntimeError("%s exited %d; see %s" % (" ".join(cmd), self.rc, self.err_path))

    def text(self, which="err"):
        with open(self.err_path if which == "err" else self.out_path, errors="replace") as f:
            return f.read()

    def figures(self):
        return dict(wall_s=round(self.wall, 3), cpu_s=round(self.cpu, 3), user_s=round(self.user, 3),
                    sys_s=round(self.sys, 3), max_rss_mb=round(self.maxrss_mb, 1),
                    cluster_cpu_s=round(self.cluster_cpu, 3), other_load_cpus=round(self.other_cpus, 2),
                    loadavg=round(self.load, 2), thread_cpu_s={k: round(v, 2) for k, v in self.threads.items()})


class DevCluster:
    """`wijkpuls dev-cluster` in the background; stopped with SIGINT."""

    def __init__(self, wijkpuls, partitions, workdir):
        self.err = open(os.path.join(workdir, "dev-cluster-%d.err" % partitions), "wb")
        self.p = subprocess.Popen([wijkpuls, "dev-cluster", "--brokers", "1", "--partitions", str(partitions)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err)
        self.brokers = self.p.stdout.readline().decode().strip()
        if not self.brokers:
            raise RuntimeError("dev-cluster did not start")
        self.partitions = partitions

    def cpu(self):
        return process_cpu(self.p.pid) or 0.0

    def close(self):
        self.p.send_signal(signal.SIGINT)
        try:
            self.p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.err.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Harness:
    def __init__(self, args, sizes):
        self.args, self.sizes = args, sizes
        self.build = args.build_dir
        self.wijkpuls = os.path.join(self.build, "wijkpuls")
        self.work = tempfile.mkdtemp(prefix="wijkpuls-bench-", dir=args.tmp)
        self.key = os.path.join(self.work, "key")
        with open(self.key, "w") as f:
            f.write("bench-key-0123456789abcdef0123456789abcdef\n")
        self.seq = 0
        self.results = {}

    # --- helpers ---------------------------------------------------------------
    def fresh(self, name):
        self.seq += 1
        d = os.path.join(self.work, "%02d-%s" % (self.seq, name))
        os.makedirs(d)
        return d

    def config(self, d, brokers, listen="127.0.0.1:0", linger_ms=None, pipelines=None):
        path = os.path.join(d, "wijkpuls.yaml")
        with open(path, "w") as f:
            f.write(config_yaml(os.path.join(d, "state"), brokers=brokers, group="bench-%d-%d" % (os.getpid(), self.seq),
                                listen=listen, key_file=self.key, batch_records=self.args.batch_records,
                                linger_ms=linger_ms or self.args.linger_ms, one_thread=self.args.one_thread,
                                prepare_threads=self.args.prepare_threads,
                                pipelines=pipelines or self.args.pipeline_threads,
                                consumer_properties=self.args.consumer_property))
        return path

    def simulate_to(self, cluster, records, seed=1, json_names=None):
        """`json_names` (camel or proto): every record in the JSON mapping."""
        t0 = time.monotonic()
        extra = ["--json-share", "1", "--json-names", json_names] if json_names else []
        p = subprocess.run([self.wijkpuls, "simulate", "--records", str(records), "--seed", str(seed),
                            "--brokers", cluster.brokers] + extra, capture_output=True, text=True, check=True)
        n = int(re.search(r"simulate: (\d+) records", p.stderr).group(1))
        log("produced %d records to %d partitions in %.1f s" % (n, cluster.partitions, time.monotonic() - t0))
        return n

    def kcat_count(self, cluster):
        p = subprocess.run(["kcat", "-C", "-e", "-b", cluster.brokers, "-t", RESPONSES, "-o", "beginning", "-q",
                            "-f", "x\n"], capture_output=True, check=True)
        return p.stdout.count(b"\n")

    def kcat(self, cluster, d):
        return Measured(["kcat", "-C", "-e", "-b", cluster.brokers, "-t", RESPONSES, "-o", "beginning", "-q"],
                        d, "kcat-%d" % self.seq, cluster=cluster)

    def serve(self, cluster, pipelines=None, cpus=None):
        """`pipelines`: pipeline.threads; `cpus`: run it on these CPUs only (taskset -c)."""
        d = self.fresh("serve")
        port = free_port()
        scraper = MetricsScraper(port)
        pin = ["taskset", "-c", cpus] if cpus else []
        try:
            m = Measured(pin + [self.wijkpuls, "serve", "--config",
                                self.config(d, cluster.brokers, "127.0.0.1:%d" % port, pipelines=pipelines),
                                "--exit-at-end"], d, "serve", cluster=cluster)
        finally:
            scraper.stop()
        m.batches = scraper.batches()
        err = m.text()
        committed = int(re.search(r"input closed after (\d+) committed records", err).group(1))
        # From the first assignment of a responses partition (not a withdrawals one: those
        # are assigned at once, before the group join, which the mock broker delays by 3 s)
        # to the last pipeline's end of input.
        stamps = [datetime.datetime.fromisoformat(x) for x in (
            re.search(r"^(\S+) \S+\s+assigned %s/" % re.escape(RESPONSES), err, re.M).group(1),
            re.findall(r"^(\S+) \S+\s+every assigned partition is read", err, re.M)[-1])]
        m.committed = committed
        m.steady_s = (stamps[1] - stamps[0]).total_seconds()  # from the assignment to the end of input
        m.state_bytes = du(os.path.join(d, "state"))
        shutil.rmtree(os.path.join(d, "state"), ignore_errors=True)
        return m

    # --- sections --------------------------------------------------------------
    def e2e(self):
        n, parts, runs = self.sizes["e2e_records"], self.sizes["e2e_partitions"], self.args.runs
        with DevCluster(self.wijkpuls, parts, self.work) as c:
            d = self.fresh("e2e")
            # The daemon's fixed cost: start, the group join (the mock broker, like a real
            # one, delays the first rebalance by 3 s), exit. kcat assigns without a group.
            empty_serve = [self.serve(c).wall for _ in range(1)]
            produced = self.simulate_to(c, n)
            responses = self.kcat_count(c)
            kc, sv = [], []
            for i in range(runs):
                kc.append(self.kcat(c, d))
                sv.append(self.serve(c))
                log("e2e run %d: kcat %.2f s, serve %.2f s (steady %.2f s), %d committed" % (
                    i + 1, kc[-1].wall, sv[-1].wall, sv[-1].steady_s, sv[-1].committed))
        self.results["e2e"] = summarise_e2e(produced, responses, parts, kc, sv, median(empty_serve))

    def threads(self):
        """pipeline.threads 1 and 2 on one season (e2e size), taking turns, on every core
        and on one core (taskset -c 0: what the split into several pipelines costs)."""
        n, parts, runs = self.sizes["e2e_records"], self.sizes["e2e_partitions"], self.args.runs
        out = dict(partitions=parts)
        with DevCluster(self.wijkpuls, parts, self.work) as c:
            produced = self.simulate_to(c, n)
            out["records"] = produced
            got = {}
            for i in range(runs):
                for cpus in (None, "0"):
                    for k in (1, 2):
                        m = self.serve(c, pipelines=k, cpus=cpus)
                        got.setdefault((k, cpus), []).append(m)
                        log("threads run %d: pipeline.threads %d%s: steady %.2f s, %.1f µs CPU per record" % (
                            i + 1, k, " on CPU 0" if cpus else "", m.steady_s, m.cpu / produced * 1e6))
        for (k, cpus), ms in got.items():
            # Rates per record produced: each pipeline commits every withdrawal.
            out["%d%s" % (k, "_one_core" if cpus else "")] = dict(
                steady_records_per_s=round(produced / median([m.steady_s for m in ms])),
                cpu_us_per_record=round(median([m.cpu for m in ms]) / produced * 1e6, 2),
                max_rss_mb=round(max(m.maxrss_mb for m in ms), 1), runs=[m.figures() for m in ms])
        out["ratio_rate_2_1"] = round(out["2"]["steady_records_per_s"] / out["1"]["steady_records_per_s"], 3)
        out["ratio_rate_2_1_one_core"] = round(
            out["2_one_core"]["steady_records_per_s"] / out["1_one_core"]["steady_records_per_s"], 3)
        out["ratio_cpu_2_1"] = round(out["2"]["cpu_us_per_record"] / out["1"]["cpu_us_per_record"], 3)
        self.results["threads"] = out

    def json(self):
        """The same season as protobuf binary and as JSON with the .proto's field names
        (snake_case: what a platform is likely to send), each on its own cluster, consumed
        by `serve`; and the JSON topic by bench/peer.py, a plain confluent-kafka + SQLite
        consumer applying the same counting rules.

        Both clusters stay up and the runs take turns (binary, JSON, and each again with
        `serve` on CPU 1 alone), so that a slower minute of this machine weighs on both kinds:
        measured one kind after the other, one run of d5a8574 read 1.007 on two cores and
        1.524 on one."""
        n, parts, runs = self.sizes["json_records"], self.sizes["e2e_partitions"], self.args.runs
        out = {}
        kinds = ("binary", "json")
        with DevCluster(self.wijkpuls, parts, self.fresh("cluster-binary")) as cb, \
                DevCluster(self.wijkpuls, parts, self.fresh("cluster-json")) as cj:
            clusters = dict(binary=cb, json=cj)
            produced = {k: self.simulate_to(clusters[k], n, json_names="proto" if k == "json" else None) for k in kinds}
            sv = {k: [] for k in kinds}
            pinned = {k: [] for k in kinds}
            for i in range(runs):
                for k in (kinds if i % 2 == 0 else kinds[::-1]):
                    sv[k].append(self.serve(clusters[k]))
                    # `serve` on CPU 1 alone (the clusters are not pinned): on two cores the
                    # threads' hand-offs between cores cost CPU that swings from run to run.
                    pinned[k].append(self.serve(clusters[k], cpus="1"))
                    log("json run %d: %s: %.1f µs CPU per record; on one core %.1f µs" % (
                        i + 1, k, sv[k][-1].cpu / sv[k][-1].committed * 1e6,
                        pinned[k][-1].cpu / pinned[k][-1].committed * 1e6))
            def figures(ms, committed):
                return dict(steady_records_per_s=round(committed / median([m.steady_s for m in ms])),
                            cpu_us_per_record=round(median([m.cpu for m in ms]) / committed * 1e6, 2),
                            max_rss_mb=round(max(m.maxrss_mb for m in ms), 1),
                            threads=threads_per_record(ms, committed), runs=[m.figures() for m in ms])

            for k in kinds:
                committed = sv[k][-1].committed
                out[k] = dict(records=produced[k], complete=all(m.committed == produced[k] for m in sv[k] + pinned[k]),
                              **figures(sv[k], committed), one_core=figures(pinned[k], committed))
                log("json: %s: serve %s records/s steady, %.1f µs CPU per record; on one core %s records/s, %.1f µs" % (
                    k, out[k]["steady_records_per_s"], out[k]["cpu_us_per_record"],
                    out[k]["one_core"]["steady_records_per_s"], out[k]["one_core"]["cpu_us_per_record"]))
            out["peer"] = self.peer(cj, runs)
        out["ratio_cpu_json_binary"] = round(out["json"]["cpu_us_per_record"] / out["binary"]["cpu_us_per_record"], 3)
        out["ratio_cpu_json_binary_one_core"] = round(
            out["json"]["one_core"]["cpu_us_per_record"] / out["binary"]["one_core"]["cpu_us_per_record"], 3)
        # The ratio of each turn on two cores (the same number of records on both clusters).
        out["ratios_cpu_json_binary_by_run"] = [
            round(j["cpu_s"] / b["cpu_s"], 3) for b, j in zip(out["binary"]["runs"], out["json"]["runs"])]
        if out.get("peer"):
            out["ratio_rate_wijkpuls_peer"] = round(out["json"]["steady_records_per_s"] / out["peer"]["records_per_s"], 2)
        self.results["json"] = out

    def peer(self, cluster, runs):
        # Debian's python3-confluent-kafka is for Debian's interpreter.
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        if subprocess.run([python, "-c", "import confluent_kafka"], capture_output=True).returncode != 0:
            log("json: python3-confluent-kafka is missing: no peer figure (apt-get install python3-confluent-kafka)")
            return None
        got = []
        for _ in range(runs):
            d = self.fresh("peer")
            m = Measured([python, os.path.join(REPO, "bench", "peer.py"), "--brokers", cluster.brokers,
                          "--db", os.path.join(d, "peer.db")], d, "peer")
            r = json.loads(m.text("out").strip().splitlines()[-1])
            r["records_per_s"] = round(r["records"] / max(1e-9, r["wall_s"]))
            r["cpu_us_per_record"] = round(r["cpu_s"] / max(1, r["records"]) * 1e6, 1)
            got.append(r)
            log("json: peer %s records/s, %.1f µs CPU per record" % (r["records_per_s"], r["cpu_us_per_record"]))
        best = sorted(got, key=lambda r: r["records_per_s"])[len(got) // 2]
        return dict(best, runs=got)

    def partitions(self):
        out = []
        for parts in self.sizes["partition_counts"]:
            with DevCluster(self.wijkpuls, parts, self.work) as c:
                d = self.fresh("partitions")
                produced = self.simulate_to(c, self.sizes["partition_records"])
                responses = self.kcat_count(c)
                kc = [self.kcat(c, d) for _ in range(self.args.runs)]
                sv = [self.serve(c) for _ in range(self.args.runs)]
                out.append(summarise_e2e(produced, responses, parts, kc, sv))
                log("%d partitions: serve steady %.0f records/s" % (parts, out[-1]["wijkpuls"]["steady_records_per_s"]))
        self.results["partitions"] = out

    def growth(self):
        out = []
        for n in self.sizes["growth_records"]:
            with DevCluster(self.wijkpuls, self.sizes["growth_partitions"], self.work) as c:
                d = self.fresh("growth")
                produced = self.simulate_to(c, n)
                responses = self.kcat_count(c)
                kc = [self.kcat(c, d) for _ in range(self.args.runs)]
                sv = [self.serve(c) for _ in range(self.args.runs)]
                out.append(summarise_e2e(produced, responses, c.partitions, kc, sv))
                log("%d records: serve %.1f s" % (produced, out[-1]["wijkpuls"]["wall_s"]))
        self.results["growth"] = out

    def replay(self):
        n = self.sizes["replay_records"]
        d = self.fresh("replay")
        rec = os.path.join(d, "season.rec")
        subprocess.run([self.wijkpuls, "simulate", "--records", str(n), "--seed", "3", "--out", rec],
                       check=True, capture_output=True)
        runs = []
        for i in range(self.args.runs):
            state = os.path.join(d, "state")
            shutil.rmtree(state, ignore_errors=True)
            m = Measured([self.wijkpuls, "replay", rec, "--config", self.config(d, "127.0.0.1:9"),
                          "--ephemeral-key", "--rejected-out", os.path.join(d, "rejected.rec")], d, "replay-%d" % i)
            out = m.text("out")
            g = re.search(r"replayed (\d+) records in ([\d.e+-]+) s \((\d+) records/s\): accepted (\d+), "
                          r"flagged (\d+), duplicate (\d+), rejected (\d+), withdrawals (\d+)", out)
            m.records, m.rate = int(g.group(1)), int(g.group(3))
            m.stored = int(g.group(4)) + int(g.group(5)) + int(g.group(7))
            m.state_bytes = du(state)
            runs.append(m)
            log("replay run %d: %d records/s, peak RSS %.0f MB" % (i + 1, m.rate, m.maxrss_mb))
        last = runs[-1]
        self.results["replay"] = dict(
            records=last.records, file_bytes=os.path.getsize(rec),
            records_per_s=median([m.rate for m in runs]), runs_records_per_s=[m.rate for m in runs],
            wall_s=median([m.wall for m in runs]), cpu_s=median([m.cpu for m in runs]),
            cpu_us_per_record=round(median([m.cpu for m in runs]) / last.records * 1e6, 2),
            threads=threads_per_record(runs, last.records),
            max_rss_mb=round(max(m.maxrss_mb for m in runs), 1),
            stored_responses=last.stored, state_bytes=last.state_bytes,
            state_bytes_per_response=round(last.state_bytes / max(1, last.stored), 1),
            other_load_cpus=median([m.other_cpus for m in runs]), runs=[m.figures() for m in runs])

    def micro(self):
        exe = os.path.join(self.build, "bench", "wijkpuls_microbench")
        d = self.fresh("micro")
        out = os.path.join(d, "micro.json")
        env = dict(os.environ, TMPDIR=d)
        subprocess.run([exe, "--benchmark_out=" + out, "--benchmark_out_format=json"] + self.sizes["micro_args"],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        with open(out) as f:
            raw = json.load(f)
        rows = {}
        for b in raw["benchmarks"]:
            if b.get("aggregate_name", "median") != "median":
                continue
            name = b.get("run_name", b["name"])
            rows[name] = dict(time=round(b["real_time"], 3), cpu=round(b["cpu_time"], 3), unit=b["time_unit"],
                              items_per_s=round(b.get("items_per_second", 0)) or None, label=b.get("label", ""))
            # BM_StoreFloor's own figures (whole-process CPU per record).
            for counter in ("cpu_us_per_record", "wall_us_per_record", "two_core_records_per_s"):
                if counter in b:
                    rows[name][counter] = round(b[counter], 3)
        self.results["micro"] = dict(context=raw.get("context", {}), benchmarks=rows)

    def latency(self):
        out = []
        for i in range(self.sizes["latency_runs"]):
            with DevCluster(self.wijkpuls, 64, self.work) as c:
                d = self.fresh("latency")
                port = free_port()
                err = open(os.path.join(d, "serve.err"), "wb")
                p = subprocess.Popen([self.wijkpuls, "serve", "--config", self.config(d, c.brokers, "127.0.0.1:%d" % port)],
                                     stdout=subprocess.DEVNULL, stderr=err)
                try:
                    wait_ready(port, 60)
                    probe = subprocess.run(
                        [os.path.join(self.build, "bench", "wijkpuls_latency_probe"), "--brokers", c.brokers,
                         "--partitions", "64", "--url", "http://127.0.0.1:%d" % port, "--rate", "2000",
                         "--seconds", str(self.sizes["latency_seconds"]), "--warmup", str(self.sizes["latency_warmup"]),
                         "--poll-ms", "5", "--seed", str(11 + i)], capture_output=True, text=True)
                    if probe.returncode != 0:
                        raise RuntimeError("latency probe failed: " + probe.stderr[-2000:])
                    out.append(json.loads(probe.stdout))
                    log("latency run %d: p50 %.1f ms, p99 %.1f ms" % (i + 1, out[-1]["p50_ms"], out[-1]["p99_ms"]))
                finally:
                    p.send_signal(signal.SIGTERM)
                    p.wait(timeout=30)
                    err.close()
        self.results["latency"] = dict(
            rate=2000, partitions=64, p50_ms=median([r["p50_ms"] for r in out]),
            p90_ms=median([r["p90_ms"] for r in out]), p99_ms=median([r["p99_ms"] for r in out]),
            max_ms=max(r["max_ms"] for r in out), runs=out)

    def restart(self):
        """Restart to first commit: the daemon commits a season, is stopped (kill -9
        or SIGTERM), more records arrive, and it starts again on the same state and
        group; the figure is from the restart to its first committed batch
        (wijkpuls_batch_commit_seconds_count > 0 in /metrics, polled every 0.1 s).
        The daemon's own group settings, with --consumer-property on top."""
        n = self.sizes["restart_records"]
        variants = [("kill -9", signal.SIGKILL, None), ("SIGTERM", signal.SIGTERM, None),
                    ("kill -9, group_instance_id \"\" (dynamic membership)", signal.SIGKILL, "")]
        out = []
        for what, sig, instance in variants:
            figures = []
            for i in range(self.args.runs):
                with DevCluster(self.wijkpuls, 16, self.work) as c:
                    d = self.fresh("restart")
                    path = os.path.join(d, "wijkpuls.yaml")
                    port = free_port()
                    with open(path, "w") as f:
                        f.write(config_yaml(os.path.join(d, "state"), brokers=c.brokers, group="restart-%d" % self.seq,
                                            key_file=self.key, consumer_properties=self.args.consumer_property,
                                            group_defaults=True, group_instance_id=instance,
                                            listen="127.0.0.1:%d" % port))
                    produced = self.simulate_to(c, n, seed=1 + i)
                    first = self.start_until_committed(path, port, d, "first", produced)
                    if first is None:
                        log("restart: %s: the config was refused (an older build?); skipped" % what)
                        break
                    first[0].send_signal(sig)
                    first[0].wait(timeout=60)
                    first[1].close()
                    self.simulate_to(c, max(100, n // 10), seed=100 + i)
                    seconds = self.start_until_committed(path, port, d, "second", None)
                    figures.append(seconds)
                    log("restart after %s: first commit %.1f s after the start" % (what, seconds))
            if figures:
                out.append(dict(stop=what, runs=[round(x, 2) for x in figures], median_s=round(median(figures), 1)))
        self.results["restart"] = dict(records=n, partitions=16, consumer_properties=self.args.consumer_property,
                                       variants=out)

    def rebalance(self):
        """Several instances (issue 20): instance A counts a season; when it has
        committed half, B joins the group with an empty state directory and
        restores the partitions it is given from the log (design (a): the input
        is the changelog) while A goes on with the rest; once all is counted, A is
        killed (-9) and B restores A's partitions too. Figures: the restore rate
        (records of B's restoring partitions / seconds from B's assignment to the
        last of them caught up, from /metrics polled every 0.1 s), the pause the
        pipeline was held by each assignment or revocation
        (wijkpuls_rebalance_pause_seconds), and the failover time from the kill to
        B caught up. Group: the daemon's own settings (static membership, its
        session), with --consumer-property on top."""
        out = []
        for n in self.sizes["rebalance_records"]:
            parts = self.sizes["rebalance_partitions"]
            with DevCluster(self.wijkpuls, parts, self.work) as c:
                produced = self.simulate_to(c, n)
                d = self.fresh("rebalance-%d" % n)
                group = "rebalance-%d-%d" % (os.getpid(), self.seq)
                ports, paths = {}, {}
                for name in ("a", "b"):
                    ports[name] = free_port()
                    paths[name] = os.path.join(d, name + ".yaml")
                    with open(paths[name], "w") as f:
                        f.write(config_yaml(os.path.join(d, "state-" + name), brokers=c.brokers, group=group,
                                            key_file=self.key, consumer_properties=self.args.consumer_property,
                                            group_defaults=True, group_instance_id="bench-" + name,
                                            listen="127.0.0.1:%d" % ports[name], batch_records=self.args.batch_records,
                                            linger_ms=self.args.linger_ms))
                # B joins while A is counting: A has committed half.
                started = self.start_until_committed(paths["a"], ports["a"], d, "a", produced // 2)
                if started is None:
                    raise RuntimeError("serve refused its configuration; see %s" % os.path.join(d, "a.err"))
                a, a_err = started
                a_alone = scrape(ports["a"])
                err_b = open(os.path.join(d, "b.err"), "wb")
                b = subprocess.Popen([self.wijkpuls, "serve", "--config", paths["b"]], stdout=subprocess.DEVNULL,
                                     stderr=err_b)
                try:
                    join = self.until_restored(b, ports["b"], set())
                    after_join_a = scrape(ports["a"])
                    log("rebalance %d: B restored %d records of %d partitions in %.2f s (%s records/s)" % (
                        n, join["records"], join["partitions"], join["seconds"], join["rate"]))
                    # Everything counted before A is killed: B's failover restore is alone.
                    t0 = time.monotonic()
                    while time.monotonic() < t0 + 600:
                        m = [scrape(ports[x]) for x in ("a", "b")]
                        if all(x.get("wijkpuls_consumer_lag", 1) == 0 for x in m):
                            break
                        time.sleep(0.2)
                    else:
                        raise RuntimeError("A and B did not catch up within 600 s")
                    killed_at = time.monotonic()
                    a.kill()
                    a.wait(timeout=60)
                    a_err.close()
                    failover = self.until_restored(b, ports["b"], join.pop("held"))
                    failover.pop("held")
                    failover["from_kill_s"] = round(time.monotonic() - killed_at, 2)
                    log("rebalance %d: after kill -9 of A, B restored %d records of %d partitions in %.2f s "
                        "(%s records/s), %.1f s after the kill" % (
                            n, failover["records"], failover["partitions"], failover["seconds"], failover["rate"],
                            failover["from_kill_s"]))
                    b_end = scrape(ports["b"])
                finally:
                    b.send_signal(signal.SIGTERM)
                    b.wait(timeout=60)
                    err_b.close()
                    if a.poll() is None:
                        a.kill()
                        a.wait()

                def pauses(before, after):
                    k = "wijkpuls_rebalance_pause_seconds"
                    count = after.get(k + "_count", 0) - before.get(k + "_count", 0)
                    total = after.get(k + "_sum", 0) - before.get(k + "_sum", 0)
                    return dict(count=int(count), mean_ms=round(1000 * total / count, 1) if count else None)

                out.append(dict(records=produced, partitions=parts, join=join, failover=failover,
                                pause_a_revoke_on_join=pauses(a_alone, after_join_a),
                                pause_b=pauses({}, b_end)))
        self.results["rebalance"] = dict(consumer_properties=self.args.consumer_property, runs=out)

    def until_restored(self, p, port, held_before):
        """Polls `serve`'s /metrics every 0.1 s until it holds partitions beyond
        `held_before` (a set) and has caught up on them: no `restore` in
        wijkpuls_not_ready and no lag on them. Returns the partitions it took,
        their records, the seconds from the first poll that saw them to the end,
        and every partition it then holds."""
        t0 = time.monotonic()
        assigned_at = None
        while time.monotonic() < t0 + 900:
            if p.poll() is not None:
                raise RuntimeError("serve exited %d during a restore" % p.returncode)
            m = scrape(port, by_partition=True)
            offsets = m.get("partition:wijkpuls_partition_committed_offset", {})
            lag = m.get("partition:wijkpuls_consumer_lag", {})
            new = set(offsets) - held_before
            if assigned_at is None and new:
                assigned_at = time.monotonic()
            restoring = m.get("component:wijkpuls_not_ready", {}).get("restore", 1)
            if new and restoring == 0 and all(lag.get(q, 1) == 0 for q in new):
                seconds = time.monotonic() - assigned_at
                records = int(sum(offsets[q] for q in new))
                # Under two polls: too short to give a rate.
                return dict(held=set(offsets), partitions=len(new), records=records, seconds=round(seconds, 2),
                            rate=round(records / seconds) if seconds >= 0.2 else None)
            time.sleep(0.1)
        raise RuntimeError("no restore ended within 900 s")

    def start_until_committed(self, path, port, d, name, records):
        """Starts `serve`. With `records`: returns (process, log file) once that many
        are committed; without: stops it after its first commit and returns the
        seconds from the start to it. None when the configuration is refused."""
        err = open(os.path.join(d, name + ".err"), "wb")
        t0 = time.monotonic()
        p = subprocess.Popen([self.wijkpuls, "serve", "--config", path], stdout=subprocess.DEVNULL, stderr=err)
        while time.monotonic() < t0 + 600:
            if p.poll() is not None:
                err.close()
                if p.returncode == 2:
                    return None
                raise RuntimeError("serve exited %d; see %s" % (p.returncode, err.name))
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=2) as r:
                    text = r.read().decode()
            except OSError:
                text = ""
            got = {}
            for line in text.splitlines():
                k, _, v = line.partition(" ")
                name_only = k.split("{")[0]
                if name_only in ("wijkpuls_partition_committed_offset", "wijkpuls_batch_commit_seconds_count"):
                    got[name_only] = got.get(name_only, 0.0) + float(v)
            if records is not None and got.get("wijkpuls_partition_committed_offset", 0) >= records:
                return p, err
            if records is None and got.get("wijkpuls_batch_commit_seconds_count", 0) > 0:
                seconds = time.monotonic() - t0
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=60)
                err.close()
                return seconds
            time.sleep(0.1)
        p.kill()
        raise RuntimeError("serve did not commit within 600 s; see %s" % err.name)

    def profile(self):
        d = self.fresh("profile")
        rec = os.path.join(d, "season.rec")
        n = self.sizes["profile_records"]
        subprocess.run([self.wijkpuls, "simulate", "--records", str(n), "--seed", "5", "--out", rec],
                       check=True, capture_output=True)
        dest = os.path.join(self.args.out, "callgrind")
        os.makedirs(dest, exist_ok=True)
        cg = os.path.join(dest, "callgrind.replay.out")
        # Full batches (linger far beyond the run): the same batching at any speed.
        p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + cg, self.wijkpuls, "replay", rec,
                            "--config", self.config(d, "127.0.0.1:9", linger_ms=60_000), "--ephemeral-key"],
                           capture_output=True, text=True, check=True)
        records = int(re.search(r"replayed (\d+) records", p.stdout).group(1))
        report = {}
        for mode in ("inclusive", "exclusive"):
            a = subprocess.run(["callgrind_annotate", "--inclusive=" + ("yes" if mode == "inclusive" else "no"),
                                "--threshold=100", cg], capture_output=True, text=True, check=True).stdout
            with open(os.path.join(dest, "replay-%s.txt" % mode), "w") as f:
                f.write(a)
            report[mode] = top_functions(a, 25)
        total = int(re.search(r"([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", open(os.path.join(dest, "replay-exclusive.txt")).read())
                    .group(1).replace(",", ""))
        self.results["profile"] = dict(tool="valgrind --tool=callgrind", command="wijkpuls replay", records=records,
                                       batch_records=self.args.batch_records, instructions=total,
                                       instructions_per_record=round(total / records), **report)
        if shutil.which("perf"):
            self.results["offcpu"] = self.offcpu_of_serve(dest)

    def offcpu(self):
        """(`--only offcpu`) The off-CPU part of `profile` alone."""
        dest = os.path.join(self.args.out, "callgrind")
        os.makedirs(dest, exist_ok=True)
        self.results["offcpu"] = self.offcpu_of_serve(dest)
        log("offcpu: %s" % json.dumps(self.results["offcpu"])[:3000])

    def offcpu_of_serve(self, dest):
        """The pipeline thread of `serve` over 3 s of an e2e run: on CPU, waiting for one, blocked where."""
        import offcpu
        with DevCluster(self.wijkpuls, 64, self.work) as c:
            self.simulate_to(c, min(self.sizes["e2e_records"], 250_000))
            d = self.fresh("offcpu")
            err_path = os.path.join(d, "serve.err")
            with open(err_path, "wb") as err:
                p = subprocess.Popen([self.wijkpuls, "serve", "--config", self.config(d, c.brokers), "--exit-at-end"],
                                     stdout=subprocess.DEVNULL, stderr=err)
                deadline = time.monotonic() + 30
                # The responses partitions (the withdrawals are assigned at once, before the group join).
                while time.monotonic() < deadline and " assigned %s/" % RESPONSES not in open(err_path, errors="replace").read():
                    time.sleep(0.1)
                time.sleep(1.0)
                a, t = os.path.join(d, "all.data"), os.path.join(d, "stacks.data")
                rec_all = subprocess.Popen(["perf", "record", "-q", "-e", "sched:sched_switch", "-a", "-o", a, "--",
                                            "sleep", "3"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                subprocess.run(["perf", "record", "-q", "-e", "sched:sched_switch", "--call-graph", "dwarf,8192",
                                "-t", str(p.pid), "-o", t, "--", "sleep", "3"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                rec_all.wait()
                p.wait()
            texts = []
            for data in (a, t):
                with open(data + ".txt", "w") as f:
                    subprocess.run(["perf", "script", "-i", data], stdout=f, stderr=subprocess.DEVNULL)
                texts.append(data + ".txt")
            result = offcpu.analyse(p.pid, *texts)
            with open(os.path.join(dest, "serve-offcpu.json"), "w") as f:
                json.dump(result, f, indent=2)
            return result


class MetricsScraper:
    """Scrapes the daemon's batch metrics every 0.5 s while it runs; keeps the last."""

    WANTED = ("wijkpuls_batch_commit_seconds_sum", "wijkpuls_batch_commit_seconds_count",
              "wijkpuls_batch_records_sum", "wijkpuls_batch_records_count")

    def __init__(self, port):
        import threading
        self.port, self.last, self.done = port, {}, threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.done.wait(0.5):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.port, timeout=2) as r:
                    text = r.read().decode()
            except OSError:
                continue
            got = {}
            for line in text.splitlines():
                name, _, value = line.partition(" ")
                if name in self.WANTED:
                    got[name] = float(value)
            if len(got) == len(self.WANTED):
                self.last = got

    def stop(self):
        self.done.set()
        self.thread.join()

    def batches(self):
        """Mean commit seconds and records per batch (all but the last second of the run)."""
        m = self.last
        n = m.get("wijkpuls_batch_commit_seconds_count", 0)
        if not n:
            return None
        return dict(batches=int(n), mean_commit_ms=round(1000 * m["wijkpuls_batch_commit_seconds_sum"] / n, 1),
                    mean_records=round(m["wijkpuls_batch_records_sum"] / m["wijkpuls_batch_records_count"]),
                    commit_seconds=round(m["wijkpuls_batch_commit_seconds_sum"], 2))


def scrape(port, by_partition=False):
    """The daemon's /metrics as {name: value} (series summed over labels); with
    `by_partition` also {"partition:" + name: {partition: value}}."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return {}
    got = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        k, _, v = line.rpartition(" ")
        name = k.split("{")[0]
        try:
            value = float(v)
        except ValueError:
            continue
        got[name] = got.get(name, 0.0) + value
        if by_partition:
            c = re.search(r'component="([a-z_]+)"', k)
            if c:
                got.setdefault("component:" + name, {})[c.group(1)] = value
            m = re.search(r'partition="(\d+)"', k)
            if m and ('topic="' not in k or RESPONSES in k):
                got.setdefault("partition:" + name, {})[int(m.group(1))] = value
    return got


def threads_per_record(runs, records):
    """CPU µs per record of each thread group (median over the runs), and the
    share of the process's rusage CPU that the samples account for."""
    groups = sorted({g for m in runs for g in m.threads})
    per = {g: round(median([m.threads.get(g, 0.0) for m in runs]) / records * 1e6, 2) for g in groups}
    seen = median([sum(m.threads.values()) / max(1e-9, m.cpu) for m in runs])
    return dict(cpu_us_per_record=dict(sorted(per.items(), key=lambda kv: -kv[1])), sampled_share=round(seen, 3))


def summarise_e2e(produced, responses, partitions, kc, sv, empty_serve=None):
    kw, sw = median([m.wall for m in kc]), median([m.wall for m in sv])
    committed = sv[-1].committed
    r = dict(partitions=partitions, records=produced, response_records=responses,
             complete=all(m.committed == produced for m in sv),
             kcat=dict(wall_s=round(kw, 3), records_per_s=round(responses / kw),
                       cpu_s=round(median([m.cpu for m in kc]), 3),
                       cpu_us_per_record=round(median([m.cpu for m in kc]) / responses * 1e6, 2),
                       runs=[m.figures() for m in kc]),
             wijkpuls=dict(wall_s=round(sw, 3), records_per_s=round(committed / sw),
                           steady_s=round(median([m.steady_s for m in sv]), 3),
                           steady_records_per_s=round(committed / median([m.steady_s for m in sv])),
                           cpu_s=round(median([m.cpu for m in sv]), 3),
                           cpu_us_per_record=round(median([m.cpu for m in sv]) / committed * 1e6, 2),
                           max_rss_mb=round(max(m.maxrss_mb for m in sv), 1),
                           state_bytes=sv[-1].state_bytes, threads=threads_per_record(sv, committed),
                           runs=[m.figures() for m in sv],
                           batches=[m.batches for m in sv]))
    r["ratio_wall"] = round(r["wijkpuls"]["records_per_s"] / r["kcat"]["records_per_s"], 3)
    # wijkpuls from its partition assignment to the end of input, against kcat's whole run.
    r["ratio_steady"] = round(r["wijkpuls"]["steady_records_per_s"] / r["kcat"]["records_per_s"], 3)
    if empty_serve is not None:
        r["wijkpuls"]["fixed_cost_s"] = round(empty_serve, 3)
    r["ratio_cpu"] = round(r["kcat"]["cpu_us_per_record"] / r["wijkpuls"]["cpu_us_per_record"], 3)
    return r


SKIP = re.compile(r"below main|libc_start|ld-linux|:main \[|ReplayCommand|\?\?\?:0x0")


def top_functions(annotate_text, n):
    rows = []
    for line in annotate_text.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*([\d.]+)%\)\s+(\S.*)$", line)
        # Per-function totals carry their object in [brackets]; the rest are inlined parts.
        if m and "PROGRAM TOTALS" not in line and line.rstrip().endswith("]") and not SKIP.search(line):
            rows.append(dict(ir=int(m.group(1).replace(",", "")), percent=float(m.group(2)), function=m.group(3)[:200]))
    return rows[:n]


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % port, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the daemon did not become ready in %d s" % seconds)


def environment(args):
    def first(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return None
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    cache = {}
    with open(os.path.join(args.build_dir, "CMakeCache.txt")) as f:
        for l in f:
            if l.startswith(("CMAKE_BUILD_TYPE:", "CMAKE_CXX_FLAGS:", "CMAKE_CXX_COMPILER:")):
                k, v = l.strip().split("=", 1)
                cache[k.split(":")[0]] = v
    return dict(date=datetime.datetime.now().astimezone().isoformat(timespec="seconds"), host=platform.node(),
                kernel=platform.release(), cpu=cpu, cpus=os.cpu_count(), memory_mb=mem,
                loadavg_at_start=os.getloadavg(), build=cache,
                commit=first(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]),
                kcat=first(["kcat", "-V"]), runs=args.runs, quick=args.quick,
                pipeline=dict(batch_records=args.batch_records, linger_ms=args.linger_ms, sync_writes=True,
                              threads=1 if args.one_thread else 2 + args.prepare_threads,
                              prepare_threads=0 if args.one_thread else args.prepare_threads),
                consumer_properties=args.consumer_property)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (about 3 minutes)")
    ap.add_argument("--runs", type=int, default=3, help="runs per wall-clock figure (median reported)")
    ap.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    ap.add_argument("--profile", action="store_true", help="also profile a replay with callgrind (slow)")
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build-bench"))
    ap.add_argument("--build-type", default="Release", help="CMAKE_BUILD_TYPE of a new build dir (with -g)")
    ap.add_argument("--no-build", action="store_true", help="use the build dir as it is")
    ap.add_argument("--batch-records", type=int, default=5000, help="pipeline.batch_records")
    ap.add_argument("--linger-ms", type=int, default=100, help="pipeline.linger_ms")
    ap.add_argument("--consumer-property", metavar="KEY=VALUE", action="append", default=[],
                    help="a librdkafka consumer property for `serve` (kafka.consumer_properties), e.g. "
                         "queued.max.messages.kbytes=65536; repeatable")
    ap.add_argument("--one-thread", action="store_true",
                    help="pipeline.prepare_threads 0 and commit_thread false (for an A/B)")
    ap.add_argument("--prepare-threads", type=int, default=1, help="pipeline.prepare_threads")
    ap.add_argument("--pipeline-threads", type=int, default=1, help="pipeline.threads")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results"), help="where the results go")
    ap.add_argument("--tmp", default=None, help="scratch directory (default $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()
    props = {}
    for kv in args.consumer_property:
        k, sep, v = kv.partition("=")
        if not sep or not k:
            ap.error("--consumer-property wants KEY=VALUE, got %r" % kv)
        props[k] = v
    args.consumer_property = props
    args.build_dir = os.path.abspath(args.build_dir)
    args.out = os.path.abspath(args.out)
    sections = args.only or DEFAULT_SECTIONS + (["profile"] if args.profile else [])
    if not shutil.which("kcat") and set(sections) & {"e2e", "partitions", "growth"}:
        sys.exit("bench: kcat is needed (apt-get install kcat)")
    if not args.no_build:
        if not os.path.exists(os.path.join(args.build_dir, "CMakeCache.txt")):
            subprocess.run(["cmake", "-S", REPO, "-B", args.build_dir, "-DCMAKE_BUILD_TYPE=" + args.build_type,
                            "-DCMAKE_CXX_FLAGS=-g", "-DWIJKPULS_TESTS=OFF", "-DWIJKPULS_BENCH=ON"], check=True)
        subprocess.run(["cmake", "--build", args.build_dir, "-j", str(os.cpu_count() or 2), "--target", "wijkpuls",
                        "wijkpuls_microbench", "wijkpuls_latency_probe"], check=True)
    os.makedirs(args.out, exist_ok=True)
    h = Harness(args, QUICK if args.quick else FULL)
    started = time.monotonic()
    results = dict(environment=environment(args))
    try:
        for s in SECTIONS:
            if s in sections:
                log("section %s" % s)
                t0 = time.monotonic()
                getattr(h, s)()
                log("section %s done in %.0f s" % (s, time.monotonic() - t0))
    finally:
        results.update(h.results)
        results["environment"]["harness_seconds"] = round(time.monotonic() - started)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ("-quick" if args.quick else "")
        path = os.path.join(args.out, "bench-%s.json" % stamp)
        with open(path, "w") as f:
            json.dump(results, f, indent=2)
        from report import table  # bench/report.py
        text = table(results)
        with open(path[:-5] + ".md", "w") as f:
            f.write(text)
        print(text)
        log("results: %s" % path)
        if not args.keep:
            shutil.rmtree(h.work, ignore_errors=True)
        else:
            log("scratch kept: %s" % h.work)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
