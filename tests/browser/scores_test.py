#!/usr/bin/env python3
"""Browser test of the scores page (GET /scores).

Starts `wijkpuls demo --duration 0 --records 8000` (a small season: its indices are OK, low
precision and suppressed, and every wijk is projected imprecise at the close), waits until the
daemon has committed every record, then drives headless Chromium over the DevTools protocol and
checks the page against the API:
- every unit's row for each index (VI, SI, FI): the score and the interval the chart draws, its
  status (low precision hatched; suppressed as "not enough responses", no point, never a 0), the
  figures, the delta, and "imprecise at close" exactly for the wijken the API says;
- the city, then each gebied above its wijken; the gebied filter;
- the focus wijken of the methodology, each with the API's probability of being above its target;
- a wijk's drill-down: its themes and indicators with the API's scores and intervals;
- the pace chart of the city: the last cumulative net of each instrument equals the quota API's net;
- the provisional label and the watermark; links from the fieldwork and quality pages;
- at 390 px: no two text boxes overlap (DOM bounding boxes) and nothing is wider than the screen;
- no errors, nothing loaded from elsewhere.
Writes screenshots (desktop and phone); stops the demo with SIGINT (exit 0).
Only the standard library and the Debian `chromium` package; every wait has a deadline.
"""
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from page_test import (Tab, check, check_no_errors_and_no_foreign_requests,  # noqa: E402
                       committed_records, get, run, wait_for)

RECORDS = 8000


def settled(base, records):
    wait_for(lambda: committed_records(base) >= records, 90, f"the daemon to commit all {records} records")
    previous = None

    def probe():
        nonlocal previous
        body = get(base + "/api/v1/scores") + get(base + "/api/v1/quotas")
        same = body == previous
        previous = body
        return same
    wait_for(probe, 30, "the scores and quotas to stop changing", interval=1.0)
    return json.loads(get(base + "/api/v1/scores")), json.loads(get(base + "/api/v1/quotas"))


def one(x):
    """As the page rounds: one decimal."""
    return f"{abs(x):,.1f}"


def check_forest(tab, scores):
    units = scores["units"]
    statuses = set()
    for index in ("VI", "SI", "FI"):
        tab.eval(f"document.querySelector('#tabs button[data-index=\"{index}\"]').click()")
        tab.wait(f"document.querySelector('#tabs button[data-index=\"{index}\"]').getAttribute('aria-pressed') === 'true'",
                 5, f"the {index} tab")
        rows = tab.eval("""[...document.querySelectorAll('#forest .frow')].map(r => ({
            unit: r.dataset.unit, score: r.dataset.score, lo: r.dataset.lo, hi: r.dataset.hi, status: r.dataset.status,
            figs: r.querySelector('.figs').innerText, hatched: !!r.querySelector('rect[fill="url(#hatch)"]'),
            point: !!r.querySelector('circle'), focus: r.classList.contains('is-focus')}))""")
        keys = [r["unit"] for r in rows]
        # The order: the city, then each gebied followed by its wijken.
        want = ["stad/stad"]
        for g in (u for u in units if u["level"] == "gebied"):
            want.append(f"gebied/{g['unit']}")
            want += [f"wijk/{w['unit']}" for w in units if w["level"] == "wijk" and w["gebied"] == g["unit"]]
        check(keys == want, f"{index}: the rows are not the city, then each gebied above its wijken "
                            f"(first differences: {[(a, b) for a, b in zip(keys, want) if a != b][:3]}, {len(keys)} vs {len(want)})")
        by_key = {f"{u['level']}/{u['unit']}": u for u in units}
        for r in rows:
            u = by_key[r["unit"]]
            s = next(x for x in u["indices"] if x["id"] == index)
            where = f"{index} {r['unit']}"
            statuses.add(s["status"])
            check(r["status"] == s["status"], f"{where}: status {r['status']}, the API {s['status']}")
            if s["has_value"]:
                check(float(r["score"]) == s["score"] and float(r["lo"]) == s["ci_low"] and float(r["hi"]) == s["ci_high"],
                      f"{where}: the chart draws {r['score']} [{r['lo']}, {r['hi']}], the API {s['score']} [{s['ci_low']}, {s['ci_high']}]")
                check(r["point"], f"{where}: no point drawn")
                check(f"{one(s['score'])} ± {one(s['half_width'])}" in r["figs"],
                      f"{where}: the figures say {r['figs']!r}, the API {s['score']} ± {s['half_width']}")
                bands = {"MUCH_WORSE": "much worse", "WORSE": "worse", "AVERAGE": "average", "BETTER": "better",
                         "MUCH_BETTER": "much better"}
                check(re.search(rf"± {re.escape(one(s['half_width']))} {bands[s['band']]}\b", r["figs"]),
                      f"{where}: band {s['band']} not shown in {r['figs']!r}")
                check(r["hatched"] == (s["status"] == "LOW_PRECISION"),
                      f"{where}: hatched {r['hatched']} for status {s['status']}")
                if s.get("has_reference"):
                    sign = "+" if s["delta"] > 0 else "−" if s["delta"] < 0 else "±"
                    check(f"Δ {sign}{one(s['delta'])}" in r["figs"], f"{where}: no delta {s['delta']} in {r['figs']!r}")
            else:
                check(r.get("score") is None and not r["point"], f"{where}: a suppressed score is drawn")
                check("not enough responses" in r["figs"], f"{where}: suppressed shows {r['figs']!r}")
                check(not re.search(r"(^|\s)0(\.0)?(\s|$)", r["figs"]), f"{where}: suppressed shows a 0: {r['figs']!r}")
                # The index's own n is 0 when none of its themes is used; the page names the answers that exist.
                themes = {t["id"] for t in u["themes"] if t["parent"] == index}
                most = max([i.get("n", 0) for i in u["indicators"] if i["parent"] in themes] + [0])
                said = f"(at most {most:,} answers per indicator)" if most else "(no answers yet)"
                check(said in r["figs"] and "n = 0" not in r["figs"],
                      f"{where}: suppressed with up to {most} answers per indicator shows {r['figs']!r}")
            if u["level"] == "wijk":
                imprecise = not s["has_value_at_close"] or s["half_width_at_close"] > scores["precision_target"]
                shown = "imprecise at close" in r["figs"]
                # A suppressed score shows the wijk's flag; a score with a value its own projection.
                want_flag = (u["precision_at_close"] == "IMPRECISE_AT_CLOSE") if not s["has_value"] else imprecise
                check(shown == want_flag, f"{where}: 'imprecise at close' shown {shown}, expected {want_flag}")
                check(r["focus"] == bool(u.get("focus")), f"{where}: focus highlight {r['focus']}")
            else:
                check("imprecise at close" not in r["figs"], f"{where}: a {u['level']} is never projected")
    for st in ("OK", "LOW_PRECISION", "SUPPRESSED"):
        check(st in statuses, f"the demo season shows no index {st}: the test cannot check its rendering")


def check_filter(tab, scores):
    gebied = next(u for u in scores["units"] if u["level"] == "gebied")
    tab.eval(f"(() => {{ const s = document.getElementById('f-gebied'); s.value = {json.dumps(gebied['unit'])};"
             " s.dispatchEvent(new Event('change')); })()")
    want = ["stad/stad", f"gebied/{gebied['unit']}"] + [f"wijk/{w['unit']}" for w in scores["units"]
                                                         if w["level"] == "wijk" and w["gebied"] == gebied["unit"]]
    compact = json.dumps(json.dumps(want, separators=(",", ":")))
    tab.wait(f"JSON.stringify([...document.querySelectorAll('#forest .frow')].map(r => r.dataset.unit)) === {compact}",
             5, f"the rows of gebied {gebied['unit']} only")
    tab.eval("(() => { const s = document.getElementById('f-gebied'); s.value = ''; s.dispatchEvent(new Event('change')); })()")
    check(tab.eval("document.getElementById('f-gebied').labels.length") > 0, "the gebied filter has no label")


def check_focus(tab, scores):
    focus = [u for u in scores["units"] if u.get("focus")]
    check(len(focus) == 5, f"the API has {len(focus)} focus wijken, the default methodology 5")
    cards = tab.eval("""[...document.querySelectorAll('#focus [data-focus]')].map(c => ({
        unit: c.dataset.focus, text: c.innerText, p: [...c.querySelectorAll('[data-p]')].map(e => e.dataset.p)}))""")
    check(sorted(c["unit"] for c in cards) == sorted(u["unit"] for u in focus),
          f"focus cards {[c['unit'] for c in cards]}, the API {[u['unit'] for u in focus]}")
    for c in cards:
        u = next(x for x in focus if x["unit"] == c["unit"])
        want = [str(s["probability_above_target"]) for s in u["indices"] if s.get("has_target") and s["has_value"]]
        check([str(float(p)) for p in c["p"]] == [str(float(p)) for p in want],
              f"focus {c['unit']}: probabilities {c['p']}, the API {want}")
        for s in u["indices"]:
            if s.get("has_target"):
                check(f"target {one(s['target'])}" in c["text"], f"focus {c['unit']}: no target {s['target']} in {c['text']!r}")
                if s["has_value"]:
                    p = s["probability_above_target"]
                    words = "more than 99%" if p > 0.99 else "less than 1%" if p < 0.01 else f"{round(p * 100)}%"
                    check(f"{words} likely above" in c["text"], f"focus {c['unit']}: {words!r} not in {c['text']!r}")


def check_drill_down(tab, scores):
    u = next(x for x in scores["units"] if x["level"] == "wijk" and any(s["has_value"] for s in x["themes"]))
    key = f"wijk/{u['unit']}"
    tab.eval("document.querySelector('#tabs button[data-index=\"VI\"]').click()")
    tab.eval(f"document.querySelector('.frow[data-unit=\"{key}\"] button.uname').click()")
    tab.wait(f"!!document.getElementById('detail-{key}')", 5, f"the drill-down of {key}")
    check(tab.eval(f"document.querySelector('.frow[data-unit=\"{key}\"] button.uname').getAttribute('aria-expanded')") == "true",
          "the drill-down button does not say it is expanded")
    rows = tab.eval(f"[...document.getElementById('detail-{key}').querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.innerText))")
    themes = [t for t in u["themes"] if t["parent"] == "VI"]
    want = []
    for t in themes:
        want.append(t)
        want += [i for i in u["indicators"] if i["parent"] == t["id"]]
    check([r[0] for r in rows] == [s["id"] for s in want], f"{key}: drill-down rows {[r[0] for r in rows]}, the API {[s['id'] for s in want]}")
    for r, s in zip(rows, want):
        if s["has_value"]:
            check(r[1] == one(s["score"]) and r[2] == f"{one(s['ci_low'])} – {one(s['ci_high'])}",
                  f"{key} {s['id']}: shows {r[1]} {r[2]}, the API {s['score']} [{s['ci_low']}, {s['ci_high']}]")
        else:
            check(r[2] == "not enough responses", f"{key} {s['id']}: a suppressed score shows {r[2]!r}")
        check(r[4] == f"{s['n']:,}", f"{key} {s['id']}: n {r[4]}, the API {s['n']}")
    tab.eval(f"document.querySelector('.frow[data-unit=\"{key}\"] button.uname').click()")
    tab.wait(f"!document.getElementById('detail-{key}')", 5, "the drill-down to close")


def check_pace(tab, base, quotas):
    tab.wait("document.querySelectorAll('#pace svg').length === 2", 10, "the two pace charts")
    pace = json.loads(get(base + "/api/v1/pace/stad/stad"))
    labels = tab.eval("[...document.querySelectorAll('#pace svg')].map(s => s.getAttribute('aria-label'))")
    for inst, label in zip(pace["instruments"], labels):
        last = inst["days"][-1]
        net = next(i["net"] for i in quotas["stad"]["instruments"] if i["instrument"] == inst["instrument"])
        check(last["cumulative"] == net, f"pace {inst['instrument']}: cumulative {last['cumulative']}, quota net {net}")
        check(f"{net} net by {last['date']}" in label, f"pace chart {inst['instrument']} says {label!r}, want {net} net by {last['date']}")
        target = next(i["target"] for i in quotas["stad"]["instruments"] if i["instrument"] == inst["instrument"])
        check(inst["target"] == target and f"target {target}" in label, f"pace target {inst['target']} / {label!r}, quota {target}")


def check_header(tab, scores):
    text = tab.eval("document.querySelector('header').innerText")
    check(re.search(r"Wijkprofiel 2024 · fieldwork 2023", text), f"the header does not say what the wave is: {text!r}")
    check(tab.eval("!document.getElementById('provisional').hidden") == scores["provisional"], "the provisional label")
    check("provisional" in tab.eval("document.getElementById('provline').innerText").lower(), "no provisional line")
    check(tab.eval("document.getElementById('watermark').getAttribute('datetime')") == scores["watermark"], "the watermark")


OVERLAPS = """(() => {
  // The boxes of the text itself (a Range over each visible text node, one box per line it takes);
  // pairs of boxes of different text nodes that overlap by more than a pixel each way.
  const boxes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const el = n.parentElement;
    if (!el || el.closest('.sr, script, style, [hidden]') || getComputedStyle(el).visibility === 'hidden') continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    for (const r of range.getClientRects()) {
      if (r.width > 0 && r.height > 0) boxes.push({n, r, name: el.tagName + '.' + el.className + ':' + n.textContent.trim().slice(0, 30)});
    }
  }
  const bad = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.n === b.n) continue;
    const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
    const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
    if (w > 1 && h > 1) bad.push([a.name, b.name]);
  }
  return {count: boxes.length, bad: bad.slice(0, 5), nbad: bad.length,
          wide: document.documentElement.scrollWidth, view: window.innerWidth};
})()"""


def check_phone(browser, base, screenshot):
    tab = Tab(browser)
    tab.send("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    tab.navigate(base + "/scores")
    tab.wait("document.querySelectorAll('#forest .frow').length > 80 && document.querySelectorAll('#pace svg').length === 2",
             20, "the scores page at 390 px")
    r = tab.eval(OVERLAPS)
    check(r["count"] > 300, f"only {r['count']} text boxes measured")
    check(r["nbad"] == 0, f"at 390 px {r['nbad']} pairs of text boxes overlap, e.g. {r['bad']}")
    check(r["wide"] <= r["view"], f"at 390 px the page is {r['wide']} px wide")
    tab.screenshot(screenshot, width=390)
    check_no_errors_and_no_foreign_requests(tab, base)


def checks(browser, base, records, args):
    scores, quotas = settled(base, records)
    tab = Tab(browser)
    tab.navigate(base + "/scores")
    tab.wait(f"document.querySelectorAll('#forest .frow').length === {len(scores['units'])}", 20, "every unit's row")
    check_header(tab, scores)
    check_forest(tab, scores)
    check_filter(tab, scores)
    check_focus(tab, scores)
    check_drill_down(tab, scores)
    check_pace(tab, base, quotas)
    tab.eval("window.scrollTo(0, 0)")
    tab.screenshot(args.screenshot)
    check_no_errors_and_no_foreign_requests(tab, base)
    print(f"scores page checks passed; screenshot {args.screenshot}")
    phone = args.screenshot.replace(".png", "-phone.png")
    check_phone(browser, base, phone)
    print(f"phone layout passed; screenshot {phone}")
    for page in ("/", "/quality"):
        t = Tab(browser)
        t.navigate(base + page)
        t.wait("!!document.querySelector('header a[href=\"/scores\"]')", 20, f"a link to /scores in the header of {page}")
    check(json.loads(get(base + "/api/v1/scores")) == scores, "the API changed while the page was checked")


def main():
    return run("browser.scores", __doc__.split("\n")[0], checks, ("--records", str(RECORDS)))


if __name__ == "__main__":
    sys.exit(main())
