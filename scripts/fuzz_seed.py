"""Log in the demo caseworker and auditor, open a review on a demo file, and
print both access tokens (for scripts/fuzz-api.sh)."""
import sys

import requests

base, password = sys.argv[1], sys.argv[2]
api = base + "/api/v1"


def login(username):
    r = requests.post(api + "/auth/login", json={"username": username, "password": password}, timeout=30)
    r.raise_for_status()
    return r.json()["access_token"]


caseworker = login("demo.caseworker")
auditor = login("demo.auditor")
auth = {"Authorization": "Bearer " + caseworker}
files = requests.get(api + "/detainees", params={"limit": 5}, headers=auth, timeout=30)
files.raise_for_status()
file_id = files.json()["items"][0]["id"]
review = requests.post(
    f"{api}/detainees/{file_id}/reviews", json={"reason": "fuzzing needs an open review"}, headers=auth, timeout=30
)
review.raise_for_status()
print(caseworker, auditor)
