#!/usr/bin/env python3
"""Static checks of the operations files (no daemon needed):

- the PromQL helper of these tests parses what it must (tests/ops/promql.py self-check);
- dashboards: provisioning-ready (a uid, a `datasource` variable of type prometheus, every
  panel and target on `${datasource}`, no numeric data-source ids, no `__inputs` of an
  export-for-sharing), unique panel ids, variable definitions equal to their queries,
  multi-value variables only used with `=~`, every metric a panel names is in the catalogue;
- alert rules: `severity` and `team` labels, `summary`, `description` and a `runbook_url`
  into the packaged runbook whose anchor is a section of ops/runbook.md; every runbook alert
  section is a rule; ops/prometheus/runbook-base.sh points every one of them, in the rules
  file and in the Kubernetes PrometheusRule, at another base URL and refuses a bad one;
  every metric an alert names is in the catalogue; every alert has a promtool test case;
- docs/metrics.md lists every metric family serve/metrics.cc registers;
- the Grafana provisioning files parse and point at the dashboards' folder name.
"""
import glob
import json
import os
import re
import subprocess
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opslib  # noqa: E402
import promql  # noqa: E402
from opslib import Failure, log  # noqa: E402

SRC = opslib.SOURCE_DIR
# Where the Debian package puts the runbook (deploy/Packaging.cmake): the rules' default base.
RUNBOOK = "file:///usr/share/doc/wijkpuls/runbook.md"


def read(path):
    with open(os.path.join(SRC, path)) as f:
        return f.read()


def catalogue():
    names = set(re.findall(r"^\|\s*`((?:wijkpuls|process)_[a-z0-9_]+)`\s*\|", read("docs/metrics.md"), re.M))
    if len(names) < 20:
        raise Failure(f"docs/metrics.md: only {len(names)} metrics found in its tables")
    return names


def series_names(metric):
    """The catalogue name of a series name (histograms have _bucket, _sum, _count)."""
    return {metric, re.sub(r"_(bucket|sum|count)$", "", metric)}


def check_catalogue_covers_code(problems, documented):
    code = read("serve/metrics.cc")
    registered = set(re.findall(r'(?:Name\(|MakeHistogram\(\*registry_,\s*)"((?:wijkpuls|process)_[a-z0-9_]+)"', code))
    if len(registered) < 20:
        problems.append(f"serve/metrics.cc: only {len(registered)} metric names found; has the style changed?")
    for name in sorted(registered - documented):
        problems.append(f"docs/metrics.md: {name} (serve/metrics.cc) is not documented")
    for name in sorted(documented - registered):
        problems.append(f"docs/metrics.md: {name} is documented but serve/metrics.cc does not register it")
    if "time() - wijkpuls_last_record_timestamp_seconds" not in read("docs/metrics.md") or \
            "time() - wijkpuls_last_publish_timestamp_seconds" not in read("docs/metrics.md"):
        problems.append("docs/metrics.md: must say to use time() - x for the last record/publish timestamps")


def check_metrics_known(expr, where, documented, problems):
    for sel in promql.vector_selectors(expr):
        name = promql.metric_name(sel)
        if name is None or name in ("up", "ALERTS", "ALERTS_FOR_STATE"):
            continue
        if not (series_names(name) & documented):
            problems.append(f"{where}: metric {name} is not in docs/metrics.md")


def check_dashboards(problems, documented):
    files = sorted(glob.glob(os.path.join(SRC, "ops/grafana/dashboards/*.json")))
    titles = set()
    uids = set()
    for path in files:
        name = os.path.relpath(path, SRC)
        with open(path) as f:
            text = f.read()
        d = json.loads(text)
        titles.add(d.get("title"))
        if not d.get("uid") or not re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", d["uid"]):
            problems.append(f"{name}: needs a stable uid (1-40 of [a-zA-Z0-9_-])")
        if d.get("uid") in uids:
            problems.append(f"{name}: uid {d.get('uid')} is used twice")
        uids.add(d.get("uid"))
        if "__inputs" in d or "${DS_" in text:
            problems.append(f"{name}: an export-for-sharing (__inputs / ${{DS_...}}) cannot be provisioned")
        if d.get("id") is not None:
            problems.append(f"{name}: a provisioned dashboard must have id null or none")
        variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
        ds = variables.get("datasource")
        if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
            problems.append(f"{name}: needs a variable `datasource` of type datasource, query prometheus")
        for v in variables.values():
            if v.get("type") == "query":
                if v.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
                    problems.append(f"{name}: variable ${v['name']} must use the ${{datasource}} variable")
                q = v["query"]["query"] if isinstance(v.get("query"), dict) else v.get("query")
                if v.get("definition") not in (None, q):
                    problems.append(f"{name}: variable ${v['name']}: definition {v.get('definition')!r} differs from its query {q!r}")
                promql.parse_label_values(q)
                sel, _ = promql.parse_label_values(q)
                if sel:
                    check_metrics_known(sel, f"{name}: variable ${v['name']}", documented, problems)
        multi = {n for n, v in variables.items() if v.get("multi") or v.get("includeAll")}
        ids = set()

        def walk(panels):
            for p in panels:
                yield p
                yield from walk(p.get("panels", []) or [])
        for p in walk(d.get("panels", [])):
            where = f"{name}: panel \"{p.get('title')}\""
            if p.get("id") in ids:
                problems.append(f"{where}: duplicate panel id {p.get('id')}")
            ids.add(p.get("id"))
            if p.get("type") == "row":
                continue
            if not p.get("title") or "gridPos" not in p:
                problems.append(f"{where}: needs a title and a gridPos")
            if p.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
                problems.append(f"{where}: datasource must be {{type: prometheus, uid: ${{datasource}}}}")
            targets = p.get("targets") or []
            if not targets:
                problems.append(f"{where}: has no queries")
            for t in targets:
                tw = f"{where} {t.get('refId')}"
                if t.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
                    problems.append(f"{tw}: datasource must be ${{datasource}}")
                expr = t.get("expr", "")
                if not expr:
                    problems.append(f"{tw}: empty expression")
                    continue
                for var in multi:
                    if re.search(r'[a-z_]+\s*(=|!=)\s*"\$\{?' + var + r'\b', expr):
                        problems.append(f"{tw}: multi-value ${var} must be matched with =~ or !~")
                try:
                    promql.substitute(expr, {n: "x" for n in variables})
                except KeyError as e:
                    problems.append(f"{tw}: {e}")
                check_metrics_known(expr, tw, documented, problems)
        if re.search(r'"datasource":\s*\{[^}]*"uid":\s*"(?!\$\{datasource\}|-- Grafana --)', text):
            problems.append(f"{name}: a hard-coded data-source uid is present")
        if re.search(r'"datasource":\s*(\d+|"[^$][^"]*")', text):
            problems.append(f"{name}: a data source given by id or name is present")
    want = {"Fieldwork", "Pipeline"}
    if not all(any(w in (t or "") for t in titles) for w in want):
        problems.append(f"ops/grafana/dashboards: expected a Fieldwork and a Pipeline dashboard, found {sorted(titles)}")
    log(f"dashboards: {len(files)} checked")


def check_provisioning(problems):
    prov = yaml.safe_load(read("ops/grafana/provisioning/dashboards.yaml"))
    providers = prov.get("providers") or []
    if prov.get("apiVersion") != 1 or len(providers) != 1 or providers[0].get("type") != "file" \
            or not providers[0].get("options", {}).get("path"):
        problems.append("ops/grafana/provisioning/dashboards.yaml: one file provider with options.path expected")
    ds = yaml.safe_load(read("ops/grafana/provisioning/datasource.yaml"))
    if not any(d.get("type") == "prometheus" for d in ds.get("datasources", [])):
        problems.append("ops/grafana/provisioning/datasource.yaml: a prometheus data source expected")


def check_alerts(problems, documented):
    rules = [r for g in yaml.safe_load(read("ops/prometheus/wijkpuls-alerts.yml"))["groups"] for r in g["rules"]]
    runbook = read("ops/runbook.md")
    sections = set(re.findall(r"^## (Wijkpuls[A-Za-z]+)\s*$", runbook, re.M))
    tests = yaml.safe_load(read("ops/prometheus/wijkpuls-alerts.test.yml"))
    tested = {a["alertname"] for t in tests["tests"] for a in t.get("alert_rule_test", [])}
    fired = {a["alertname"] for t in tests["tests"] for a in t.get("alert_rule_test", []) if a.get("exp_alerts")}
    names = set()
    for r in rules:
        name = r.get("alert")
        if not name:
            continue
        names.add(name)
        where = f"alert {name}"
        labels, ann = r.get("labels", {}), r.get("annotations", {})
        if labels.get("severity") not in ("critical", "warning"):
            problems.append(f"{where}: severity must be critical or warning")
        if labels.get("team") not in ("operations", "fieldwork"):
            problems.append(f"{where}: team must be operations or fieldwork")
        for key in ("summary", "description", "runbook_url"):
            if not ann.get(key):
                problems.append(f"{where}: annotation {key} missing")
        if ann.get("runbook_url") != f"{RUNBOOK}#{name.lower()}":
            problems.append(f"{where}: runbook_url must be {RUNBOOK}#{name.lower()}")
        if name not in sections:
            problems.append(f"{where}: ops/runbook.md has no section \"## {name}\"")
        if name not in tested or name not in fired:
            problems.append(f"{where}: needs promtool test cases that fire and that do not")
        check_metrics_known(r["expr"], where, documented, problems)
    for s in sorted(sections - names):
        problems.append(f"ops/runbook.md: section {s} is not an alert of wijkpuls-alerts.yml")
    required = {"WijkpulsDown", "WijkpulsConsumerStalled", "WijkpulsConsumerLagHigh", "WijkpulsDeadLetterRateHigh",
                "WijkpulsOutputPublishingStalled", "WijkpulsStorageErrors", "WijkpulsWijkBehindLastMonth"}
    for n in sorted(required - names):
        problems.append(f"ops/prometheus/wijkpuls-alerts.yml: alert {n} is required")
    behind = next((r["expr"] for r in rules if r.get("alert") == "WijkpulsWijkBehindLastMonth"), "")
    if "wijkpuls_fieldwork_days_remaining" not in behind or 'status="BEHIND"' not in behind:
        problems.append("WijkpulsWijkBehindLastMonth must use wijkpuls_fieldwork_days_remaining and status=\"BEHIND\"")
    if "--log-format json" not in runbook and "log.format: json" not in runbook:
        problems.append("ops/runbook.md: the logs (text and JSON lines) must be documented")
    log(f"alerts: {len(names)} checked against the runbook and the tests")


def check_runbook_base(problems):
    """The deploy-time base URL of the rules' runbook_url (ops/prometheus/runbook-base.sh)."""
    script = os.path.join(SRC, "ops/prometheus/runbook-base.sh")
    base = "https://ops.example.org/wijkpuls/runbook.html"
    for path in ("ops/prometheus/wijkpuls-alerts.yml", "deploy/k8s/prometheusrule.yaml"):
        r = subprocess.run(["sh", script, base, os.path.join(SRC, path)], capture_output=True, text=True)
        if r.returncode != 0:
            problems.append(f"runbook-base.sh on {path}: exit {r.returncode}: {r.stderr.strip()}")
            continue
        doc = yaml.safe_load(r.stdout)
        spec = doc.get("spec", doc)  # the PrometheusRule holds the groups under spec
        urls = {rule["alert"]: rule["annotations"]["runbook_url"] for g in spec["groups"] for rule in g["rules"]
                if rule.get("alert")}
        wrong = {a: u for a, u in urls.items() if u != f"{base}#{a.lower()}"}
        if not urls or wrong:
            problems.append(f"runbook-base.sh on {path}: {len(wrong)} of {len(urls)} runbook_url not rendered: {wrong}")
        text = read(path)  # (the script ends its output with one newline)
        if r.stdout.replace(base, RUNBOOK) != text + ("" if text.endswith("\n") else "\n"):
            problems.append(f"runbook-base.sh on {path}: changed more than the runbook base")
    for bad in ("ops.example.org/runbook", "https://x/a b", 'https://x/"', "https://x/#a", "javascript:alert(1)"):
        r = subprocess.run(["sh", script, bad, os.path.join(SRC, "ops/prometheus/wijkpuls-alerts.yml")],
                           capture_output=True, text=True)
        if r.returncode != 2 or r.stdout:
            problems.append(f"runbook-base.sh took the base URL {bad!r} (exit {r.returncode})")
    log("runbook base URL: rendered into both rule files, bad ones refused")


def run():
    promql.self_check()
    problems = []
    documented = catalogue()
    check_catalogue_covers_code(problems, documented)
    check_dashboards(problems, documented)
    check_provisioning(problems)
    check_alerts(problems, documented)
    check_runbook_base(problems)
    if problems:
        raise Failure(f"{len(problems)} problems:\n  " + "\n  ".join(problems))


if __name__ == "__main__":
    opslib.main_wrapper(run)
