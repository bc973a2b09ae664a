#!/usr/bin/env python3
"""The OpenAPI description against live responses of a demo season.

Starts `wijkpuls demo --records 6000` (a small season: suppressed and low-precision scores
next to ones with values), waits until every record is committed, then fetches
/api/v1/openapi.json and every endpoint it describes — every unit of every level, the pace
of each level, one wijk's snapshot, the probes, the pages, /metrics — and its errors: an
unknown wave, wijk, level and unit (404), a conditional request with the ETag (304), in
its weak form, and in a list (304). `node validate.mjs` then checks the document against
the OpenAPI 3.1 meta-schema and every response against it (tests/openapi/validate.mjs).
The validator's packages are installed by scripts/setup.sh --test (npm ci here).
"""
import argparse
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "browser"))
from page_test import check, committed_records, in_demo, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def fetch(base, path, headers=None):
    req = urllib.request.Request(base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode(), dict(e.headers)


def exercise(base):
    """Every described request, and its errors: a list of responses for validate.mjs."""
    out = []

    def take(path, want_status, headers=None):
        status, ctype, body, hdrs = fetch(base, path, headers)
        check(status == want_status, f"GET {path}: {status}, want {want_status}: {body[:200]}")
        out.append({"path": path, "status": status, "content_type": ctype, "body": body,
                    "headers": {k.lower(): v for k, v in hdrs.items()}})
        return body, hdrs

    quotas = json.loads(take("/api/v1/quotas", 200)[0])
    wave = quotas["wave"]
    take(f"/api/v1/quotas?wave={wave}", 200)
    wijk = quotas["wijken"][0]["wijk"]
    take(f"/api/v1/quotas/{wijk}", 200)
    scores = json.loads(take("/api/v1/scores", 200)[0])
    levels = set()
    for u in scores["units"]:
        take(f"/api/v1/scores/{u['level']}/{u['unit']}", 200)
        if u["level"] not in levels:
            levels.add(u["level"])
            take(f"/api/v1/pace/{u['level']}/{u['unit']}", 200)
    check(levels == {"wijk", "gebied", "stad"}, f"the scores name the levels {levels}")
    statuses = {s["status"] for u in scores["units"] for k in ("indicators", "themes", "indices") for s in u[k]}
    check({"OK", "SUPPRESSED"} <= statuses, f"the season should give scores with and without a value: {statuses}")
    take("/api/v1/quality", 200)
    take("/api/v1/openapi.json", 200)
    # Errors.
    take("/api/v1/quotas?wave=1999", 404)
    take("/api/v1/quotas/no-such-wijk", 404)
    take("/api/v1/scores/province/x", 404)
    take("/api/v1/scores/wijk/no-such-wijk", 404)
    take("/api/v1/pace/gebied/no-such-gebied", 404)
    take("/api/v1/quality?wave=1999", 404)
    take("/api/v1/scores?wave=1999", 404)
    # Conditional requests (RFC 9110): the tag, its weak form, in a list.
    _, hdrs = take("/api/v1/quotas", 200)
    etag = hdrs.get("ETag")
    check(etag, "no ETag on /api/v1/quotas")
    for header in (etag, "W/" + etag, f'"other", {etag}'):
        take("/api/v1/quotas", 304, {"If-None-Match": header})
    for path in (f"/api/v1/quotas/{wijk}", "/api/v1/scores", f"/api/v1/scores/wijk/{wijk}",
                 f"/api/v1/pace/wijk/{wijk}", "/api/v1/quality"):
        _, hdrs = take(path, 200)
        take(path, 304, {"If-None-Match": hdrs.get("ETag", '"none"')})
    take("/healthz", 200)
    take("/readyz", 200)
    take("/metrics", 200)
    for page in ("/", "/scores", "/quality"):
        take(page, 200)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wijkpuls", required=True)
    ap.add_argument("--node", default="node")
    ap.add_argument("--work-dir", required=True, help="scratch folder (emptied first)")
    args = ap.parse_args()
    if not os.path.isdir(os.path.join(HERE, "node_modules", "ajv")):
        print(f"FAIL: the validator is not installed in {HERE}/node_modules (scripts/setup.sh --test runs npm ci there)")
        return 1

    def body(base, records):
        wait_for(lambda: committed_records(base) >= records, 120, f"the daemon to commit all {records} records")
        wait_for(lambda: fetch(base, "/readyz")[0] == 200, 60, "the daemon to be ready")
        responses = exercise(base)
        doc_path = os.path.join(args.work_dir, "openapi.json")
        with open(doc_path, "w") as f:
            f.write(fetch(base, "/api/v1/openapi.json")[2])
        resp_path = os.path.join(args.work_dir, "responses.json")
        with open(resp_path, "w") as f:
            json.dump(responses, f)
        v = subprocess.run([args.node, os.path.join(HERE, "validate.mjs"), doc_path, resp_path],
                           cwd=HERE, capture_output=True, text=True, timeout=300)
        print(v.stdout, end="")
        check(v.returncode == 0, f"validate.mjs exited {v.returncode}: {v.stderr[-2000:]}")
    return in_demo("api.openapi", args.wijkpuls, args.work_dir, ("--records", "6000"), body)


if __name__ == "__main__":
    sys.exit(main())
