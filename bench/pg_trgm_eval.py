#!/usr/bin/env python3
"""pg_trgm similarity on the raw names, on the same case sets as
`sijill eval-search`: our own hard cases (tests/data/search-*.csv) and the
set built from the public Wikidata name pairs (built exactly as the
`public_set` test in src/search/eval.rs builds it). Every file is ranked by
its best similarity over full_name, name_ar and aliases, without the `%`
threshold, which gives pg_trgm its best chance.

  python3 bench/pg_trgm_eval.py [postgres://postgres@127.0.0.1:5432]
"""
import csv
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG = sys.argv[1] if len(sys.argv) > 1 else "postgres://postgres@127.0.0.1:5432"
DB = PG + "/sijill_trgm_eval"


def psql(url, *args, **kw):
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-Atq", *args],
                          check=True, capture_output=True, text=True, **kw).stdout


def own_set():
    def rows(name):
        with open(os.path.join(ROOT, "tests/data", name), encoding="utf-8") as f:
            return [r for r in csv.reader(line for line in f if line.strip() and not line.startswith("#"))][1:]
    files = [(r[0], r[1] if len(r) > 1 else "", [a.strip() for a in (r[2] if len(r) > 2 else "").split(";") if a.strip()])
             for r in rows("search-files.csv")]
    cases = [(r[0], r[1]) for r in rows("search-cases.csv")]
    return files, cases


def public_set():
    path = os.path.join(ROOT, "../shared/data/names/wikidata-arabic-coling2018/wd_arabic.normalized.aligned.tokens")
    pairs = []
    for line in open(path, encoding="utf-8"):
        cols = line.rstrip("\n").split("\t")
        if len(cols) < 3:
            continue
        try:
            count = int(cols[2].strip())
        except ValueError:
            continue
        latin, arabic = cols[0], cols[1].replace(" ", "")
        if len(latin) >= 3 and count >= 30:
            pairs.append((latin, arabic, count))
    pairs.sort(key=lambda p: (-p[2], p[0]))
    pairs = pairs[:1000]
    half = len(pairs) // 2
    people = [(i, i + half) for i in range(half)]
    files = [(f"{pairs[a][0]} {pairs[b][0]}", "", []) for a, b in people]
    cases = [(f"{pairs[a][1]} {pairs[b][1]}", f"{pairs[a][0]} {pairs[b][0]}") for a, b in people]
    return files, cases


SQL = """
SELECT c.n, coalesce(min(r.rank) FILTER (WHERE r.full_name = c.expected), 0)
FROM cases c
CROSS JOIN LATERAL (
  SELECT f.full_name, row_number() OVER (ORDER BY s DESC, f.n) AS rank
  FROM (SELECT f.*, greatest(similarity(f.full_name, c.q), similarity(f.name_ar, c.q),
                             coalesce((SELECT max(similarity(a, c.q)) FROM unnest(f.aliases) a), 0)) AS s
        FROM files f) f
  ORDER BY s DESC, f.n LIMIT 5
) r
GROUP BY c.n ORDER BY c.n
"""


def evaluate(name, files, cases):
    with tempfile.TemporaryDirectory() as tmp:
        fpath, cpath = os.path.join(tmp, "files.tsv"), os.path.join(tmp, "cases.tsv")
        clean = lambda s: s.replace("\t", " ").replace("\\", "")
        with open(fpath, "w", encoding="utf-8") as f:
            for i, (full, ar, aliases) in enumerate(files):
                arr = "{" + ",".join('"' + clean(a).replace('"', "") + '"' for a in aliases) + "}"
                f.write(f"{i}\t{clean(full)}\t{clean(ar)}\t{arr}\n")
        with open(cpath, "w", encoding="utf-8") as f:
            for i, (q, expected) in enumerate(cases):
                f.write(f"{i}\t{clean(q)}\t{clean(expected)}\n")
        psql(DB, "-c", "DROP TABLE IF EXISTS files, cases",
             "-c", "CREATE TABLE files (n int, full_name text, name_ar text, aliases text[])",
             "-c", "CREATE TABLE cases (n int, q text, expected text)",
             "-c", f"\\copy files FROM '{fpath}'", "-c", f"\\copy cases FROM '{cpath}'")
        ranks = [int(line.split("|")[1]) for line in psql(DB, "-c", SQL).splitlines() if line]
    n = len(ranks)
    at1 = sum(1 for r in ranks if r == 1) / n
    at5 = sum(1 for r in ranks if 1 <= r <= 5) / n
    mrr = sum(1 / r for r in ranks if r >= 1) / n
    print(f"pg_trgm, {name}: files {len(files)}  queries {n}  recall@1 {at1:.3f}  recall@5 {at5:.3f}  MRR@5 {mrr:.3f}")


def main():
    subprocess.run(["psql", PG + "/postgres", "-qc", "DROP DATABASE IF EXISTS sijill_trgm_eval",
                    "-c", "CREATE DATABASE sijill_trgm_eval"], check=True, capture_output=True)
    psql(DB, "-c", "CREATE EXTENSION pg_trgm")
    evaluate("own cases (tests/data)", *own_set())
    evaluate("public set (Wikidata pairs, Arabic queries, Latin files)", *public_set())


if __name__ == "__main__":
    main()
