#!/usr/bin/env python3
"""Recall of name search on searches with a known answer (`query<TAB>file id`
lines from `sijill seed-demo --queries-out`), by file id.

  TOKEN=… search_recall.py sijill BASE_URL QUERIES [N]   # POST /detainees/search
  search_recall.py pg_trgm DATABASE_URL QUERIES [N]    # pg_trgm similarity on the raw names

A name alone cannot tell apart people who share it, and among a million
files many do: besides recall by id (the file searched for is at rank k),
"tied" recall counts the file searched for at rank k when files with the
same score share a rank (rank = 1 + the number of files scoring strictly
higher). "ambiguous" counts the searches whose best score is shared by five
files or more.
"""
import json
import os
import subprocess
import sys
import time
import urllib.request


def sijill(base, token, query):
    request = urllib.request.Request(
        base + "/api/v1/detainees/search",
        data=json.dumps({"q": query, "limit": 100}).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        items = json.load(response)["items"]
    return [(item["file"]["id"], item["score"]) for item in items]


PG_TRGM_SQL = """
SELECT id, greatest(similarity(full_name, q), similarity(coalesce(name_ar, ''), q)) AS s
FROM detainees, (SELECT {q} AS q) query
WHERE full_name % q OR name_ar % q
ORDER BY s DESC, id LIMIT 100
"""


def pg_trgm(url, query):
    literal = "'" + query.replace("'", "''") + "'"
    out = subprocess.run(
        ["psql", url, "-AtqF", "\t", "-c", PG_TRGM_SQL.format(q=literal)],
        check=True, capture_output=True, text=True,
    ).stdout
    return [(line.split("\t")[0], float(line.split("\t")[1])) for line in out.splitlines() if line]


def main():
    mode = sys.argv[1]
    if mode == "sijill":
        # The token from the environment: not in the process list.
        base, path = sys.argv[2:4]
        token = os.environ["TOKEN"]
        rest = sys.argv[4:]
        search = lambda q: sijill(base, token, q)
    else:
        url, path = sys.argv[2:4]
        rest = sys.argv[4:]
        search = lambda q: pg_trgm(url, q)
    limit = int(rest[0]) if rest else None
    cases = [line.rstrip("\n").split("\t") for line in open(path, encoding="utf-8") if "\t" in line]
    cases = cases[:limit] if limit else cases
    at1 = at5 = tied1 = tied5 = ambiguous = 0
    rr = 0.0
    started = time.time()
    for query, expected in cases:
        hits = search(query)
        ids = [h[0] for h in hits]
        if hits and sum(1 for h in hits if h[1] == hits[0][1]) >= 5:
            ambiguous += 1
        if expected in ids:
            rank = ids.index(expected)
            at1 += rank == 0
            at5 += rank < 5
            rr += 1 / (rank + 1) if rank < 5 else 0
            tied = sum(1 for h in hits if h[1] > hits[rank][1])
            tied1 += tied == 0
            tied5 += tied < 5
    n = len(cases)
    print(f"{mode}: {n} searches  by id: recall@1 {at1 / n:.3f}  recall@5 {at5 / n:.3f}  MRR@5 {rr / n:.3f}"
          f"  tied: recall@1 {tied1 / n:.3f}  recall@5 {tied5 / n:.3f}"
          f"  ambiguous {ambiguous}  ({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
