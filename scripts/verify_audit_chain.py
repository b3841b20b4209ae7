#!/usr/bin/env python3
"""Recompute sijill's audit hash chain from the output of GET /api/v1/audit.

Uses only the Python standard library, so an auditor can read and run it
without trusting anything else of ours.

    SIJILL_URL=http://127.0.0.1:8080 SIJILL_TOKEN=<auditor access token> \
        python3 scripts/verify_audit_chain.py [--checkpoint SEQ:HASH]

Each entry's `hash` is the lowercase hex SHA-256 of the RFC 8785 (JCS)
serialisation of the entry without its `hash` member; `prev_hash` is the
previous entry's `hash` (64 zeros for the first). For the values sijill
writes (strings, integers, booleans, null, nested objects and arrays),
JCS is exactly `json.dumps` with sorted keys, no whitespace and UTF-8 kept
as is. (Non-integer numbers would need the ECMAScript number format of
RFC 8785 section 3.2.2.3; sijill's audit entries carry none.)

Exit status 0 when the chain (and the checkpoint, if given) holds, 1 if not.
"""

import hashlib
import json
import os
import sys
import urllib.request


def canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(entry: dict) -> str:
    unhashed = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical(unhashed)).hexdigest()


def fetch_all(base: str, token: str):
    cursor = None
    while True:
        url = f"{base}/api/v1/audit?limit=200" + (f"&cursor={cursor}" if cursor else "")
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request) as response:
            page = json.load(response)
        yield from page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return


def verify(entries, checkpoint=None):
    """Return (number verified, first bad seq or None, checkpoint held or None)."""
    prev, expected, held = "0" * 64, 1, None
    for entry in entries:
        if entry["seq"] != expected or entry["prev_hash"] != prev or entry_hash(entry) != entry["hash"]:
            return expected - 1, entry["seq"], held
        if checkpoint and entry["seq"] == checkpoint[0]:
            held = entry["hash"] == checkpoint[1]
        prev, expected = entry["hash"], expected + 1
    if checkpoint and held is None:
        held = False
    return expected - 1, None, held


def main() -> int:
    base = os.environ.get("SIJILL_URL", "http://127.0.0.1:8080").rstrip("/")
    token = os.environ["SIJILL_TOKEN"]
    checkpoint = None
    if len(sys.argv) == 3 and sys.argv[1] == "--checkpoint":
        seq, digest = sys.argv[2].split(":", 1)
        checkpoint = (int(seq), digest.lower())
    checked, bad, held = verify(fetch_all(base, token), checkpoint)
    print(f"verified {checked} entries")
    if bad is not None:
        print(f"BROKEN at seq {bad}")
    if held is not None:
        print("checkpoint held" if held else "BROKEN: checkpoint not held")
    return 0 if bad is None and held is not False else 1


if __name__ == "__main__":
    sys.exit(main())
