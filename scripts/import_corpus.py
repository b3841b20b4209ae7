#!/usr/bin/env python3
"""Write a realistic test corpus for imports: a documentation list in the
shape organisations keep, from the name table in data/syrian-names.csv.

    python3 scripts/import_corpus.py OUT_DIR [--rows 136614] [--seed 1]

Writes, in OUT_DIR:
- earlier.csv: an earlier import of the same list (5 % of the people);
- corpus.csv: the list itself, ROWS rows (136,614 by default: the people the
  article counts as detained or disappeared), Arabic headers, UTF-8 with a
  byte-order mark (as spreadsheet programs write it);
- corpus.jsonl: the same rows, one JSON object a line, same headers as keys;
- truth.json: what the corpus holds by construction, for tests to check a
  report against (counts of each kind of row, and which rows they are).

The rows, by construction:
- 15 % write their dates in two or three different formats (2013,
  05/2013, 15/5/2013, 2013/5/15, أيار 2013, آذار ٢٠١٤ …);
- 5 % hold one value no rule can read (a date, a status, a sex, …);
- 3 % are a person already in the list, again, with another spelling of
  the Latin name (the same Arabic name, birth year and place);
- 2 % repeat an `الرقم المرجعي` (external reference) of earlier.csv: the
  same person, imported before;
- every other row is a new, fictional person.

Only the standard library; the same seed writes the same files.
"""

import argparse
import csv
import json
import os
import random
import sys

HEADERS = [
    "الرقم المرجعي",
    "الاسم",
    "اسم الأب",
    "الكنية",
    "الاسم بالانكليزية",
    "الجنس",
    "تاريخ الميلاد",
    "مكان الولادة",
    "الحالة",
    "التصنيف",
    "تاريخ الاعتقال",
    "مكان الاحتجاز",
    "آخر مشاهدة",
    "ملاحظات",
]

PLACES = ["حلب", "دمشق", "حمص", "حماة", "درعا", "دير الزور", "إدلب", "اللاذقية", "داريا", "دوما",
          "الرقة", "القامشلي", "طرطوس", "السويداء", "معضمية الشام", "تلكلخ", "بانياس", "جسر الشغور"]
FACILITIES = ["سجن صيدنايا العسكري", "سجن عدرا المركزي", "فرع فلسطين (الفرع 235)",
              "فرع المخابرات العسكرية 215", "سجن حلب المركزي", "Sednaya Military Prison", ""]
STATUSES = ["معتقل", "مختفي قسرياً", "مفرج عنه", "متوفي", "detained", "disappeared"]
CATEGORIES = ["سياسي", "سياسي", "سياسي", "جنائي", ""]
SEXES = {"male": ["ذكر", "ذكر", "M", "male"], "female": ["أنثى", "أنثى", "F", "female"]}
LEVANT_MONTHS = ["كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران", "تموز", "آب", "أيلول",
                 "تشرين الأول", "تشرين الثاني", "كانون الأول"]
UNREADABLE = {
    "تاريخ الاعتقال": ["ربيع 2013", "قبل الثورة", "2013؟", "13/2013"],
    "الحالة": ["؟", "غير واضح", "missing?"],
    "الجنس": ["x", "-"],
    "تاريخ الميلاد": ["تقريباً 1985", "1985-1986", "١٩٨"],
}
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def load_names(path):
    names = {"male": [], "female": [], "family": []}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("#") or not line.strip():
                continue
            kind, arabic, latin = line.rstrip("\n").split(",", 2)
            names[kind].append((arabic, latin.split("|")))
    return names


def zipf(rng, items):
    """An item, the first more often (rank-weighted, as names are)."""
    weights = [1 / (rank + 1) for rank in range(len(items))]
    return rng.choices(items, weights)[0]


def date_text(rng, year, month, day, style):
    if style == "year":
        return str(year)
    if style == "iso-month":
        return f"{year}-{month:02d}"
    if style == "slash-month":
        return f"{month:02d}/{year}"
    if style == "day-first":
        return f"{day}/{month}/{year}"
    if style == "year-first":
        return f"{year}/{month}/{day}"
    if style == "arabic-month":
        return f"{LEVANT_MONTHS[month - 1]} {year}"
    if style == "arabic-digits":
        return f"{LEVANT_MONTHS[month - 1]} {str(year).translate(ARABIC_DIGITS)}"
    return f"{year}-{month:02d}-{day:02d}"


STYLES = ["year", "iso-month", "slash-month", "day-first", "year-first", "arabic-month", "arabic-digits", "iso"]


def person(rng, names):
    sex = rng.choice(["male"] * 9 + ["female"])
    given = zipf(rng, names[sex])
    father = zipf(rng, names["male"])
    family = zipf(rng, names["family"])
    return {
        "sex": sex,
        "given": given,
        "father": father,
        "family": family,
        "born": rng.randint(1950, 2004),
        "place": rng.choice(PLACES),
        "arrested": (rng.randint(2011, 2020), rng.randint(1, 12), rng.randint(1, 28)),
        "seen": rng.randint(0, 3),
        "status": rng.choice(STATUSES),
        "category": rng.choice(CATEGORIES),
        "facility": rng.choice(FACILITIES),
    }


def latin(rng, person_):
    return " ".join(rng.choice(part[1]) for part in (person_["given"], person_["father"], person_["family"]))


def row(rng, ref, p, styles, latin_name=None):
    year, month, day = p["arrested"]
    seen = (min(year + p["seen"], 2024), month, day)
    return {
        "الرقم المرجعي": ref,
        "الاسم": p["given"][0],
        "اسم الأب": p["father"][0],
        "الكنية": p["family"][0],
        "الاسم بالانكليزية": latin_name or latin(rng, p),
        "الجنس": rng.choice(SEXES[p["sex"]]),
        "تاريخ الميلاد": date_text(rng, p["born"], 1, 1, "year"),
        "مكان الولادة": p["place"],
        "الحالة": p["status"],
        "التصنيف": p["category"],
        "تاريخ الاعتقال": date_text(rng, year, month, day, styles[0]),
        "مكان الاحتجاز": p["facility"],
        "آخر مشاهدة": date_text(rng, *seen, styles[1]) if p["seen"] else "",
        "ملاحظات": rng.choice(["", "", "شوهد في الفرع", "نقل إلى صيدنايا", "لا معلومات منذ الاعتقال"]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("--rows", type=int, default=136614)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    here = os.path.dirname(os.path.abspath(__file__))
    names = load_names(os.path.join(here, "..", "data", "syrian-names.csv"))
    os.makedirs(args.out_dir, exist_ok=True)

    # The earlier import: 5 % of the people, their references kept.
    earlier = []
    for i in range(max(1, args.rows // 20)):
        p = person(rng, names)
        earlier.append((f"SN-{i + 1:06d}", p, row(rng, f"SN-{i + 1:06d}", p, ["iso", "iso"])))
    write_csv(os.path.join(args.out_dir, "earlier.csv"), [r for _, _, r in earlier])

    rows, truth = [], {"rows": args.rows, "mixed_dates": [], "unreadable": [], "same_person_again": [],
                       "earlier_reference": [], "new": []}
    people = []
    for n in range(args.rows):
        line = n + 2  # the header is line 1
        kind = rng.random()
        ref = f"SN-{len(earlier) + n + 1:06d}"
        if kind < 0.02:
            old_ref, p, _ = rng.choice(earlier)
            r = row(rng, old_ref, p, ["iso", "iso"])
            truth["earlier_reference"].append(line)
        elif kind < 0.05 and people:
            p, first_line, first_latin = rng.choice(people)
            # Another spelling of the same Latin name, if the table has one.
            other = latin(rng, p)
            for _ in range(5):
                if other != first_latin:
                    break
                other = latin(rng, p)
            r = row(rng, ref, p, ["iso", "iso"], latin_name=other)
            truth["same_person_again"].append({"line": line, "first": first_line})
        else:
            p = person(rng, names)
            if kind < 0.20:
                styles = rng.sample(STYLES, 2)
                truth["mixed_dates"].append(line)
            else:
                styles = ["iso", "iso"]
            r = row(rng, ref, p, styles)
            people.append((p, line, r["الاسم بالانكليزية"]))
            if 0.20 <= kind < 0.25:
                column = rng.choice(list(UNREADABLE))
                r[column] = rng.choice(UNREADABLE[column])
                truth["unreadable"].append({"line": line, "column": column, "found": r[column]})
            elif kind >= 0.20:
                truth["new"].append(line)
        rows.append(r)
    write_csv(os.path.join(args.out_dir, "corpus.csv"), rows)
    with open(os.path.join(args.out_dir, "corpus.jsonl"), "w", encoding="utf-8") as out:
        for r in rows:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(os.path.join(args.out_dir, "truth.json"), "w", encoding="utf-8") as out:
        json.dump(truth, out, ensure_ascii=False)
    counts = {k: len(v) for k, v in truth.items() if isinstance(v, list)}
    print(f"{args.rows} rows in {args.out_dir}/corpus.csv; {len(earlier)} in earlier.csv; {counts}")


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=HEADERS)
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    sys.exit(main())
