#!/usr/bin/env python3
"""A real Prometheus scrapes a real daemon fed by the simulator; every dashboard panel
expression and every alert rule is evaluated through Prometheus's HTTP API.

1. `wijkpuls demo --duration 0` (mock Kafka cluster, the whole simulated season at once,
   the daemon) on a free port; Prometheus with ops/prometheus/prometheus.yml (targets,
   intervals and the rule file path replaced: 1 s scrapes and rule evaluations).
2. Wait, polling with deadlines, until Prometheus has scraped the whole season (the sum of
   wijkpuls_records_total equals the number of records the demo produced), an output
   publish, at least five scrapes (so `rate` over 1m has samples), and one evaluation of
   every rule.
3. Dashboards (ops/grafana/dashboards/*.json): every query variable (`label_values`) must
   have values; every target expression of every panel is evaluated twice - each variable
   at its first value, and each multi-value variable at "All" - after substituting the
   variables as Grafana does ($__rate_interval=1m, $__range=1h, ...). It must evaluate
   without error and with a non-empty result, and so must each of its vector selectors.
4. Alert rules: the expression of every rule must evaluate without error, and Prometheus's
   own evaluation must report health "ok". A condition may legitimately be empty (nothing
   is wrong in the demo), so emptiness is checked on its parts instead: every vector
   selector in the expression (`up{job="wijkpuls"}`, `wijkpuls_consumer_lag`,
   `wijkpuls_quota_status{status="BEHIND"}`, ...) must select data. A misspelt metric or
   label value therefore fails even inside `x > 0`, `absent(x)` or `a and b`.
5. The catalogue docs/metrics.md must list exactly the metric families of /metrics, with
   their type and label names, and labels must stay within the bounded set.
6. The demo must stop on SIGTERM within 15 s with exit code 0 (TimeoutStopSec of the unit).
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opslib  # noqa: E402
import promql  # noqa: E402
from opslib import Failure, log  # noqa: E402

BOUNDED_LABELS = {"wave", "wijk", "gebied", "instrument", "outcome", "reason", "flag", "partition", "topic",
                  "status", "component", "kind", "version", "le",
                  "block", "result",  # the block cache's: filter/index/data, hit/miss
                  "index"}  # the methodology's indices (VI, SI, FI)


class Prometheus:
    def __init__(self, url):
        self.url = url

    def query(self, expr):
        """The API's answer to an instant query at now: (resultType, result) or Failure."""
        r = opslib.http_json(self.url + "/api/v1/query", {"query": expr})
        if r.get("status") != "success":
            raise Failure(f"{r.get('errorType')}: {r.get('error')}")
        return r["data"]["resultType"], r["data"]["result"]

    def value(self, expr):
        kind, result = self.query(expr)
        if kind == "scalar":
            return float(result[1])
        if not result:
            return None
        return float(result[0]["value"][1])

    def label_values(self, selector, label):
        if selector is None:
            r = opslib.http_json(self.url + f"/api/v1/label/{label}/values")
            return sorted(r.get("data") or [])
        r = opslib.http_json(self.url + "/api/v1/series", {"match[]": selector})
        if r.get("status") != "success":
            raise Failure(f"series {selector}: {r.get('error')}")
        return sorted({s[label] for s in r["data"] if label in s})


def start_demo(binary, tmp):
    demo = opslib.Process("wijkpuls demo",
                          [binary, "demo", "--duration", "0", "--listen", "127.0.0.1:0",
                           "--state-dir", os.path.join(tmp, "demo")],
                          os.path.join(tmp, "demo.log"))

    def started():
        demo.check_alive()
        text = "\n".join(demo.stdout())
        m = re.search(r"season of (\d+) records", text)
        u = re.search(r"metrics\s+(http://[0-9.]+:\d+)/metrics", text)
        return (int(m.group(1)), u.group(1)) if m and u else None

    records, base = opslib.wait_until("the demo to print its URLs", started, 60)
    log(f"demo: {records} records, {base}")
    return demo, records, base


def start_prometheus(binary, source, tmp, target):
    with open(os.path.join(source, "ops/prometheus/prometheus.yml")) as f:
        config = yaml.safe_load(f)
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [os.path.join(source, "ops/prometheus", r) for r in config["rule_files"]]
    jobs = [j for j in config["scrape_configs"] if j["job_name"] == "wijkpuls"]
    if len(jobs) != 1:
        raise Failure("ops/prometheus/prometheus.yml: expected one scrape job called wijkpuls")
    jobs[0].update({"scrape_interval": "1s", "scrape_timeout": "1s", "static_configs": [{"targets": [target]}]})
    path = os.path.join(tmp, "prometheus.yml")
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
    for attempt in range(3):  # the free port may be taken between choosing and binding it
        port = opslib.free_port()
        data = os.path.join(tmp, f"prometheus-data-{attempt}")
        prom = opslib.Process("prometheus",
                              [binary, f"--config.file={path}", f"--storage.tsdb.path={data}",
                               f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
                               "--storage.tsdb.retention.time=1h"],
                              os.path.join(tmp, f"prometheus-{attempt}.log"))
        url = f"http://127.0.0.1:{port}"

        def ready():
            prom.check_alive()
            return opslib.http_get(url + "/-/ready")[0] == 200

        try:
            opslib.wait_until("Prometheus to be ready", ready, 30)
            log(f"prometheus: {url}")
            return prom, Prometheus(url)
        except Failure as e:
            if prom.alive() or "address already in use" not in prom.tail():
                prom.stop()
                raise e
    raise Failure("Prometheus could not bind a free port three times")


def wait_for_data(prom, records, rule_count):
    def season_scraped():
        v = prom.value('sum(wijkpuls_records_total{job="wijkpuls"})')
        return v is not None and int(v) == records
    opslib.wait_until(f"Prometheus to scrape all {records} committed records", season_scraped, 120)
    opslib.wait_until("an output publish to be scraped",
                      lambda: (prom.value('max(wijkpuls_last_publish_timestamp_seconds{job="wijkpuls"})') or 0) > 0, 60)
    opslib.wait_until("five scrapes of the daemon",
                      lambda: (prom.value('count_over_time(up{job="wijkpuls"}[1m])') or 0) >= 5, 60)

    def rules_evaluated():
        r = opslib.http_json(prom.url + "/api/v1/rules")
        rules = [rule for g in r["data"]["groups"] for rule in g["rules"]]
        return len(rules) == rule_count and all(not rule.get("lastEvaluation", "").startswith("0001") for rule in rules)
    opslib.wait_until("Prometheus to evaluate every rule once", rules_evaluated, 60)


def check_selectors(prom, expr, where, problems):
    for sel in promql.vector_selectors(expr):
        try:
            _, result = prom.query(sel)
        except Failure as e:
            problems.append(f"{where}: selector {sel}: {e}")
            continue
        if not result:
            problems.append(f"{where}: selector {sel} selects no data (misspelt metric or label value?)")


def resolve_variables(prom, dashboard, name):
    """Each template variable with its options, in order (later ones may use earlier ones)."""
    first, resolved = {}, []
    for v in dashboard.get("templating", {}).get("list", []):
        kind = v.get("type")
        if kind == "datasource":
            if v.get("query") != "prometheus":
                raise Failure(f"{name}: variable ${v['name']} must select Prometheus data sources")
            first[v["name"]] = "prometheus"
            continue
        if kind == "query":
            q = v["query"]["query"] if isinstance(v.get("query"), dict) else v.get("query", "")
            selector, label = promql.parse_label_values(promql.substitute(q, first))
            options = prom.label_values(selector, label)
            if not options:
                raise Failure(f"{name}: variable ${v['name']} ({q}) has no values: misspelt metric or label?")
        elif kind == "custom":
            options = [o.strip() for o in v.get("query", "").split(",") if o.strip()]
        elif kind in ("constant", "textbox"):
            options = [v.get("query", "")]
        elif kind == "interval":
            options = [o.strip() for o in v.get("query", "").split(",") if o.strip()]
        else:
            raise Failure(f"{name}: variable ${v['name']} of type {kind} is not handled by this test")
        v = dict(v, _options=options)
        first[v["name"]] = promql.format_value(v, [options[0]])
        resolved.append(v)
    return resolved, first


def panels_of(dashboard):
    for p in dashboard.get("panels", []):
        yield p
        for q in p.get("panels", []) or []:
            yield q


def check_dashboards(prom, source):
    problems, count = [], 0
    files = sorted(glob.glob(os.path.join(source, "ops/grafana/dashboards/*.json")))
    if len(files) < 2:
        raise Failure("expected the Fieldwork and Pipeline dashboards in ops/grafana/dashboards/")
    for path in files:
        name = os.path.relpath(path, source)
        with open(path) as f:
            dashboard = json.load(f)
        variables, first = resolve_variables(prom, dashboard, name)
        combos = {"first values": first}
        all_values = dict(first)
        for v in variables:
            if v.get("multi") or v.get("includeAll"):
                all_values[v["name"]] = promql.format_value(v, "$__all" if v.get("includeAll") else v["_options"])
        if all_values != first:
            combos["All"] = all_values
        for panel in panels_of(dashboard):
            for target in panel.get("targets", []) or []:
                expr = target.get("expr")
                if not expr:
                    continue
                for combo, values in combos.items():
                    where = f"{name}: panel \"{panel.get('title')}\" {target.get('refId')} ({combo})"
                    try:
                        text = promql.substitute(expr, values)
                    except KeyError as e:
                        problems.append(f"{where}: {e}")
                        continue
                    count += 1
                    try:
                        kind, result = prom.query(text)
                    except Failure as e:
                        problems.append(f"{where}: {text}: {e}")
                        continue
                    if kind != "scalar" and not result:
                        problems.append(f"{where}: {text}: empty result")
                    check_selectors(prom, text, where, problems)
    log(f"dashboards: {count} panel queries over {len(files)} dashboards")
    return problems


def check_alerts(prom, source, rules):
    problems = []
    for rule in rules:
        where = f"rule {rule.get('alert') or rule.get('record')}"
        try:
            prom.query(rule["expr"])
        except Failure as e:
            problems.append(f"{where}: {e}")
        check_selectors(prom, rule["expr"], where, problems)
    r = opslib.http_json(prom.url + "/api/v1/rules")
    for g in r["data"]["groups"]:
        for rule in g["rules"]:
            if rule.get("health") != "ok" or rule.get("lastError"):
                problems.append(f"rule {rule['name']}: Prometheus reports {rule.get('health')}: {rule.get('lastError')}")
    log(f"alerts: {len(rules)} rules")
    return problems


def parse_exposition(text):
    """{family: (type, set of label names)} from the Prometheus text format."""
    families, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(None, 3)
            types[name] = kind
            families[name] = (kind, set())
        elif line and not line.startswith("#"):
            m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s", line)
            name = m.group(1)
            base = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
            if base in families and m.group(3):
                families[base][1].update(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="', m.group(3)))
    return families


def parse_catalogue(path):
    """{metric: (type, set of labels)} from the table rows of docs/metrics.md:
    | `name` | type | `label`, `label` (or —) | meaning |"""
    out = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\|\s*`((?:wijkpuls|process)_[a-z0-9_]+)`\s*\|\s*([a-z]+)\s*\|([^|]*)\|", line)
            if m:
                out[m.group(1)] = (m.group(2), set(re.findall(r"`([a-z_]+)`", m.group(3))))
    return out


def check_catalogue(source, metrics_text):
    problems = []
    exported = parse_exposition(metrics_text)
    documented = parse_catalogue(os.path.join(source, "docs/metrics.md"))
    for name, (kind, labels) in sorted(exported.items()):
        if not name.startswith(("wijkpuls_", "process_")):
            continue
        labels = labels - {"le"}
        if name not in documented:
            problems.append(f"docs/metrics.md: {name} ({kind}) is exported but not documented")
            continue
        dkind, dlabels = documented[name]
        if dkind != kind:
            problems.append(f"docs/metrics.md: {name} is documented as {dkind} but exported as {kind}")
        if dlabels != labels:
            problems.append(f"docs/metrics.md: {name} labels documented {sorted(dlabels)}, exported {sorted(labels)}")
        if labels - BOUNDED_LABELS:
            problems.append(f"{name}: labels {sorted(labels - BOUNDED_LABELS)} are not in the bounded set")
    for name in sorted(set(documented) - set(exported)):
        problems.append(f"docs/metrics.md: {name} is documented but the daemon does not export it")
    log(f"catalogue: {len(exported)} families exported, {len(documented)} documented")
    return problems


# promtool's lint findings that are kept on purpose, each with the reason (docs/metrics.md says
# it too). Anything else promtool reports fails the test.
LINT_KEPT = {
    "wijkpuls_fieldwork_days_remaining": "round days are counted, not elapsed time: a summer break "
                                         "between rounds does not count, so seconds would mislead",
}


def check_lint(metrics_text):
    """`promtool check metrics` on a live scrape (issue #23)."""
    out = subprocess.run(["promtool", "check", "metrics"], input=metrics_text, capture_output=True, text=True)
    problems = []
    for line in (out.stdout + out.stderr).splitlines():
        line = line.strip()
        if not line or any(line.startswith(name + " ") for name in LINT_KEPT):
            continue
        problems.append(f"promtool check metrics: {line}")
    return problems


def run():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--source", default=opslib.SOURCE_DIR)
    ap.add_argument("--tmp", default="")
    ap.add_argument("--prometheus", default="prometheus", help="the Prometheus server binary")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    if not shutil.which(args.prometheus):
        raise Failure("prometheus is not installed (Debian package prometheus; scripts/setup.sh --test)")
    tmp = opslib.make_temp_dir(args.tmp, "ops-prometheus-")
    started = time.monotonic()
    demo = prom_proc = None
    with open(os.path.join(args.source, "ops/prometheus/wijkpuls-alerts.yml")) as f:
        rules = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
    try:
        demo, records, base = start_demo(args.binary, tmp)
        prom_proc, prom = start_prometheus(args.prometheus, args.source, tmp, base.split("//", 1)[1])
        wait_for_data(prom, records, len(rules))
        demo.check_alive()
        log(f"data scraped after {time.monotonic() - started:.1f} s")
        # The checks must be able to fail: a misspelt metric and label value are caught.
        canary = []
        check_selectors(prom, 'wijkpuls_recods_total > 0 and on () wijkpuls_quota_status{status="BEHND"} == 1',
                        "canary", canary)
        if len(canary) != 2:
            raise Failure(f"the selector check missed a misspelling: {canary}")
        problems = check_dashboards(prom, args.source)
        problems += check_alerts(prom, args.source, rules)
        scrape = opslib.http_get(base + "/metrics")[1]
        problems += check_catalogue(args.source, scrape)
        problems += check_lint(scrape)
        if problems:
            raise Failure(f"{len(problems)} problems:\n  " + "\n  ".join(problems))
        code, seconds = demo.stop(timeout=30)
        if code != 0 or seconds > 15:
            raise Failure(f"the demo took {seconds:.1f} s to stop on SIGTERM and exited {code} "
                          f"(the systemd unit allows 15 s):\n{demo.tail()}")
        log(f"demo stopped on SIGTERM in {seconds:.1f} s")
    finally:
        for p in (prom_proc, demo):
            if p is not None:
                p.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    log(f"total {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    opslib.main_wrapper(run)
