"""The table of a bench/run.py result (Markdown), with the targets of the issue.

    python3 bench/report.py bench/results/bench-YYYYMMDD-HHMMSS.json
"""
import json
import sys

# Targets on a 2-core machine (issue 21, "Performance, restated"): reported
# against, never asserted. serve is judged from its partition assignment
# (steady) against kcat in the same run.
TARGETS = dict(ratio_steady=0.35, replay_rate=150_000, scores_ms=5.0, rss_mb=300, p99_ms=500)


def fmt(x, digits=0):
    if x is None:
        return "–"
    if isinstance(x, float) and digits:
        return "{:,.{}f}".format(x, digits)
    return "{:,}".format(round(x))


def verdict(value, target, higher_is_better=True):
    if value is None:
        return "not measured"
    if higher_is_better:
        return ("met" if value >= target else "MISSED") + ": %.2f× the target" % (value / target)
    return ("met" if value <= target else "MISSED") + ": %.0f%% of the limit" % (100.0 * value / target)


def batches_row(w):
    b = [x for x in w.get("batches", []) if x]
    if not b:
        return "| wijkpuls batches | not scraped | | |"
    mid = sorted(b, key=lambda x: x["commit_seconds"])[len(b) // 2]
    return ("| wijkpuls batches (from /metrics, median run) | %d commits of %s records on average; a commit takes "
            "%.1f ms on average, %.1f s in all | | |" % (mid["batches"], fmt(mid["mean_records"]), mid["mean_commit_ms"],
                                                        mid["commit_seconds"]))


def threads_row(what, t):
    if not t:
        return []
    parts = ", ".join("%s %.1f" % (g, us) for g, us in t["cpu_us_per_record"].items())
    return ["| %s CPU per record by thread, µs (/proc, %.0f%% of the rusage CPU seen) | %s | | |" % (
        what, 100.0 * t["sampled_share"], parts)]


def table(r):
    env = r.get("environment", {})
    out = ["# wijkpuls benchmark — %s" % env.get("date", "?"), "",
           "Machine: %s, %s CPUs, %s MB; kernel %s; build %s (%s); commit %s; load average at start %s." % (
               env.get("cpu"), env.get("cpus"), env.get("memory_mb"), env.get("kernel"),
               env.get("build", {}).get("CMAKE_BUILD_TYPE"), env.get("build", {}).get("CMAKE_CXX_FLAGS") or "-",
               env.get("commit"), ", ".join("%.1f" % x for x in env.get("loadavg_at_start", []))),
           "Pipeline: batch_records %s, linger_ms %s, sync_writes true, %s. Wall-clock figures: median of %s runs%s." % (
               env.get("pipeline", {}).get("batch_records"), env.get("pipeline", {}).get("linger_ms"),
               "one thread (prepare_thread and commit_thread false)" if env.get("pipeline", {}).get("threads") == 1
               else "prepare and commit threads", env.get("runs"),
               " (quick mode)" if env.get("quick") else "")]
    if env.get("consumer_properties"):
        out += ["Consumer properties set for `serve`: %s." % ", ".join(
            "`%s=%s`" % kv for kv in sorted(env["consumer_properties"].items()))]
    out += [""]
    out += ["| measurement | figure | target | verdict |", "| --- | --- | --- | --- |"]
    e = r.get("e2e")
    if e:
        k, w = e["kcat"], e["wijkpuls"]
        out += [
            "| kcat, %s responses, %d partitions (process wall) | %s records/s (%.2f s) | | |" % (
                fmt(e["response_records"]), e["partitions"], fmt(k["records_per_s"]), k["wall_s"]),
            "| wijkpuls serve --exit-at-end, %s records (process wall) | %s records/s (%.2f s) | | |" % (
                fmt(e["records"]), fmt(w["records_per_s"]), w["wall_s"]),
            "| ratio wijkpuls / kcat (process wall) | %.3f | | |" % e["ratio_wall"],
        ]
        out += [
            "| wijkpuls, partition assignment to end of input (steady) | %s records/s (%.2f s) | | |" % (
                fmt(w["steady_records_per_s"]), w["steady_s"]),
            "| ratio wijkpuls steady / kcat | %.3f | ≥ 0.35 | %s |" % (
                e["ratio_steady"], verdict(e["ratio_steady"], TARGETS["ratio_steady"])),
        ]
        if "fixed_cost_s" in w:
            out.append("| wijkpuls on empty topics (start, group join, exit) | %.2f s | | |" % w["fixed_cost_s"])
        out += [
            "| CPU per record (user+sys) | kcat %.1f µs, wijkpuls %.1f µs (ratio %.3f) | | |" % (
                k["cpu_us_per_record"], w["cpu_us_per_record"], e["ratio_cpu"]),
        ]
        out += threads_row("wijkpuls", w.get("threads"))
        out += [
            "| wijkpuls peak RSS, %s records | %s MB | | |" % (fmt(e["records"]), fmt(w["max_rss_mb"], 1)),
            batches_row(w),
            "| every record committed | %s | | |" % ("yes" if e["complete"] else "NO: the cluster dropped records"),
        ]
    j = r.get("json")
    if j:
        b, s = j["binary"], j["json"]
        out += [
            "| serve, %s records in protobuf binary (steady) | %s records/s, %.1f µs CPU per record | | |" % (
                fmt(b["records"]), fmt(b["steady_records_per_s"]), b["cpu_us_per_record"]),
            "| serve, the same as JSON with the .proto's names (steady) | %s records/s, %.1f µs CPU per record | | |" % (
                fmt(s["steady_records_per_s"]), s["cpu_us_per_record"]),
            "| CPU per record, JSON / binary | %.3f | ≤ 1.3 | %s |" % (
                j["ratio_cpu_json_binary"], verdict(j["ratio_cpu_json_binary"], 1.3, higher_is_better=False)),
        ]
        if "one_core" in b:
            out += [
                "| the same, serve on CPU 1 alone (the clusters not pinned) | binary %s records/s, %.1f µs; JSON %s "
                "records/s, %.1f µs CPU per record | | |" % (
                    fmt(b["one_core"]["steady_records_per_s"]), b["one_core"]["cpu_us_per_record"],
                    fmt(s["one_core"]["steady_records_per_s"]), s["one_core"]["cpu_us_per_record"]),
                "| CPU per record, JSON / binary, on one core (by run on two: %s) | %.3f | ≤ 1.3 | %s |" % (
                    ", ".join("%.3f" % x for x in j["ratios_cpu_json_binary_by_run"]),
                    j["ratio_cpu_json_binary_one_core"],
                    verdict(j["ratio_cpu_json_binary_one_core"], 1.3, higher_is_better=False)),
            ]
        if j.get("peer"):
            out += [
                "| bench/peer.py (confluent-kafka + SQLite, same rules) on the JSON topic | %s records/s, %.1f µs CPU "
                "per record | | |" % (fmt(j["peer"]["records_per_s"]), j["peer"]["cpu_us_per_record"]),
                "| rate, serve / peer (JSON) | %.2f | ≥ 10 | %s |" % (
                    j["ratio_rate_wijkpuls_peer"], verdict(j["ratio_rate_wijkpuls_peer"], 10.0)),
            ]
    p = r.get("replay")
    if p:
        out += [
            "| replay of %s records (file) | %s records/s (runs %s) | ≥ 150,000 | %s |" % (
                fmt(p["records"]), fmt(p["records_per_s"]), ", ".join(fmt(x) for x in p["runs_records_per_s"]),
                verdict(p["records_per_s"], TARGETS["replay_rate"])),
            "| replay CPU per record | %.1f µs | | |" % p["cpu_us_per_record"],
        ]
        out += threads_row("replay", p.get("threads"))
        out += [
            "| replay peak RSS, %s stored responses | %s MB | ≤ 300 MB | %s |" % (
                fmt(p["stored_responses"]), fmt(p["max_rss_mb"], 1),
                verdict(p["max_rss_mb"], TARGETS["rss_mb"], higher_is_better=False)),
            "| state directory after %s stored responses | %s MB, %s bytes per response | | |" % (
                fmt(p["stored_responses"]), fmt(p["state_bytes"] / 1e6, 1), fmt(p["state_bytes_per_response"], 1)),
        ]
    m = r.get("micro", {}).get("benchmarks", {})
    for name, b in m.items():
        target, v = "", ""
        if name.startswith("BM_ComputeScoresAllUnits/serialise:0"):
            target, v = "≤ 5 ms", verdict(b["time"] if b["unit"] == "ms" else None, TARGETS["scores_ms"], False)
        rate = ", %s/s per CPU" % fmt(b["items_per_s"]) if b.get("items_per_s") else ""
        if "cpu_us_per_record" in b:
            # The storage floor: what RocksDB and the store cost per record, all threads.
            rate = "; %.2f µs CPU per record (whole process), so at most %s records/s on two cores" % (
                b["cpu_us_per_record"], fmt(b["two_core_records_per_s"]))
        out.append("| micro %s %s | %s %s wall, %s %s CPU%s | %s | %s |" % (
            name, b.get("label") or "", fmt(b["time"], 3), b["unit"], fmt(b["cpu"], 3), b["unit"], rate, target, v))
    lat = r.get("latency")
    if lat:
        out += ["| latency produce → counted in /api/v1/quotas at %d records/s | p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, "
                "max %.0f ms | p99 ≤ 500 ms | %s |" % (lat["rate"], lat["p50_ms"], lat["p90_ms"], lat["p99_ms"],
                                                      lat["max_ms"], verdict(lat["p99_ms"], TARGETS["p99_ms"], False))]
    rs = r.get("restart")
    if rs:
        props = ", ".join("%s=%s" % kv for kv in sorted((rs.get("consumer_properties") or {}).items()))
        for v in rs["variants"]:
            out.append("| restart after %s to its first commit (%s records, %d partitions%s) | %.1f s (runs: %s) | | |" % (
                v["stop"], fmt(rs["records"]), rs["partitions"], "; " + props if props else "", v["median_s"],
                ", ".join("%.1f" % x for x in v["runs"])))
    rb = r.get("rebalance")
    for g in (rb or {}).get("runs", []):
        def restore(x):
            if x.get("rate") is None:
                return "%s records of %d partitions within one poll (0.1 s)" % (fmt(x["records"]), x["partitions"])
            return "%s records of %d partitions in %.1f s: %s records/s" % (
                fmt(x["records"]), x["partitions"], x["seconds"], fmt(x["rate"]))
        pa, pb = g["pause_a_revoke_on_join"], g["pause_b"]
        out.append("| rebalance, %s records on %d partitions: B joins with no state | restores %s; A's pause on "
                   "revoke %s ms, B's per rebalance %s ms | | |" % (
                       fmt(g["records"]), g["partitions"], restore(g["join"]), pa["mean_ms"], pb["mean_ms"]))
        out.append("| rebalance, %s records: A killed (-9) | B restores %s, caught up %.1f s after the kill | | |" % (
            fmt(g["records"]), restore(g["failover"]), g["failover"]["from_kill_s"]))
    for g in r.get("partitions", []):
        w = g["wijkpuls"]
        out.append("| %d partitions, %s records | wijkpuls steady %s records/s, wall %.2f s; kcat %s records/s; ratio %.3f "
                   "| | |" % (g["partitions"], fmt(g["records"]), fmt(w["steady_records_per_s"]), w["wall_s"],
                              fmt(g["kcat"]["records_per_s"]), g["ratio_wall"]))
    for g in r.get("growth", []):
        w = g["wijkpuls"]
        out.append("| %s records, %d partitions | wijkpuls wall %.2f s (steady %.2f s, %s records/s), peak RSS %s MB; "
                   "kcat %.2f s%s | | |" % (
                       fmt(g["records"]), g["partitions"], w["wall_s"], w["steady_s"], fmt(w["steady_records_per_s"]),
                       fmt(w["max_rss_mb"], 1), g["kcat"]["wall_s"], "" if g["complete"] else " (INCOMPLETE)"))
    prof = r.get("profile")
    if prof:
        out += ["", "Callgrind, `wijkpuls replay` of %s records: %s instructions per record." % (
            fmt(prof["records"]), fmt(prof["instructions_per_record"])), "", "| inclusive | function |", "| --- | --- |"]
        out += ["| %.1f%% | %s |" % (x["percent"], x["function"]) for x in prof["inclusive"][:15]]
        out += ["", "| exclusive | function |", "| --- | --- |"]
        out += ["| %.1f%% | %s |" % (x["percent"], x["function"]) for x in prof["exclusive"][:15]]
    off = r.get("offcpu")
    if off:
        out += ["", "The pipeline thread of `serve` over %.1f s: on CPU %.2f s; %s." % (
            off["window_s"], off["on_cpu_s"], "; ".join("%s %.2f s" % (k, v) for k, v in off["states_s"].items())),
            "", "| blocked | where |", "| --- | --- |"]
        out += ["| %.3f s | %s |" % (x["seconds"], x["site"][:220]) for x in off["blocked_sites_s"]]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(table(json.load(f)))
