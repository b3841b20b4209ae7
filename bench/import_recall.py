#!/usr/bin/env python3
"""How an import's report compares with what the corpus planted.

    python3 bench/import_recall.py REPORT.csv CORPUS_DIR

REPORT.csv is an import's report (`sijill import --report`, or
GET /imports/{id}/report) of CORPUS_DIR/corpus.csv, written by
scripts/import_corpus.py with its truth.json. Prints, for the people the
corpus lists twice (both rows valid), how many second rows were reported as
possible duplicates (and how many of those named the first row), and
whether every planted unreadable value was reported on its row and column.
"""
import csv
import json
import sys


def main():
    report_path, corpus = sys.argv[1], sys.argv[2]
    truth = json.load(open(f"{corpus}/truth.json", encoding="utf-8"))
    flagged, problems = {}, {}
    for line in csv.DictReader(open(report_path, encoding="utf-8")):
        row = int(line["row"])
        if line["code"] == "possible_duplicate":
            flagged[row] = line["message"]
        elif row != 1:
            problems.setdefault(row, []).append((line["column"], line["code"]))
    pairs = [
        (d["line"], d["first"])
        for d in truth["same_person_again"]
        if d["line"] not in problems and d["first"] not in problems
    ]
    found = [p for p in pairs if p[0] in flagged]
    naming = [p for p in found if f"row {p[1]} " in flagged[p[0]] + " "]
    print(
        f"people listed twice (both rows valid): {len(pairs)}; second row reported: "
        f"{len(found)} ({100 * len(found) / max(len(pairs), 1):.1f} %), naming the first row: "
        f"{len(naming)}; rows reported in all: {len(flagged)}"
    )
    planted = truth["unreadable"]
    caught = [
        u for u in planted
        if (u["column"], "unreadable_value") in problems.get(u["line"], [])
    ]
    print(f"planted unreadable values: {len(planted)}; reported on their row and column: {len(caught)}")


if __name__ == "__main__":
    main()
