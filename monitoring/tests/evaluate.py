#!/usr/bin/env python3
"""Runs the breakglass detections over event streams, for real:

* every Sigma rule in monitoring/sigma/, converted by pySigma's SQLite backend
  (pySigma-backend-sqlite) and run by Python's sqlite3 over a table `logs`
  holding the events (one column per top-level field; lists as JSON text;
  booleans as 'true'/'false'; JSON null as SQL NULL);
* the rollback detection (monitoring/kql/bg_rollback.kql), which Sigma cannot
  express, as its SQL twin;
* the Entra correlation (monitoring/kql/entra_signin_without_unseal.kql) as
  its SQL twin, over SigninLogs rows.

  evaluate.py EVENTS.jsonl [--signins SIGNINS.jsonl --accounts a,b --hours N]

Each event line may carry "_id" (a name the caller gives it). Prints one JSON
object: {"rules": {RULE: [ids that fire]}, "entra": [CorrelationIds]}.
"""
import argparse
import json
import pathlib
import sqlite3

from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection

HERE = pathlib.Path(__file__).resolve().parent.parent

ROLLBACK_SQL = """
WITH ev AS (
  SELECT _id, time, receipt,
    substr(receipt, 23, 64) AS fingerprint,
    CAST(substr(receipt, 88, instr(substr(receipt, 88), ':') - 1) AS INTEGER) AS rec,
    hash AS head
  FROM logs WHERE receipt IS NOT NULL GROUP BY receipt
)
SELECT DISTINCT later._id FROM ev AS later JOIN ev AS seen
  ON later.fingerprint = seen.fingerprint
WHERE seen.time < later.time
  AND (seen.rec > later.rec OR (seen.rec = later.rec AND seen.head != later.head))
"""

ENTRA_SQL = """
WITH unseals AS (
  SELECT lower(json_extract(e.value, '$.label')) AS label, time AS unsealed
  FROM logs, json_each(logs.entries) AS e WHERE event = 'unseal'
)
SELECT s.CorrelationId FROM signins AS s
WHERE lower(s.UserPrincipalName) IN (SELECT value FROM json_each(:accounts))
  AND NOT EXISTS (
    SELECT 1 FROM unseals AS u
    WHERE instr(u.label, lower(s.UserPrincipalName)) > 0
      AND u.unsealed <= s.TimeGenerated
      AND u.unsealed > strftime('%Y-%m-%dT%H:%M:%SZ', s.TimeGenerated, :window)
  )
ORDER BY s.CorrelationId
"""


def column(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return v


def load(db, table, path):
    rows = [json.loads(l) for l in pathlib.Path(path).read_text().splitlines() if l.strip()]
    cols = sorted({k for r in rows for k in r} | ({"_id"} if table == "logs" else set()))
    db.execute(f"CREATE TABLE {table} ({', '.join(cols)})")
    for i, r in enumerate(rows):
        r.setdefault("_id", f"line{i + 1}") if table == "logs" else None
        db.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [column(r.get(c)) for c in cols],
        )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("events")
    p.add_argument("--signins")
    p.add_argument("--accounts", default="")
    p.add_argument("--hours", type=int, default=4)
    a = p.parse_args()
    db = sqlite3.connect(":memory:")
    load(db, "logs", a.events)
    # A rule's field missing from every event is a column of NULLs.
    have = {r[1] for r in db.execute("PRAGMA table_info(logs)")}
    backend = sqliteBackend()
    out = {"rules": {}, "entra": None}
    for path in sorted((HERE / "sigma").glob("*.yml")):
        collection = SigmaCollection.from_yaml(path.read_text())
        query = backend.convert(collection)[0]
        for field in ["reason", "kind", "versions_failed", "exposed_overdue", "event"]:
            if field not in have:
                db.execute(f"ALTER TABLE logs ADD COLUMN {field}")
                have.add(field)
        ids = [r[0] for r in db.execute(query.replace("SELECT *", "SELECT _id", 1))]
        out["rules"][path.stem] = ids
    out["rules"]["bg_rollback"] = sorted(r[0] for r in db.execute(ROLLBACK_SQL))
    if a.signins:
        load(db, "signins", a.signins)
        accounts = json.dumps([x.strip().lower() for x in a.accounts.split(",") if x.strip()])
        rows = db.execute(ENTRA_SQL, {"accounts": accounts, "window": f"-{a.hours} hours"})
        out["entra"] = [r[0] for r in rows]
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
