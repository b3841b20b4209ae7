#!/usr/bin/env python3
"""Recompute sijill's audit hash chain, from the server or from an export file.

Uses only the Python standard library, so an auditor can read and run it
without trusting anything else of ours.

From the server (GET /api/v1/audit):

    SIJILL_URL=http://127.0.0.1:8080 SIJILL_TOKEN=<auditor access token> \
        python3 scripts/verify_audit_chain.py [--checkpoint SEQ:HASH]

From an export (GET /api/v1/audit/export or `sijill audit export`), offline:

    python3 scripts/verify_audit_chain.py --file EXPORT.jsonl \
        [--checkpoint SEQ:HASH] [--public-key BASE64]

Each entry's `hash` is the lowercase hex SHA-256 of the RFC 8785 (JCS)
serialisation of the entry without its `hash` member; `prev_hash` is the
previous entry's `hash` (64 zeros for the first). For the values sijill
writes (strings, integers, booleans, null, nested objects and arrays),
JCS is exactly `json.dumps` with sorted keys, no whitespace and UTF-8 kept
as is. (Non-integer numbers would need the ECMAScript number format of
RFC 8785 section 3.2.2.3; sijill's audit entries carry none.)

An export ends with a line {"checkpoint": {seq, hash, signed_at, key_id,
public_key, signature}}: the export's last entry, signed with Ed25519 over
the text "{seq}:{hash}:{signed_at}". The file verifies when its entries
chain, the checkpoint names the last of them, and the signature holds —
under the key given with --public-key (the raw key as GET /audit/head
shows it, kept from before), or else the file's own, whose key_id is
printed for comparing with the server's. An export that does not start at
seq 1 is linked to the history before it with --checkpoint: the
checkpoint of the seq just before the file's first entry (an earlier
export's last line, or a head kept from GET /audit/head).

Exit status 0 when everything checked holds, 1 if not.
"""

import base64
import hashlib
import json
import os
import sys
import urllib.request


def _utf16_sorted(value):
    """Objects rebuilt with their members in RFC 8785 order: by the UTF-16
    code units of their names (Python sorts by code point, which differs
    for names mixing characters above U+FFFF with U+E000-U+FFFF)."""
    if isinstance(value, dict):
        return {k: _utf16_sorted(value[k]) for k in sorted(value, key=lambda k: k.encode("utf-16-be"))}
    if isinstance(value, list):
        return [_utf16_sorted(v) for v in value]
    return value


def canonical(value) -> bytes:
    return json.dumps(_utf16_sorted(value), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


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


def verify(entries, checkpoint=None, start=(1, "0" * 64)):
    """Return (number verified, first bad seq or None, checkpoint held or None,
    the last entry or None). `start` is the seq and prev_hash the first entry
    must have."""
    (expected, prev), held, last, count = start, None, None, 0
    for entry in entries:
        if entry["seq"] != expected or entry["prev_hash"] != prev or entry_hash(entry) != entry["hash"]:
            return count, entry["seq"], held, last
        if checkpoint and entry["seq"] == checkpoint[0]:
            held = entry["hash"] == checkpoint[1]
        prev, expected, last, count = entry["hash"], expected + 1, entry, count + 1
    if checkpoint and held is None:
        held = False
    return count, None, held, last


# --- Ed25519 signature verification (RFC 8032, section 5.1.7), written from
# the RFC's own description for this script only: a verifier that needs no
# package an auditor would first have to trust. Not constant-time, which a
# verifier of public data does not need.

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _point_add(a, b):
    # Extended homogeneous coordinates (X, Y, Z, T), RFC 8032 section 5.1.4.
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % P
    bb = (y1 + x1) * (y2 + x2) % P
    cc = 2 * t1 * t2 * D % P
    dd = 2 * z1 * z2 % P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _scalar_mult(s, point):
    result = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            result = _point_add(result, point)
        point = _point_add(point, point)
        s >>= 1
    return result


def _point_equal(a, b):
    x1, y1, z1, _ = a
    x2, y2, z2, _ = b
    return (x1 * z2 - x2 * z1) % P == 0 and (y1 * z2 - y2 * z1) % P == 0


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def _decompress(data: bytes):
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


_GY = 4 * pow(5, P - 2, P) % P
_GX = _recover_x(_GY, 0)
BASE = (_GX, _GY, 1, _GX * _GY % P)


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(public) != 32 or len(signature) != 64:
        return False
    a = _decompress(public)
    r = _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= L:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    return _point_equal(_scalar_mult(s, BASE), _point_add(r, _scalar_mult(k, a)))


def key_id(public: bytes) -> str:
    """As sijill names a key: the first 16 hex digits of SHA-256 over the raw key."""
    return hashlib.sha256(public).hexdigest()[:16]


def verify_file(path, checkpoint=None, public_key=None):
    """Verify an export file; returns the lines to print and whether it holds."""
    entries, signed = [], None
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            if signed is not None:
                return [f"BROKEN: line {number} follows the checkpoint line"], False
            value = json.loads(line)
            if "checkpoint" in value:
                signed = value["checkpoint"]
            else:
                entries.append(value)
    if signed is None:
        return ["BROKEN: no checkpoint line: the file is cut short, or not an export"], False
    report, ok = [], True
    first = entries[0] if entries else None
    if first is not None and first["seq"] != 1:
        if checkpoint is None or checkpoint[0] != first["seq"] - 1:
            report.append(
                f"not linked: the file starts at seq {first['seq']}; give --checkpoint "
                f"{first['seq'] - 1}:HASH to link it to the history before it"
            )
            ok = False
            start = (first["seq"], first["prev_hash"])
        else:
            start = (first["seq"], checkpoint[1])
    else:
        start = (1, "0" * 64)
    count, bad, _, last = verify(entries, None, start)
    report.append(f"verified {count} entries")
    if bad is not None:
        report.append(f"BROKEN at seq {bad}")
        return report, False
    if last is not None and (signed["seq"] != last["seq"] or signed["hash"] != last["hash"]):
        report.append("BROKEN: the checkpoint does not name the file's last entry")
        return report, False
    public = base64.b64decode(public_key if public_key else signed["public_key"])
    message = f"{signed['seq']}:{signed['hash']}:{signed['signed_at']}".encode("utf-8")
    if not ed25519_verify(public, message, base64.b64decode(signed["signature"])):
        report.append("BROKEN: the checkpoint's signature does not verify")
        return report, False
    whose = "the given key" if public_key else "the file's own key (compare its id with the server's)"
    report.append(
        f"the chain up to seq {signed['seq']} (hash {signed['hash']}) is signed at "
        f"{signed['signed_at']} by key {key_id(public)}, {whose}"
    )
    return report, ok


def self_test() -> int:
    """RFC 8032 section 7.1, tests 1 and 2, and a message changed by a byte."""
    h = bytes.fromhex
    one = h("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    one_signature = h(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    two = h("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
    two_signature = h(
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
    )
    checks = [
        ed25519_verify(one, b"", one_signature),
        ed25519_verify(two, h("72"), two_signature),
        not ed25519_verify(two, h("73"), two_signature),
        not ed25519_verify(one, h("72"), two_signature),
    ]
    print("self-test: " + ("ok" if all(checks) else f"FAILED {checks}"))
    return 0 if all(checks) else 1


def main() -> int:
    args = sys.argv[1:]
    if args == ["--self-test"]:
        return self_test()
    options = {}
    while args:
        name = args.pop(0)
        if name not in ("--checkpoint", "--file", "--public-key") or not args:
            print(__doc__, file=sys.stderr)
            return 2
        options[name] = args.pop(0)
    checkpoint = None
    if "--checkpoint" in options:
        seq, digest = options["--checkpoint"].split(":", 1)
        checkpoint = (int(seq), digest.lower())
    if "--file" in options:
        report, ok = verify_file(options["--file"], checkpoint, options.get("--public-key"))
        print("\n".join(report))
        print("ok" if ok else "BROKEN")
        return 0 if ok else 1
    base = os.environ.get("SIJILL_URL", "http://127.0.0.1:8080").rstrip("/")
    token = os.environ["SIJILL_TOKEN"]
    checked, bad, held, _ = verify(fetch_all(base, token), checkpoint)
    print(f"verified {checked} entries")
    if bad is not None:
        print(f"BROKEN at seq {bad}")
    if held is not None:
        print("checkpoint held" if held else "BROKEN: checkpoint not held")
    return 0 if bad is None and held is not False else 1


if __name__ == "__main__":
    sys.exit(main())
