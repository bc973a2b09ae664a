#!/usr/bin/env python3
"""A plain peer of `wijkpuls serve` for the JSON benchmark: what a team would write
in an afternoon with confluent-kafka (Debian's python3-confluent-kafka) and SQLite.

It reads a responses topic of JSON records (either field naming) from the beginning
and applies the rules that decide what wijkpuls counts: required fields, the wave and
its window, the wijk of the register, consent, timestamps in order, deduplication by
response_id, one counted response per pseudonymised respondent (HMAC-SHA256), and the
quota cell counts. Per batch, one SQLite transaction holds the stored responses, the
respondent claims, the counts and the offsets (exactly-once effect on state, as
wijkpuls does with RocksDB). It prints one line of JSON: records, wall and CPU time.

Not a product: no dead-letter topic, no flags, no scores. It is the yardstick of
bench/run.py's `json` section ("wijkpuls at >= 10x the rate of a plain peer").

    bench/peer.py --brokers HOST:PORT --topic T --db FILE [--batch 5000]
"""
import argparse
import csv
import datetime
import hashlib
import hmac
import json
import os
import resource
import sqlite3
import sys
import time

from confluent_kafka import Consumer, KafkaError, TopicPartition

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WAVES = {"2024": (datetime.datetime(2023, 3, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=1))),
                  datetime.datetime(2023, 11, 15, tzinfo=datetime.timezone(datetime.timedelta(hours=1))))}
MODES = {"WEB": 1, "PAPER": 2, "PHONE": 3, "FACE_TO_FACE": 4}
NAMES = {"responseId": "response_id", "respondentRef": "respondent_ref", "startedAt": "started_at",
         "submittedAt": "submitted_at", "ageBand": "age_band", "interviewerId": "interviewer_id",
         "instrumentVersion": "instrument_version"}


def wijken():
    with open(os.path.join(REPO, "config", "districts.csv"), encoding="utf-8-sig") as f:
        return {row["wijk_id"] for row in csv.DictReader(f)}


def when(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")) if isinstance(text, str) else None


def decide(r, known_wijken):
    """None when the response is to be counted, else the reason."""
    for f in ("response_id", "respondent_ref", "wave", "instrument", "wijk", "mode", "submitted_at", "age_band",
              "sex", "answers"):
        if not r.get(f):
            return "MISSING_FIELD"
    mode = MODES.get(r["mode"], r["mode"] if isinstance(r["mode"], int) else 0)
    if mode in (1, 3, 4) and not r.get("started_at"):
        return "MISSING_FIELD"
    if mode in (3, 4) and not r.get("interviewer_id"):
        return "MISSING_FIELD"
    if r["wave"] not in WAVES:
        return "UNKNOWN_WAVE"
    if r["wijk"] not in known_wijken:
        return "UNKNOWN_WIJK"
    if r.get("consent") is not True:
        return "NO_CONSENT"
    try:
        submitted, started = when(r["submitted_at"]), when(r.get("started_at"))
    except ValueError:
        return "INVALID_FIELD"
    if started and started > submitted:
        return "INCONSISTENT_TIMESTAMPS"
    start, end = WAVES[r["wave"]]
    if not start <= submitted < end:
        return "OUT_OF_WINDOW"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--topic", default="wijkprofiel.responses.v1")
    ap.add_argument("--db", required=True)
    ap.add_argument("--batch", type=int, default=5000)
    args = ap.parse_args()
    key = b"bench-key-0123456789abcdef0123456789abcdef"
    known = wijken()
    db = sqlite3.connect(args.db, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript("""
        CREATE TABLE IF NOT EXISTS responses(wave, wijk, id, outcome, body, PRIMARY KEY(wave, wijk, id));
        CREATE TABLE IF NOT EXISTS respondents(wave, wijk, who, id, PRIMARY KEY(wave, wijk, who));
        CREATE TABLE IF NOT EXISTS quota(wave, wijk, instrument, age_band, sex, n,
                                         PRIMARY KEY(wave, wijk, instrument, age_band, sex));
        CREATE TABLE IF NOT EXISTS offsets(topic, partition, next, PRIMARY KEY(topic, partition));""")
    stored = dict(((t, p), n) for t, p, n in db.execute("SELECT topic, partition, next FROM offsets"))
    state = {"eof": set(), "assigned": set()}

    def on_assign(consumer, parts):
        for tp in parts:
            tp.offset = stored.get((tp.topic, tp.partition), -2)  # -2: the beginning
            state["assigned"].add((tp.topic, tp.partition))
        consumer.assign(parts)

    c = Consumer({"bootstrap.servers": args.brokers, "group.id": "peer-%d" % os.getpid(),
                  "enable.auto.commit": False, "enable.partition.eof": True, "auto.offset.reset": "earliest"})
    c.subscribe([args.topic], on_assign=on_assign)
    counted = records = 0
    first = None
    while not state["assigned"] or state["eof"] != state["assigned"]:
        msgs = c.consume(num_messages=args.batch, timeout=1.0)
        if not msgs:
            continue
        db.execute("BEGIN")
        offsets = {}
        for m in msgs:
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    state["eof"].add((m.topic(), m.partition()))
                continue
            first = first or time.monotonic()
            records += 1
            offsets[(m.topic(), m.partition())] = m.offset() + 1
            try:
                r = json.loads(m.value())
                r = {NAMES.get(k, k): v for k, v in r.items()}
                reason = decide(r, known) if isinstance(r, dict) else "DECODE_ERROR"
            except ValueError:
                r, reason = {}, "DECODE_ERROR"
            rid = r.get("response_id") if isinstance(r.get("response_id"), str) else "@%d/%d" % (m.partition(), m.offset())
            wave, wijk = str(r.get("wave", "")), str(r.get("wijk", ""))
            if db.execute("SELECT 1 FROM responses WHERE wave=? AND wijk=? AND id=?", (wave, wijk, rid)).fetchone():
                continue  # a duplicate: no effect
            if reason is None:
                who = hmac.new(key, (wave + "\x1f" + r["respondent_ref"]).encode(), hashlib.sha256).digest()
                if db.execute("SELECT 1 FROM respondents WHERE wave=? AND wijk=? AND who=?", (wave, wijk, who)).fetchone():
                    reason = "DUPLICATE_RESPONDENT"
                else:
                    db.execute("INSERT INTO respondents VALUES(?,?,?,?)", (wave, wijk, who, rid))
            body = None
            if reason is None:
                counted += 1
                body = json.dumps({"answers": r["answers"], "mode": r["mode"], "submitted_at": r["submitted_at"]})
                db.execute("INSERT INTO quota VALUES(?,?,?,?,?,1) ON CONFLICT DO UPDATE SET n = n + 1",
                           (wave, wijk, r["instrument"], r["age_band"], r["sex"]))
            db.execute("INSERT INTO responses VALUES(?,?,?,?,?)", (wave, wijk, rid, reason or "COUNTED", body))
        for (t, p), n in offsets.items():
            db.execute("INSERT INTO offsets VALUES(?,?,?) ON CONFLICT DO UPDATE SET next = excluded.next", (t, p, n))
        db.execute("COMMIT")
    wall = time.monotonic() - (first or time.monotonic())
    c.close()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps(dict(records=records, counted=counted, wall_s=round(wall, 3),
                          cpu_s=round(ru.ru_utime + ru.ru_stime, 3))))


if __name__ == "__main__":
    sys.exit(main())
