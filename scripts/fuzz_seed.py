"""Log in the demo caseworker and auditor (the auditor with its second
factor), open a review on a demo file, and print both access tokens (for
scripts/fuzz-api.sh)."""
import base64
import hashlib
import hmac
import struct
import sys
import time

import requests

base, password, auditor_secret = sys.argv[1], sys.argv[2], sys.argv[3]
api = base + "/api/v1"


def totp(secret_base32, step_offset=0):
    """RFC 6238 with HMAC-SHA-1, 6 digits, 30-second steps (what sijill uses)."""
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    counter = int(time.time()) // 30 + step_offset
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def login(username, secret=None):
    r = requests.post(api + "/auth/login", json={"username": username, "password": password}, timeout=30)
    if r.status_code == 401 and secret and r.json().get("code") == "mfa_required":
        # The next step's code: `sijill user mfa-enrol` left the current ones usable,
        # and one step of drift is accepted.
        body = {"mfa_token": r.json()["mfa_token"], "code": totp(secret, 1)}
        r = requests.post(api + "/auth/login/mfa", json=body, timeout=30)
    r.raise_for_status()
    return r.json()["access_token"]


caseworker = login("demo.caseworker")
auditor = login("demo.auditor", auditor_secret)
auth = {"Authorization": "Bearer " + caseworker}
files = requests.get(api + "/detainees", params={"limit": 5}, headers=auth, timeout=30)
files.raise_for_status()
file_id = files.json()["items"][0]["id"]
review = requests.post(
    f"{api}/detainees/{file_id}/reviews", json={"reason": "fuzzing needs an open review"}, headers=auth, timeout=30
)
review.raise_for_status()
print(caseworker, auditor)
