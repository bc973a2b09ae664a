#!/usr/bin/env python3
"""Browser test of the data-quality page (GET /quality).

Starts `wijkpuls demo --duration 0`, waits until the daemon has committed every simulated record,
then drives headless Chromium over the DevTools protocol and checks the page against
/api/v1/quality: one interviewer row per interviewer, the simulator's bad interviewer `int-13`
(many "don't know" answers, short interviews) marked and first under the default sort, sorting by
keyboard, the totals, the gebied filter of the wijken, that it asks again with If-None-Match and
gets 304, that it loads nothing from elsewhere and logs no errors, the link from the fieldwork
page, and the bearer-token flow. Writes a screenshot; stops the demo with SIGINT (exit 0).

The demo, Chromium over the DevTools pipe and the error checks are page_test.py's (the same
folder); only the standard library and the Debian `chromium` package. Every wait has a deadline.
"""
import base64
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from page_test import (Tab, check, check_no_errors_and_no_foreign_requests,  # noqa: E402
                       committed_records, get, run, wait_for)

BAD_INTERVIEWER = "int-13"
TOKEN = "quality-test-token-0123456789"
ROWS = "#interviewers tbody[data-interviewer]"
VISIBLE_INTERVIEWERS = f"[...document.querySelectorAll('{ROWS}')].filter(t => !t.hidden).map(t => t.dataset.interviewer)"
VISIBLE_WIJKEN = "[...document.querySelectorAll('#wijken tbody[data-wijk]')].filter(t => !t.hidden).map(t => t.dataset.wijk)"


def settled_quality(base, records):
    """/api/v1/quality (and /api/v1/quotas) once every record is committed and nothing changes any more."""
    wait_for(lambda: committed_records(base) >= records, 90, f"the daemon to commit all {records} records")
    previous = None

    def probe():
        nonlocal previous
        body = get(base + "/api/v1/quality")
        same = body == previous
        previous = body
        return same and body
    quality = json.loads(wait_for(probe, 30, "/api/v1/quality to stop changing", interval=1.0))
    check(quality["total"]["counted"] > 0, "the API counts no responses after the whole season")
    check(any(i["interviewer"] == BAD_INTERVIEWER for i in quality["by_interviewer"]),
          f"the API lists no {BAD_INTERVIEWER}: the simulator's bad interviewer is missing")
    return quality, json.loads(get(base + "/api/v1/quotas"))


def pct(text):
    """'12.5%' -> 0.125"""
    return float(text.strip().rstrip("%").replace(",", "")) / 100


def count(text):
    return int(text.strip().replace(",", ""))


def mmss(seconds):
    return f"{seconds // 60}:{seconds % 60:02d}"


def close(shown, want, what):
    """A rate shown with one decimal in percent agrees with the API's."""
    check(abs(pct(shown) - want) <= 0.0005 + 1e-9, f"{what}: the page shows {shown}, the API {want:.4%}")


def check_interviewers(tab, quality):
    api = {i["interviewer"]: i for i in quality["by_interviewer"]}
    shown = tab.eval(VISIBLE_INTERVIEWERS)
    check(sorted(shown) == sorted(api) and len(shown) == len(api),
          f"the page shows {len(shown)} interviewer rows, the API has {len(api)}: "
          f"extra {sorted(set(shown) - set(api))[:5]}, missing {sorted(set(api) - set(shown))[:5]}")
    check(shown[0] == BAD_INTERVIEWER, f"the default sort puts {shown[0]} first, not {BAD_INTERVIEWER} (order {shown[:5]})")
    rows = tab.eval(f"""Object.fromEntries([...document.querySelectorAll('{ROWS}')].map(t => [t.dataset.interviewer, {{
        outlier: t.dataset.outlier, text: t.querySelector('tr.row').innerText,
        marked: [...t.querySelectorAll('td.out')].map(c => c.dataset.metric),
        cells: Object.fromEntries([...t.querySelectorAll('td[data-metric]')].map(c => [c.dataset.metric, (c.querySelector('.x') || c).textContent.trim()])),
        counted: t.querySelector('tr.row td .v').textContent }}]))""")
    bad = rows[BAD_INTERVIEWER]
    check(bad["outlier"] == "true", f"{BAD_INTERVIEWER} is not marked as an outlier")
    check("Marked" in bad["text"], f"{BAD_INTERVIEWER}'s row does not say it is marked (text {bad['text'][:120]!r})")
    check("dk" in bad["marked"] and "duration" in bad["marked"],
          f"{BAD_INTERVIEWER}'s don't-know rate and duration should both be marked; marked: {bad['marked']}")
    marked = sorted(k for k, r in rows.items() if r["outlier"] == "true")
    check(len(marked) <= 3, f"the page marks {len(marked)} interviewers ({marked}): it should single out, not cry wolf")
    for iid, i in api.items():
        r = rows[iid]
        check(count(r["counted"]) == i["counted"], f"{iid}: counted {r['counted']}, the API {i['counted']}")
        close(r["cells"]["flag_rate"], i["flag_rate"], f"{iid} flag rate")
        close(r["cells"]["dk"], i["dont_know_rate"], f"{iid} don't-know rate")
        close(r["cells"]["refusal"], i["refusal_rate"], f"{iid} refusal rate")
        if "duration_seconds" in i:
            check(r["cells"]["duration"] == mmss(i["duration_seconds"]["median"]),
                  f"{iid}: median duration {r['cells']['duration']!r}, the API {i['duration_seconds']['median']} s")
    first = tab.eval("(document.querySelector('#attention [data-attention]') || {dataset: {}}).dataset.attention || null")
    check(first == f"i-{BAD_INTERVIEWER}",
          f"the first item under 'Needs attention' is {first}, not {BAD_INTERVIEWER}")
    return marked


def check_sorting(tab, quality):
    """Sorting by keyboard: Enter on a column heading's button; aria-sort follows."""
    by_dk = sorted(quality["by_interviewer"], key=lambda i: -i["dont_know_rate"])
    for direction, want_first in (("descending", by_dk[0]["interviewer"]), ("ascending", by_dk[-1]["interviewer"])):
        tab.eval("document.querySelector('#i-head button[data-sort=\"dk\"]').focus()")
        tab.press("Enter", "Enter", 13, "\r")
        tab.wait(f"document.querySelector('#i-head button[data-sort=\"dk\"]').closest('th').getAttribute('aria-sort') === '{direction}'",
                 5, f"the don't-know column to be sorted {direction}")
        order = tab.eval(VISIBLE_INTERVIEWERS)
        rates = {i["interviewer"]: i["dont_know_rate"] for i in quality["by_interviewer"]}
        check(rates[order[0]] == rates[want_first], f"sorted by don't know {direction}: {order[0]} first, want {want_first}")
        check(tab.eval("document.activeElement.dataset.sort") == "dk", "sorting lost the keyboard focus")
    tab.eval("document.querySelector('#i-head button[data-sort=\"risk\"]').click()")
    tab.wait(f"{VISIBLE_INTERVIEWERS}[0] === '{BAD_INTERVIEWER}'", 5, f"the risk sort to put {BAD_INTERVIEWER} first again")


def check_totals(tab, quality):
    t, un = quality["total"], quality["unattributed_rejected"]
    shown = tab.eval("""(() => {
      const txt = (sel) => { const e = document.querySelector(sel); return e ? e.textContent : null; };
      const totals = Object.fromEntries([...document.querySelectorAll('#totals [data-total]')].map(e => [e.dataset.total, e.textContent]));
      const flags = Object.fromEntries([...document.querySelectorAll('#totals [data-flag]')].map(r => [r.dataset.flag, r.querySelector('td').textContent]));
      const rejects = Object.fromEntries([...document.querySelectorAll('#totals [data-reject]')].map(r => [r.dataset.reject,
        Object.fromEntries([...r.querySelectorAll('[data-where]')].map(c => [c.dataset.where, c.textContent]))]));
      const modes = Object.fromEntries([...document.querySelectorAll('#modes tbody[data-mode]')].map(b => [b.dataset.mode, {
        counted: b.querySelector('td .v').textContent,
        duration: b.querySelector('td[data-metric=duration]').innerText }]));
      return { totals, flags, rejects, modes, items: Object.fromEntries([...document.querySelectorAll('#dropped [data-item]')].map(
        li => [li.dataset.item, li.lastElementChild.textContent])), unknown: txt('[data-total=unknown_items]'),
        other: txt('[data-total=other_instrument_items]') };
    })()""")
    tot = shown["totals"]
    for key in ("counted", "accepted", "flagged", "answers"):
        check(count(tot[key]) == t[key], f"total {key}: the page shows {tot[key]}, the API {t[key]}")
    close(tot["flag_rate"], t["flag_rate"], "total flag rate")
    close(tot["dont_know_rate"], t["dont_know_rate"], "total don't-know rate")
    close(tot["refusal_rate"], t["refusal_rate"], "total refusal rate")
    for flag, n in t["flags"].items():
        check(count(shown["flags"].get(flag, "-1")) == n, f"flag {flag}: the page shows {shown['flags'].get(flag)}, the API {n}")
    reasons = set(t["rejected"]) | set(un)
    check(set(shown["rejects"]) == reasons, f"rejected reasons on the page {sorted(shown['rejects'])}, in the API {sorted(reasons)}")
    for r in reasons:
        a, u = t["rejected"].get(r, 0), un.get(r, 0)
        got = tuple(count(shown["rejects"][r][k]) for k in ("wijk", "unattributed", "total"))
        check(got == (a, u, a + u), f"rejected {r}: the page shows {got}, the API {(a, u, a + u)}")
    all_rejected = t["rejected_total"] + sum(un.values())
    check(count(tot["rejected"]) == all_rejected, f"rejected in all: the page shows {tot['rejected']}, the API {all_rejected}")
    for g in quality["by_mode"]:
        mode = g["mode"]
        m = shown["modes"].get(mode)
        check(m and count(m["counted"]) == g["counted"], f"mode {mode}: counted {m and m['counted']}, the API {g['counted']}")
        d = g.get("duration_seconds")
        want = f"{mmss(d['median'])} ({mmss(d['q1'])}–{mmss(d['q3'])})" if d else "not timed"
        check(want in m["duration"], f"mode {mode}: duration {m['duration']!r}, the API {want!r}")
    check(shown["items"] == {k: f"{v:,}" for k, v in quality["dropped_answers_by_item"].items()},
          f"dropped answers by item differ: page {shown['items']}, API {quality['dropped_answers_by_item']}")
    check(count(shown["unknown"]) == quality["unknown_items"], "unknown items differ from the API")
    check(count(shown["other"]) == quality["other_instrument_items"], "other-instrument items differ from the API")


def choose(tab, select_id, value):
    tab.eval(f"(() => {{ const s = document.getElementById({json.dumps(select_id)}); s.focus();"
             f" s.value = {json.dumps(value)}; if (s.value !== {json.dumps(value)}) throw new Error('no option ' + "
             f"{json.dumps(value)}); s.dispatchEvent(new Event('change', {{bubbles: true}})); }})()")
    return tab.eval(VISIBLE_WIJKEN)


def check_gebied_filter(tab, quality, quotas):
    ids = [w["wijk"] for w in quality["wijken"]]
    check(sorted(tab.eval(VISIBLE_WIJKEN)) == sorted(ids) and len(ids) == 71, "the wijken table does not show all 71 wijken")
    for g in quotas["gebieden"]:
        want = sorted(w["wijk"] for w in quality["wijken"] if w["gebied"] == g["gebied"])
        check(want == sorted(g["wijken"]), f"gebied {g['gebied']}: /api/v1/quality and /api/v1/quotas disagree on its wijken")
        shown = sorted(choose(tab, "f-gebied", g["gebied"]))
        check(shown == want, f"gebied filter {g['gebied']}: shows {shown[:6]}…, wants {want[:6]}…")
        label = tab.eval("document.getElementById('f-gebied').selectedOptions[0].textContent")
        check(g["gebied_name"] in label, f"gebied option {label!r} does not name {g['gebied_name']!r}")
    check("gebied=" in tab.eval("location.search"), "the gebied filter is not in the URL")
    check(len(choose(tab, "f-gebied", "")) == 71, "clearing the gebied filter does not show all 71 wijken")
    labelled = tab.eval("[...document.querySelectorAll('form.filters select, form.filters input')].every(e => e.labels.length > 0)")
    check(labelled, "a filter control has no <label>")


def quality_responses(tab):
    return [e["response"]["status"] for e in tab.events("Network.responseReceived")
            if "/api/v1/quality" in e["response"]["url"]]


def check_page(browser, base, quality, quotas, screenshot):
    tab = Tab(browser)
    tab.navigate(base + "/quality")
    loaded = time.monotonic()
    n = len(quality["by_interviewer"])
    tab.wait(f"document.querySelectorAll('{ROWS}').length === {n} && "
             "document.querySelectorAll('#wijken tbody[data-wijk]').length === 71", 20, f"{n} interviewer rows and 71 wijk rows")
    marked = check_interviewers(tab, quality)
    check_totals(tab, quality)
    check_sorting(tab, quality)
    check_gebied_filter(tab, quality, quotas)
    # It asks again by itself with If-None-Match and gets 304, without rebuilding the rows.
    tab.eval(f"window.probeRow = document.querySelector('{ROWS} tr.row')")
    # The page polls every 10 s from its first answer; on a loaded machine the checks above may
    # take long, so the deadline is two poll periods and a margin from now, not from the load.
    statuses = wait_for(lambda: tab.send("Runtime.evaluate", {"expression": "1"}) and
                        len(quality_responses(tab)) >= 2 and quality_responses(tab),
                        25, "the page to ask /api/v1/quality a second time")
    check(statuses[1] == 304, f"the page's second /api/v1/quality got {statuses[1]}, not 304 (all: {statuses}; "
          f"{time.monotonic() - loaded:.1f} s after the load)")
    check(len(tab.events("Page.frameNavigated")) == 1, "the page reloaded itself")
    check(tab.eval("document.contains(window.probeRow)"), "a refresh with unchanged figures replaced the rows")
    tab.wait("!document.getElementById('live').classList.contains('stale')", 5, "the live indicator after the refresh")
    check_no_errors_and_no_foreign_requests(tab, base)
    tab.eval("window.scrollTo(0, 0)")
    tab.screenshot(screenshot)
    return marked


def check_link_from_fieldwork_page(browser, base):
    tab = Tab(browser)
    tab.navigate(base + "/")
    tab.wait("!!document.querySelector('header a[href=\"/quality\"]')", 20, "a link to /quality in the fieldwork page's header")
    tab.eval("document.querySelector('header a[href=\"/quality\"]').click()")
    tab.wait("location.pathname === '/quality' && document.querySelectorAll('#interviewers tbody[data-interviewer]').length > 0",
             20, "the link to open the quality page")
    check(tab.eval("document.querySelector('header a[aria-current=page]').getAttribute('href')") == "/quality",
          "the quality page's header does not mark itself as the current page")
    check_no_errors_and_no_foreign_requests(tab, base)


def check_token_flow(browser, base):
    """With /api/ answering 401, the page asks for the token, keeps it in sessionStorage and sends it."""
    tab = Tab(browser)
    seen = []

    def on_event(m):
        if m.get("sessionId") != tab.session or m["method"] != "Fetch.requestPaused":
            return
        p = m["params"]
        auth = next((v for k, v in p["request"]["headers"].items() if k.lower() == "authorization"), None)
        seen.append(auth)
        if auth == f"Bearer {TOKEN}":
            browser.post("Fetch.continueRequest", {"requestId": p["requestId"]}, tab.session)
        else:
            body = base64.b64encode(b'{"error":"a bearer token is required"}').decode()
            browser.post("Fetch.fulfillRequest", {"requestId": p["requestId"], "responseCode": 401, "body": body,
                         "responseHeaders": [{"name": "WWW-Authenticate", "value": "Bearer"},
                                             {"name": "Content-Type", "value": "application/json"}]}, tab.session)
    browser.on_event = on_event
    try:
        tab.send("Fetch.enable", {"patterns": [{"urlPattern": "*/api/*"}]})
        tab.navigate(base + "/quality")
        tab.wait("!document.getElementById('auth').hidden && document.activeElement.id === 'token'", 20,
                 "the token form, focused, after a 401")
        check(tab.eval(f"document.querySelectorAll('{ROWS}').length") == 0, "figures shown without a token")
        for token, outcome in (("wrong-token", "refused"), (TOKEN, "rows")):
            tab.eval("document.getElementById('token').focus()")
            tab.send("Input.insertText", {"text": token})
            tab.press("Enter", "Enter", 13, "\r")
            if outcome == "refused":
                tab.wait("document.getElementById('auth-msg').textContent.includes('refused')", 20,
                         "the page to say the token was refused")
        tab.wait(f"document.querySelectorAll('{ROWS}').length > 0 && document.getElementById('auth').hidden",
                 20, "the interviewers once the token is given")
        check(tab.eval("sessionStorage.getItem('wijkpuls.token')") == TOKEN, "the token is not kept in sessionStorage")
        check(f"Bearer {TOKEN}" in seen, f"the API was never called with the token (saw {seen})")
    finally:
        browser.on_event = None


def checks(browser, base, records, args):
    quality, quotas = settled_quality(base, records)
    print(f"{records} records committed; {quality['total']['counted']} counted, "
          f"{len(quality['by_interviewer'])} interviewers")
    marked = check_page(browser, base, quality, quotas, args.screenshot)
    print(f"page checks passed (marked interviewers: {', '.join(marked)}); screenshot {args.screenshot}")
    check_link_from_fieldwork_page(browser, base)
    check_token_flow(browser, base)
    print("link and token flow passed")
    check(json.loads(get(base + "/api/v1/quality")) == quality, "the API changed while the page was checked")


def main():
    return run("browser.quality", __doc__.split("\n")[0], checks)


if __name__ == "__main__":
    sys.exit(main())
