#!/usr/bin/env python3
"""Browser test of the fieldwork page (GET /).

Starts `wijkpuls demo --duration 0` (mock Kafka cluster, simulated season, daemon), waits until
the daemon has committed every simulated record, then drives headless Chromium over the DevTools
protocol and checks the page against /api/v1/quotas: 71 wijken, the gebied and status filters
(through the real <select> controls and through ?gebied=&status= links), the cells behind, the
watermark, net/target figures, the risk order, that it polls again, that it loads nothing from
elsewhere and logs no errors, and the bearer-token flow (the 401 is made by intercepting the
page's requests, since the demo has no token). Writes a screenshot.

Only the Python standard library and the Debian `chromium` package: the DevTools protocol runs
over a pipe (--remote-debugging-pipe: fd 3 in, fd 4 out, messages end in NUL), so no WebSocket
client and no port is needed. Every wait has a deadline. Exit 0 when everything holds.
"""
import argparse
import base64
import fcntl
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

STATUS_WORD = {"BEHIND": "Behind", "AT_RISK": "At risk", "EARLY": "Early", "ON_TRACK": "On track",
               "COMPLETE": "Complete"}
TOKEN = "browser-test-token-0123456789"


class Failure(Exception):
    """A check of the page failed; the message says which and why."""


def check(cond, message):
    if not cond:
        raise Failure(message)


def wait_for(probe, timeout, what, interval=0.2):
    """Calls probe() until it returns something truthy; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise Failure(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


# ---- the demo --------------------------------------------------------------------------------

class Demo:
    """`wijkpuls demo` on a free port; its stdout gives the URL and the number of records."""

    def __init__(self, binary, state_dir, log_path, extra_args=()):
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "demo", "--duration", "0", "--listen", "127.0.0.1:0", "--state-dir", state_dir, *extra_args],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def banner(self):
        """(base URL, record count) from the demo's banner."""
        def probe():
            check(self.proc.poll() is None, f"wijkpuls demo exited with {self.proc.returncode}")
            text = "".join(self.lines)
            url = re.search(r"fieldwork page\s+(http://\S+?)/?\s", text)
            records = re.search(r"season of (\d+) records", text)
            return (url.group(1), int(records.group(1))) if url and records else None
        return wait_for(probe, 60, "the demo's banner with the page URL")

    def stop(self):
        """SIGINT; the demo must exit 0."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Failure("wijkpuls demo did not stop within 60 s of SIGINT")
        finally:
            self.log.close()
        check(code == 0, f"wijkpuls demo exited with {code} after SIGINT (want 0)")


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def committed_records(base):
    text = get(base + "/metrics")
    return sum(float(m.group(1)) for m in re.finditer(r"^wijkpuls_records_total\{[^}]*\} (\S+)$", text, re.M))


def settled_quotas(base, records):
    """/api/v1/quotas once every simulated record is committed and the answer no longer changes."""
    wait_for(lambda: committed_records(base) >= records, 90, f"the daemon to commit all {records} records")
    previous = None

    def probe():
        nonlocal previous
        body = get(base + "/api/v1/quotas")
        same = body == previous
        previous = body
        return same and body
    body = wait_for(probe, 30, "/api/v1/quotas to stop changing", interval=1.0)
    quotas = json.loads(body)
    check(quotas["watermark"], "the API has no watermark after the whole season")
    check(quotas["stad"]["counted"] > 0, "the API counts no responses after the whole season")
    return quotas


# ---- Chromium over the DevTools pipe ---------------------------------------------------------

def _above_10(fd):
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Browser:
    """Headless Chromium; send() runs one DevTools command, events are kept in self.events."""

    def __init__(self, chromium, profile_dir, log_path):
        # Every pipe end above fd 10, so that the shell's moves to 3 and 4 cannot clobber one.
        to_chrome_r, self.to_chrome = (_above_10(fd) for fd in os.pipe())
        self.from_chrome, from_chrome_w = (_above_10(fd) for fd in os.pipe())
        args = [chromium, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--disable-quic", "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", f"--user-data-dir={profile_dir}", "--window-size=1600,1000",
                "about:blank"]
        # bash (dash takes single-digit fds only) puts the pipe ends on fds 3 and 4 for Chromium.
        shell = f'exec "$@" 3<&{to_chrome_r} 4>&{from_chrome_w} {to_chrome_r}<&- {from_chrome_w}>&-'
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(["/bin/bash", "-c", shell, "chromium"] + args,
                                     pass_fds=(to_chrome_r, from_chrome_w), stdout=self.log, stderr=self.log)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.on_event = None

    def _write(self, message):
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self.to_chrome, data):]

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            check(left > 0, "Chromium did not answer in time")
            ready, _, _ = select.select([self.from_chrome], [], [], left)
            if ready:
                chunk = os.read(self.from_chrome, 1 << 20)
                check(chunk, f"Chromium closed the DevTools pipe (exit {self.proc.poll()})")
                self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def post(self, method, params=None, session=None):
        """Sends a command without waiting for its answer; returns its id."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._write(message)
        return self.next_id

    def send(self, method, params=None, session=None, timeout=30):
        wanted = self.post(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == wanted:
                check("error" not in m, f"DevTools {method}: {m.get('error')}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)
                if self.on_event:
                    self.on_event(m)

    def close(self):
        try:
            self.post("Browser.close")
            self.proc.wait(timeout=15)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        for fd in (self.to_chrome, self.from_chrome):
            os.close(fd)
        self.log.close()


class Tab:
    """One page target, attached in flat mode."""

    def __init__(self, browser):
        self.b = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1600, "height": 1000, "deviceScaleFactor": 1, "mobile": False})

    def send(self, method, params=None, timeout=30):
        return self.b.send(method, params, self.session, timeout)

    def eval(self, expression):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise Failure(f"page script failed: {r['exceptionDetails'].get('exception', {}).get('description')}"
                          f" in: {expression[:200]}")
        return r["result"].get("value")

    def wait(self, expression, timeout, what):
        """Waits until expression is truthy; throwing counts as not yet (the page may still be loading)."""
        guarded = f"(() => {{ try {{ return ({expression}); }} catch (e) {{ return false; }} }})()"
        return wait_for(lambda: self.eval(guarded), timeout, what, interval=0.1)

    def navigate(self, url):
        self.send("Page.navigate", {"url": url})

    def events(self, method):
        return [e["params"] for e in self.b.events if e.get("sessionId") == self.session and e["method"] == method]

    def press(self, key, code, keycode, text=None):
        for kind in ("keyDown", "keyUp"):
            params = {"type": kind, "key": key, "code": code, "windowsVirtualKeyCode": keycode}
            if text and kind == "keyDown":
                params["text"] = text
            self.send("Input.dispatchKeyEvent", params)

    def screenshot(self, path, width=1600):
        size = self.send("Page.getLayoutMetrics")["cssContentSize"]
        shot = self.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": min(int(size["height"]) + 1, 12000), "scale": 1}})
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))


# ---- what the page shows -----------------------------------------------------------------------

VISIBLE_WIJKEN = "[...document.querySelectorAll('#wijken tbody[data-wijk]')].filter(t => !t.hidden).map(t => t.dataset.wijk)"


def differ(shown, want):
    """How a shown set of wijken differs from the wanted one, in words."""
    extra, missing = sorted(set(shown) - set(want)), sorted(set(want) - set(shown))
    return f"shows {len(shown)}, wants {len(want)}; extra {extra[:6]}, missing {missing[:6]}"


def choose(tab, select_id, value):
    """Chooses an option through the real control, as a user's change would."""
    tab.eval(f"(() => {{ const s = document.getElementById({json.dumps(select_id)}); s.focus();"
             f" s.value = {json.dumps(value)}; if (s.value !== {json.dumps(value)}) throw new Error('no option ' + "
             f"{json.dumps(value)}); s.dispatchEvent(new Event('change', {{bubbles: true}})); }})()")
    return tab.eval(VISIBLE_WIJKEN)


def check_rows_and_header(tab, quotas):
    ids = [w["wijk"] for w in quotas["wijken"]]
    check(len(ids) == 71, f"the API lists {len(ids)} wijken, the register has 71")
    shown = tab.eval(VISIBLE_WIJKEN)
    check(sorted(shown) == sorted(ids), f"unfiltered: {differ(shown, ids)}")
    check(tab.eval("document.getElementById('shown').textContent") == "Showing 71 of 71 wijken",
          "the count above the table does not say 71 of 71")
    wm = tab.eval("(() => { const t = document.getElementById('watermark'); const r = t.getBoundingClientRect();"
                  " return {text: t.textContent, dt: t.dateTime, visible: r.width > 0 && r.height > 0 && r.top >= 0"
                  " && r.bottom <= innerHeight, day: document.getElementById('asof').textContent}; })()")
    check(wm["visible"], "the watermark is not visible on the first screen")
    check(wm["dt"] == quotas["watermark"], f"the watermark's datetime is {wm['dt']!r}, the API says {quotas['watermark']!r}")
    check(re.search(r"\d{4}", wm["text"]) and "No responses" not in wm["text"],
          f"the watermark text {wm['text']!r} shows no date")
    day = re.sub(r"\s+", " ", wm["day"])
    want = f"fieldwork day {quotas['days_elapsed']} of {quotas['fieldwork_days']}"
    check(want in day, f"the header says {day.strip()!r}, not {want!r}")


def check_filters(tab, quotas):
    for g in quotas["gebieden"]:
        shown = choose(tab, "f-gebied", g["gebied"])
        check(sorted(shown) == sorted(g["wijken"]), f"gebied filter {g['gebied']}: {differ(shown, g['wijken'])}")
    check("gebied=" in tab.eval("location.search"), "the gebied filter is not in the URL")
    choose(tab, "f-gebied", "")
    tried = 0
    for status in STATUS_WORD:
        want = sorted(w["wijk"] for w in quotas["wijken"] if w["status"] == status)
        shown = choose(tab, "f-status", status)
        check(sorted(shown) == want, f"status filter {status}: {differ(shown, want)}")
        if not want:
            check(tab.eval("!document.getElementById('empty').hidden"), f"status {status}: no 'no wijk matches' text")
        tried += bool(want)
    check(tried >= 2, "the season should end with wijken in at least two statuses")
    # Both filters at once.
    g = max(quotas["gebieden"], key=lambda g: len(g["wijken"]))
    status = next(s for s in STATUS_WORD if any(w["status"] == s for w in quotas["wijken"] if w["gebied"] == g["gebied"]))
    choose(tab, "f-status", status)
    shown = choose(tab, "f-gebied", g["gebied"])
    want = sorted(w["wijk"] for w in quotas["wijken"] if w["gebied"] == g["gebied"] and w["status"] == status)
    check(sorted(shown) == want, f"gebied {g['gebied']} and status {status}: {differ(shown, want)}")
    choose(tab, "f-gebied", "")
    check(len(choose(tab, "f-status", "")) == 71, "clearing both filters does not show all 71 wijken")
    labelled = tab.eval("[...document.querySelectorAll('#filters select, #filters input')].every(e => e.labels.length > 0)")
    check(labelled, "a filter control has no <label>")


def check_cells_behind(tab, quotas):
    rows = tab.eval("Object.fromEntries([...document.querySelectorAll('#wijken tbody[data-wijk]')].map(t =>"
                    " [t.dataset.wijk, [...t.querySelectorAll('.cells-behind .cb')].map(c => c.textContent)]))")
    behind = [w for w in quotas["wijken"] if w["status"] == "BEHIND" and w["cells_behind"]]
    check(behind, "the season should end with a BEHIND wijk that has cells behind")
    for w in quotas["wijken"]:
        check(rows.get(w["wijk"]) == w["cells_behind"],
              f"{w['wijk']}: the page lists cells behind {rows.get(w['wijk'])}, the API {w['cells_behind']}")
    w = behind[0]
    text = tab.eval(f"document.querySelector('tbody[data-wijk=\"{w['wijk']}\"] .cells-behind').innerText")
    for label in w["cells_behind"]:
        check(label in text, f"{w['wijk']} is behind but its row does not show {label!r} (shows {text!r})")


def check_figures(tab, quotas):
    """Net/target, status and response rate of a few wijken, and the city, as the API has them."""
    by_risk = sorted(quotas["wijken"], key=lambda w: w["risk"])
    picks = {w["wijk"]: w for w in [by_risk[0], by_risk[1], by_risk[-1], quotas["wijken"][0], quotas["wijken"][35]]}
    for wijk, w in picks.items():
        row = tab.eval(f"""(() => {{ const t = document.querySelector('tbody[data-wijk="{wijk}"]');
          const inst = Object.fromEntries([...t.querySelectorAll('[data-instrument]')].map(e =>
            [e.dataset.instrument, [e.querySelector('.net').textContent, e.querySelector('.target').textContent]]));
          return {{inst, status: t.querySelector('.status').innerText.trim(), rr: t.querySelector('.rr').textContent,
                   name: t.querySelector('.w-name').textContent}}; }})()""")
        check(row["name"] == w["wijk_name"], f"{wijk}: name {row['name']!r}, API {w['wijk_name']!r}")
        check(row["status"] == STATUS_WORD[w["status"]], f"{wijk}: status {row['status']!r}, API {w['status']}")
        shown_rr = float(row["rr"].rstrip("%"))
        check(abs(shown_rr - 100 * w["response_rate"]) <= 0.05 + 1e-9, f"{wijk}: response rate {row['rr']}, API {w['response_rate']}")
        for iq in w["instruments"]:
            net, target = (int(x.replace(",", "")) for x in row["inst"][iq["instrument"]])
            check((net, target) == (iq["net"], iq["target"]),
                  f"{wijk} {iq['instrument']}: the page shows {net} / {target}, the API {iq['net']} / {iq['target']}")
    city = tab.eval("Object.fromEntries([...document.querySelectorAll('[data-city-instrument]')].map(e =>"
                    " [e.dataset.cityInstrument, e.querySelector('.big-num').textContent]))")
    for iq in quotas["stad"]["instruments"]:
        check(city.get(iq["instrument"]) == f"{iq['net']:,}", f"city {iq['instrument']}: {city.get(iq['instrument'])}, API {iq['net']}")


def check_risk_order(tab, quotas):
    risk = {w["wijk"]: w["risk"] for w in quotas["wijken"]}
    order = tab.eval(VISIBLE_WIJKEN)
    check(all(risk[a] <= risk[b] for a, b in zip(order, order[1:])), "the rows are not sorted riskiest first")
    check(order[0] == min(risk, key=risk.get) or risk[order[0]] == min(risk.values()), "the riskiest wijk is not first")


def check_precision(tab, quotas):
    """Issue 22: each wijk's projected precision at the close, as the API says it."""
    imprecise = sorted(w["wijk"] for w in quotas["wijken"] if w["precision_at_close"] == "IMPRECISE_AT_CLOSE")
    flagged = tab.eval("[...document.querySelectorAll('#wijken tbody[data-wijk]')].filter(t => t.querySelector('.prec-flag'))"
                       ".map(t => t.dataset.wijk).sort()")
    check(flagged == imprecise, f"rows flagged imprecise at close {flagged[:5]}…, the API {imprecise[:5]}…")
    count = tab.eval("document.querySelector('#imprecise-count b').textContent")
    check(count == f"{len(imprecise):,}", f"the city card says {count} wijken imprecise at close, the API {len(imprecise)}")
    choose(tab, "f-status", "IMPRECISE_AT_CLOSE")
    check(sorted(tab.eval(VISIBLE_WIJKEN)) == imprecise, "the 'Imprecise at close' filter does not show those wijken")
    choose(tab, "f-status", "")
    w = next((x for x in quotas["wijken"] if x["precision_at_close"] == "IMPRECISE_AT_CLOSE"), quotas["wijken"][0])
    tab.eval(f"document.querySelector('#wijken tbody[data-wijk=\"{w['wijk']}\"] button.disclose').click()")
    tab.wait(f"!!document.querySelector('#x-{w['wijk']} table.prec')", 5, f"the precision table of {w['wijk']}")
    rows = tab.eval(f"[...document.querySelectorAll('#x-{w['wijk']} table.prec tbody tr')].map(r => [...r.children].map(c => c.innerText))")
    check([r[0] for r in rows] == [p["index"] for p in w["precision"]], f"{w['wijk']}: precision rows {rows}")
    for r, p in zip(rows, w["precision"]):
        if p["has_half_width"]:
            check(r[1] == f"± {p['half_width']:.1f}", f"{w['wijk']} {p['index']}: now {r[1]!r}, the API {p['half_width']}")
        if p["has_half_width_at_close"]:
            check(r[2].endswith(f"± {p['half_width_at_close']:.1f}"), f"{w['wijk']} {p['index']}: at close {r[2]!r}, the API {p['half_width_at_close']}")
        if p["has_responses_needed"] and p["responses_needed"] > 0:
            check(f"{p['responses_needed']:,} more" in r[3], f"{w['wijk']} {p['index']}: needed {r[3]!r}, the API {p['responses_needed']}")
    tab.eval(f"document.querySelector('#wijken tbody[data-wijk=\"{w['wijk']}\"] button.disclose').click()")


def check_order_is_kept(tab, quotas):
    """New figures that would reorder the rows leave them in place until the reader asks."""
    before = tab.eval(VISIBLE_WIJKEN)
    first = before[0]
    # The next answer says the riskiest wijk is the safest: the page gets it from its own fetch.
    changed = json.loads(json.dumps(quotas))
    for w in changed["wijken"]:
        if w["wijk"] == first:
            w["risk"] = 99
    tab.eval("(() => { const text = %s; window.fetch = async () => new Response(text, {status: 200, "
             "headers: {'Content-Type': 'application/json'}}); "
             "document.dispatchEvent(new Event('visibilitychange')); })()" % json.dumps(json.dumps(changed)))
    tab.wait("!document.getElementById('resort').hidden", 10, "the 'Sort again' button after figures that reorder")
    check(tab.eval(VISIBLE_WIJKEN) == before, "new figures moved the rows without being asked")
    tab.eval("document.getElementById('resort').click()")
    tab.wait(f"{VISIBLE_WIJKEN}[{len(before) - 1}] === {json.dumps(first)}", 5, f"{first} to move last when asked")
    check(tab.eval("document.getElementById('resort').hidden"), "the 'Sort again' button stays after sorting")


def check_phone(browser, base, screenshot):
    """At 390 px the wijken are cards: no two text boxes overlap and nothing is wider than the screen."""
    from scores_test import OVERLAPS
    tab = Tab(browser)
    tab.send("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    tab.navigate(base + "/")
    tab.wait("document.querySelectorAll('#wijken tbody[data-wijk]').length === 71", 20, "71 wijk cards at 390 px")
    r = tab.eval(OVERLAPS)
    check(r["count"] > 1000, f"only {r['count']} text boxes measured")
    check(r["nbad"] == 0, f"at 390 px {r['nbad']} pairs of text boxes overlap, e.g. {r['bad']}")
    check(r["wide"] <= r["view"], f"at 390 px the page is {r['wide']} px wide")
    tab.screenshot(screenshot, width=390)


def check_long_names(browser, base):
    """At 1400 px every wijk name stays inside its column (five long names ran over the bars)."""
    tab = Tab(browser)
    tab.send("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
    tab.navigate(base + "/")
    tab.wait("document.querySelectorAll('#wijken tbody[data-wijk]').length === 71", 20, "71 wijk rows at 1400 px")
    over = tab.eval("""[...document.querySelectorAll('#wijken .w-name')].filter(n => {
        const range = document.createRange(); range.selectNodeContents(n);
        const cell = n.closest('td').getBoundingClientRect();
        return [...range.getClientRects()].some(r => r.right > cell.right + 0.5 || r.left < cell.left - 0.5);
      }).map(n => n.textContent)""")
    check(not over, f"at 1400 px these wijk names run out of their column: {over}")


def check_link(tab, base, quotas):
    """A link with ?gebied=&status= opens the filtered view."""
    g = max(quotas["gebieden"], key=lambda g: g["wijken_by_status"]["BEHIND"])
    want = sorted(w["wijk"] for w in quotas["wijken"] if w["gebied"] == g["gebied"] and w["status"] == "BEHIND")
    tab.navigate(f"{base}/?gebied={g['gebied']}&status=BEHIND")
    tab.wait(f"document.querySelectorAll('#wijken tbody[data-wijk]').length === 71 && {VISIBLE_WIJKEN}.length === {len(want)}",
             20, f"the link to gebied {g['gebied']}, status BEHIND to show {len(want)} wijken")
    shown = tab.eval(VISIBLE_WIJKEN)
    check(sorted(shown) == want, f"the link ?gebied={g['gebied']}&status=BEHIND: {differ(shown, want)}")
    check(tab.eval("document.getElementById('f-gebied').value") == g["gebied"], "the gebied select does not show the link's gebied")
    check(tab.eval("document.getElementById('f-status').value") == "BEHIND", "the status select does not show BEHIND")


def check_no_errors_and_no_foreign_requests(tab, base):
    foreign = [e["request"]["url"] for e in tab.events("Network.requestWillBeSent")
               if not e["request"]["url"].startswith(base + "/")]
    check(not foreign, f"the page loads from elsewhere: {foreign[:5]}")
    errors = [e["exceptionDetails"].get("exception", {}).get("description", e["exceptionDetails"].get("text"))
              for e in tab.events("Runtime.exceptionThrown")]
    # The daemon serves no /favicon.ico and its CSP allows no data: icon, so Chromium's own icon
    # request ends in a 404: the one error that is not the page's.
    errors += [f'{e["entry"]["text"]} ({e["entry"].get("url", "")})' for e in tab.events("Log.entryAdded")
               if e["entry"]["level"] == "error" and not e["entry"].get("url", "").endswith("/favicon.ico")]
    errors += [str(e["args"]) for e in tab.events("Runtime.consoleAPICalled") if e["type"] in ("error", "assert")]
    check(not errors, f"the page logged errors (CSP, script): {errors[:5]}")


def quota_fetches(tab):
    return [e for e in tab.events("Network.requestWillBeSent") if e["request"]["url"].endswith("/api/v1/quotas")]


def check_page(browser, base, quotas, screenshot):
    tab = Tab(browser)
    tab.navigate(base + "/")
    loaded = time.monotonic()
    tab.wait("document.querySelectorAll('#wijken tbody[data-wijk]').length === 71", 20, "71 wijk rows")
    check_rows_and_header(tab, quotas)
    check_cells_behind(tab, quotas)
    check_figures(tab, quotas)
    check_risk_order(tab, quotas)
    check_filters(tab, quotas)
    check_precision(tab, quotas)
    # It polls the API again by itself (every 10 s), without a reload and without rebuilding rows
    # whose figures did not change.
    tab.eval("window.probeRow = document.querySelector('#wijken tbody[data-wijk] tr.row')")
    wait_for(lambda: tab.send("Runtime.evaluate", {"expression": "1"}) and len(quota_fetches(tab)) >= 2,
             max(1.0, 16 - (time.monotonic() - loaded)), "the page to fetch /api/v1/quotas a second time")
    check(len(tab.events("Page.frameNavigated")) == 1, "the page reloaded itself")
    tab.wait("!document.getElementById('live').classList.contains('stale')", 5, "the live indicator after the refresh")
    check(tab.eval("document.contains(window.probeRow)"),
          "a refresh with unchanged figures replaced the rows")
    check_no_errors_and_no_foreign_requests(tab, base)
    tab.eval("window.scrollTo(0, 0)")
    tab.screenshot(screenshot)
    check_link(tab, base, quotas)
    check_no_errors_and_no_foreign_requests(tab, base)
    tab = Tab(browser)
    tab.navigate(base + "/")
    tab.wait("document.querySelectorAll('#wijken tbody[data-wijk]').length === 71", 20, "71 wijk rows")
    check_order_is_kept(tab, quotas)
    check_long_names(browser, base)
    check_phone(browser, base, screenshot.replace(".png", "-phone.png"))


def check_token_flow(browser, base):
    """With /api/ answering 401, the page asks for the token, keeps it and sends it."""
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
    tab.send("Fetch.enable", {"patterns": [{"urlPattern": "*/api/*"}]})
    tab.navigate(base + "/")
    tab.wait("!document.getElementById('auth').hidden && document.activeElement.id === 'token'", 20,
             "the token form, focused, after a 401")
    check(tab.eval("document.querySelectorAll('#wijken tbody[data-wijk]').length") == 0, "figures shown without a token")
    for token, outcome in (("wrong-token", "refused"), (TOKEN, "rows")):
        tab.eval("document.getElementById('token').focus()")
        tab.send("Input.insertText", {"text": token})
        tab.press("Enter", "Enter", 13, "\r")
        if outcome == "refused":
            tab.wait("document.getElementById('auth-msg').textContent.includes('refused')", 20,
                     "the page to say the token was refused")
    tab.wait("document.querySelectorAll('#wijken tbody[data-wijk]').length === 71 && document.getElementById('auth').hidden",
             20, "71 rows once the token is given")
    check(tab.eval("sessionStorage.getItem('wijkpuls.token')") == TOKEN, "the token is not kept in sessionStorage")
    check(f"Bearer {TOKEN}" in seen, f"the API was never called with the token (saw {seen})")
    browser.on_event = None


def in_demo(name, wijkpuls, work_dir, demo_args, body, logs=("demo.log",)):
    """`wijkpuls demo` in an emptied `work_dir` around `body(base, records)`; on failure the
    last lines of `logs` (files in work_dir). Returns the exit code. Also tests/openapi."""
    shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(work_dir)
    started = time.monotonic()
    demo = Demo(wijkpuls, os.path.join(work_dir, "state"), os.path.join(work_dir, "demo.log"), demo_args)
    failures = []
    try:
        base, records = demo.banner()
        print(f"demo at {base}: {records} records, banner after {time.monotonic() - started:.1f} s")
        body(base, records)
    except Failure as e:
        failures.append(str(e))
    finally:
        try:
            demo.stop()
        except Failure as e:
            failures.append(str(e))
    if failures:
        for f in failures:
            print(f"FAIL: {f}")
        for log_name in logs:
            path = os.path.join(work_dir, log_name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    print(f"--- last lines of {path}:\n" + "".join(f.readlines()[-20:]))
        return 1
    print(f"{name}: all checks passed in {time.monotonic() - started:.1f} s")
    return 0


def run(name, description, checks, demo_args=()):
    """The frame of every browser test: arguments, the demo, Chromium, and on failure the demo's
    and Chromium's last log lines. `checks(browser, base, records, args)` does the rest."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--wijkpuls", required=True)
    ap.add_argument("--chromium", default="chromium")
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--work-dir", required=True, help="scratch folder (emptied first)")
    args = ap.parse_args()
    chromium = shutil.which(args.chromium)
    if not chromium:
        print(f"FAIL: {args.chromium} not found (Debian package chromium: scripts/setup.sh --test)")
        return 1

    def body(base, records):
        browser = Browser(chromium, tempfile.mkdtemp(dir=args.work_dir), os.path.join(args.work_dir, "chromium.log"))
        try:
            checks(browser, base, records, args)
        finally:
            browser.close()
    return in_demo(name, args.wijkpuls, args.work_dir, demo_args, body, ("demo.log", "chromium.log"))


def checks(browser, base, records, args):
    quotas = settled_quotas(base, records)
    print(f"{records} records committed; watermark {quotas['watermark']}, day {quotas['days_elapsed']}")
    check_page(browser, base, quotas, args.screenshot)
    print(f"page checks passed; screenshot {args.screenshot}")
    check_token_flow(browser, base)
    print("token flow passed")
    check(json.loads(get(base + "/api/v1/quotas")) == quotas, "the API changed while the page was checked")


def main():
    return run("browser.page", __doc__.split("\n")[0], checks)


if __name__ == "__main__":
    sys.exit(main())
