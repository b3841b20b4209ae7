#!/usr/bin/env python3
"""Steady mixed load for `bench/soak.sh` (issue 10), standard library only.

Requests leave at a fixed rate (one every 1/RATE s, whatever the answers
take: an open loop, as wrk2 does), each the next of a fixed mix:

  get_file      caseworker   GET /detainees/{id} (its ETag kept for edits)
  list_files    caseworker   GET /detainees?…&limit=50 (sometimes the next page)
  search        caseworker   POST /detainees/search (seed-demo's searches)
  create_file   caseworker   POST /detainees (one in five accused of major crimes)
  patch_file    caseworker   PATCH /detainees/{id} with the ETag last seen
                             (412 when the file moved on since: expected)
  custody       caseworker   POST /detainees/{id}/custody
  review:*      the next step of one of a dozen reviews in progress, or a new
                one: open (caseworker) → claim → read → [consult (family
                representative) for major crimes] → decide (claimant) →
                [dispute →decide again] → confirm (a reviewer of the other
                board) → release (caseworker); some withdrawn instead
  review_queue  a reviewer   GET /reviews?status=open
  audit:*       auditor      GET /audit?entity_id=…, /audit/access?entity_id=…,
                             /audit/head, the latest page of /audit

Latency is measured from when a request was due to leave, not from when it
left, so a stalled server shows up in the tail instead of slowing the load.
Every SAMPLE seconds: the server's RSS (/proc/PID/status), p50/p99 and
non-2xx of the requests completed in that window, one line printed and one
CSV row. A summary at the end. Exit status 3 if any answer was a 5xx or a
request got no answer (connection error, 30 s timeout); 130 if stopped by
SIGINT/SIGTERM (the summary of what ran is printed anyway).
"""
import argparse
import asyncio
import collections
import json
import math
import os
import random
import signal
import statistics
import sys
import urllib.parse

REQUEST_TIMEOUT = 30.0
MAX_IN_FLIGHT = 1000
IDLE_CONNECTION_AGE = 2.0  # actix closes idle keep-alive connections after 5 s
RATIONALE = "Witness statements and the prison register were checked against the file."

MIX = [  # (operation, weight out of 100)
    ("get_file", 22),
    ("list_files", 8),
    ("search", 14),
    ("create_file", 6),
    ("patch_file", 8),
    ("custody", 6),
    ("review", 22),
    ("review_queue", 4),
    ("audit", 10),
]

GIVEN = [("Mohammed", "محمد"), ("Ahmad", "أحمد"), ("Khaled", "خالد"), ("Omar", "عمر"),
         ("Yusuf", "يوسف"), ("Mahmoud", "محمود"), ("Hussein", "حسين"), ("Ibrahim", "إبراهيم"),
         ("Samer", "سامر"), ("Bassel", "باسل"), ("Rami", "رامي"), ("Tareq", "طارق")]
FAMILY = [("Al-Hassan", "الحسن"), ("Darwish", "درويش"), ("Haddad", "حداد"), ("Al-Ali", "العلي"),
          ("Khatib", "الخطيب"), ("Al-Masri", "المصري"), ("Hamwi", "الحموي"), ("Qassem", "قاسم")]


class Connection:
    def __init__(self, reader, writer):
        self.reader, self.writer, self.last_used = reader, writer, 0.0

    def close(self):
        try:
            self.writer.close()
        except Exception:
            pass


class Client:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams (loopback only)."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.idle = []

    async def request(self, method, path, token=None, body=None, headers=None):
        loop = asyncio.get_running_loop()
        conn = None
        while self.idle:
            candidate = self.idle.pop()
            if loop.time() - candidate.last_used < IDLE_CONNECTION_AGE:
                conn = candidate
                break
            candidate.close()
        if conn is None:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            conn = Connection(reader, writer)
        try:
            payload = b"" if body is None else json.dumps(body).encode()
            head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
            if token:
                head.append(f"Authorization: Bearer {token}")
            if body is not None:
                head.append("Content-Type: application/json")
            if body is not None or method in ("POST", "PATCH", "PUT"):
                head.append(f"Content-Length: {len(payload)}")
            for name, value in (headers or {}).items():
                head.append(f"{name}: {value}")
            conn.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
            raw = await conn.reader.readuntil(b"\r\n\r\n")
            lines = raw.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            response_headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    response_headers[name.strip().lower()] = value.strip()
            if response_headers.get("transfer-encoding", "").lower() == "chunked":
                parts = []
                while True:
                    size = int((await conn.reader.readline()).split(b";")[0].strip(), 16)
                    if size == 0:
                        while (await conn.reader.readline()) not in (b"\r\n", b""):
                            pass
                        break
                    parts.append(await conn.reader.readexactly(size))
                    await conn.reader.readexactly(2)
                content = b"".join(parts)
                keep = True
            elif "content-length" in response_headers:
                content = await conn.reader.readexactly(int(response_headers["content-length"]))
                keep = True
            elif status in (204, 304) or status < 200 or method == "HEAD":
                content, keep = b"", True
            else:
                content, keep = await conn.reader.read(), False
            if response_headers.get("connection", "").lower() == "close":
                keep = False
        except BaseException:
            conn.close()
            raise
        if keep:
            conn.last_used = loop.time()
            self.idle.append(conn)
        else:
            conn.close()
        return status, response_headers, content

    def close(self):
        for conn in self.idle:
            conn.close()
        self.idle.clear()


def slope(points):
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    xs = [t / 60 for t, _ in points]
    ys = [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def proc_status(pid):
    """RSS (all; anonymous: heap and stacks; file-backed: the binary, and on
    SQLite the memory-mapped database), peak RSS (MB), threads and open fds of
    a process; Nones if it is gone."""
    keys = ("rss_mb", "rss_anon_mb", "rss_file_mb", "peak_rss_mb", "threads", "fds")
    try:
        fields = {}
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                name, _, value = line.partition(":")
                fields[name] = value.split()
        mb = lambda name: int(fields[name][0]) / 1024  # noqa: E731
        return dict(zip(keys, (mb("VmRSS"), mb("RssAnon"), mb("RssFile"), mb("VmHWM"),
                               int(fields["Threads"][0]), len(os.listdir(f"/proc/{pid}/fd")))))
    except (OSError, KeyError, ValueError):
        return dict.fromkeys(keys)


class Pipeline:
    """One review from opening to its end, one step per arrival."""

    def __init__(self, file, steps, claimant, confirmer):
        self.file, self.steps, self.claimant, self.confirmer = file, steps, claimant, confirmer
        self.review = None


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        url = urllib.parse.urlsplit(args.base)
        self.client = Client(url.hostname, url.port)
        self.tokens, self.refresh_tokens, self.token_ttl = {}, {}, 900
        self.files = []                # every file of the caseworker's organisation we know
        self.major = set()             # the ones accused of major crimes (created here)
        self.created = set()           # created during the soak (may be cleared and released)
        self.reviewable = []           # seeded files with no review in progress
        self.reviewable_created = []   # files created here with no review in progress
        self.ready = collections.deque()  # reviews waiting for their next step
        self.in_progress = 0
        self.etags = collections.OrderedDict()
        self.recent = collections.deque(maxlen=500)  # files and reviews recently written
        self.audit_head = None
        self.list_cursor = None
        self.queries = []
        self.facilities = []
        self.counter = 0
        # Statistics.
        self.window = []               # (latency ms, status) completed in this window
        self.latencies = collections.defaultdict(list)  # op -> every latency (ms)
        self.statuses = collections.Counter()            # (status, op) -> n; status 0 = no answer
        self.failures = []             # a few examples of 5xx / no answer, for the report
        self.skipped = 0               # arrivals dropped because MAX_IN_FLIGHT were in flight
        self.samples = []
        self.tasks = set()
        self.stopping = False
        self.interrupted = False

    # ---- requests -------------------------------------------------------------

    async def call(self, op, due, method, path, user=None, body=None, headers=None):
        """One measured request; returns (status, headers, parsed JSON or None)."""
        loop = asyncio.get_running_loop()
        token = self.tokens.get(user) if user else None
        try:
            status, response_headers, content = await asyncio.wait_for(
                self.client.request(method, path, token, body, headers), REQUEST_TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                asyncio.TimeoutError, ValueError, IndexError) as e:
            self.record(op, 0, (loop.time() - due) * 1000)
            if len(self.failures) < 10:
                self.failures.append(f"{op}: {method} {path}: no answer ({type(e).__name__}: {e})")
            return 0, {}, None
        self.record(op, status, (loop.time() - due) * 1000)
        if status >= 500 and len(self.failures) < 10:
            self.failures.append(f"{op}: {method} {path}: HTTP {status} {content[:300]!r}")
        try:
            parsed = json.loads(content) if content else None
        except ValueError:
            parsed = None
        return status, response_headers, parsed

    def record(self, op, status, latency_ms):
        self.window.append((latency_ms, status))
        self.latencies[op].append(latency_ms)
        self.statuses[(status, op)] += 1

    async def setup_call(self, method, path, user=None, body=None):
        status, _, content = await self.client.request(method, path, self.tokens.get(user), body)
        if status >= 300:
            raise SystemExit(f"setup: {method} {path} as {user}: HTTP {status} {content[:300]!r}")
        return json.loads(content)

    async def login(self, name, username):
        pair = await self.setup_call("POST", "/api/v1/auth/login",
                                     body={"username": username, "password": self.args.password})
        self.tokens[name], self.refresh_tokens[name] = pair["access_token"], pair["refresh_token"]
        self.token_ttl = int(pair.get("expires_in", 900))

    async def keep_tokens_fresh(self):
        """Refresh every access token at half its lifetime (soaks longer than the TTL)."""
        loop = asyncio.get_running_loop()
        while not self.stopping:
            await asyncio.sleep(max(30, self.token_ttl / 2))
            for name in list(self.tokens):
                if self.stopping:
                    return
                status, _, pair = await self.call(
                    "auth:refresh", loop.time(), "POST", "/api/v1/auth/refresh",
                    body={"refresh_token": self.refresh_tokens[name]})
                if status == 200 and pair:
                    self.tokens[name], self.refresh_tokens[name] = pair["access_token"], pair["refresh_token"]

    # ---- the mix --------------------------------------------------------------

    def pick_file(self):
        return self.files[self.rng.randrange(len(self.files))]

    def remember_etag(self, file, response_headers):
        etag = response_headers.get("etag")
        if etag:
            self.etags[file] = etag
            self.etags.move_to_end(file)
            while len(self.etags) > 5000:
                self.etags.popitem(last=False)

    async def get_file(self, due):
        file = self.pick_file()
        status, headers, _ = await self.call("get_file", due, "GET", f"/api/v1/detainees/{file}", "cw")
        if status == 200:
            self.remember_etag(file, headers)

    async def list_files(self, due):
        if self.list_cursor and self.rng.random() < 0.5:
            base, cursor = self.list_cursor
            query = f"{base}&cursor={urllib.parse.quote(cursor)}"
            self.list_cursor = None
        else:
            base = query = self.rng.choice(["limit=50", "status=detained&limit=50", "status=disappeared&limit=50",
                                            "review_status=release_withheld&limit=50",
                                            "category=criminal_accusation&limit=50"])
        status, _, page = await self.call("list_files", due, "GET", f"/api/v1/detainees?{query}", "cw")
        if status == 200 and page and page.get("next_cursor"):
            self.list_cursor = (base, page["next_cursor"])

    async def search(self, due):
        q = self.queries[self.rng.randrange(len(self.queries))]
        await self.call("search", due, "POST", "/api/v1/detainees/search", "cw", {"q": q, "limit": 20})

    async def create_file(self, due):
        self.counter += 1
        given, father, family = self.rng.choice(GIVEN), self.rng.choice(GIVEN), self.rng.choice(FAMILY)
        major = self.rng.random() < 0.2
        body = {
            "full_name": f"{given[0]} {father[0]} {family[0]}",
            "name_ar": f"{given[1]} {father[1]} {family[1]}",
            "status": self.rng.choice(["detained", "disappeared"]),
            "category": "criminal_accusation" if major else "political",
            "major_crimes_accusation": major,
            "detained_on": f"201{self.rng.randrange(1, 10)}-0{self.rng.randrange(1, 10)}",
            "facility_id": self.rng.choice(self.facilities),
            "notes": f"Soak file {self.counter}.",
            "source_notes": "Created by bench/soak.sh.",
        }
        if major:
            body["accusation_summary"] = "Accused of taking part in killings at a checkpoint in 2013."
        status, headers, file = await self.call("create_file", due, "POST", "/api/v1/detainees", "cw", body)
        if status == 201 and file:
            fid = file["id"]
            self.files.append(fid)
            self.reviewable_created.append(fid)
            self.created.add(fid)
            if major:
                self.major.add(fid)
            self.remember_etag(fid, headers)
            self.recent.append(fid)

    async def patch_file(self, due):
        if not self.etags:
            return await self.get_file(due)
        file = self.rng.choice(list(self.etags)[-500:])
        body = self.rng.choice([
            {"notes": f"Soak edit {self.counter}: a relative called again."},
            {"last_seen_on": f"2016-0{self.rng.randrange(1, 10)}"},
            {"place_of_origin": self.rng.choice(["Douma", "Daraya", "Homs", "Aleppo", "Hama"])},
        ])
        self.counter += 1
        etag = self.etags.pop(file)
        status, headers, _ = await self.call("patch_file", due, "PATCH", f"/api/v1/detainees/{file}", "cw",
                                             body, {"If-Match": etag})
        if status == 200:
            self.remember_etag(file, headers)
            self.recent.append(file)

    async def custody(self, due):
        file = self.pick_file()
        year = self.rng.randrange(2011, 2020)
        body = {"facility_id": self.rng.choice(self.facilities), "from": f"{year}-0{self.rng.randrange(1, 10)}",
                "to": f"{year + 1}-0{self.rng.randrange(1, 10)}", "note": "Seen there by a released cellmate."}
        status, _, _ = await self.call("custody", due, "POST", f"/api/v1/detainees/{file}/custody", "cw", body)
        if status < 300:
            self.recent.append(file)

    async def review_queue(self, due):
        who = self.rng.choice(["a1", "a2", "b"])
        await self.call("review_queue", due, "GET", "/api/v1/reviews?status=open&limit=20", who)

    async def audit(self, due):
        roll = self.rng.random()
        target = self.rng.choice(self.recent) if self.recent else self.pick_file()
        if roll < 0.4:
            await self.call("audit:entity", due, "GET", f"/api/v1/audit?entity_id={target}&limit=50", "aud")
        elif roll < 0.65:
            await self.call("audit:access", due, "GET", f"/api/v1/audit/access?entity_id={target}&limit=50", "aud")
        elif roll < 0.8 or self.audit_head is None:
            status, _, head = await self.call("audit:head", due, "GET", "/api/v1/audit/head", "aud")
            if status == 200 and head:
                self.audit_head = head.get("seq")
        else:
            after = max(0, self.audit_head - 50)
            await self.call("audit:latest", due, "GET", f"/api/v1/audit?after_seq={after}&limit=50", "aud")

    def new_pipeline(self):
        # Files created here half the time: seeded files may be accused of
        # major crimes without our knowing, so they are only ever withheld.
        pool = self.reviewable_created if self.reviewable_created and (
            not self.reviewable or self.rng.random() < 0.5) else self.reviewable
        i = self.rng.randrange(len(pool))
        file = pool[i]
        pool[i] = pool[-1]
        pool.pop()
        claimant = self.rng.choice(["a1", "a2", "b"])
        confirmer = "b" if claimant != "b" else self.rng.choice(["a1", "a2"])
        roll = self.rng.random()
        if roll < 0.05:
            steps = ["withdraw"]
        elif file in self.major and roll < 0.7:
            steps = ["claim", "read", "consult", "decide:cleared_for_release"]
            if self.rng.random() < 0.25:
                steps += ["dispute", "decide:cleared_for_release"]
            steps += ["confirm", "release"]
        elif file in self.created and file not in self.major and roll < 0.5:
            steps = ["claim", "read", "decide:cleared_for_release", "release"]
        else:  # seeded files (some accused of major crimes): withheld needs no one else
            steps = ["claim", "read", "decide:release_withheld"]
        return Pipeline(file, ["open"] + steps, claimant, confirmer)

    async def review(self, due):
        can_open = self.in_progress < 12 and (self.reviewable or self.reviewable_created)
        if self.ready and (not can_open or self.rng.random() < 0.8):
            pipeline = self.ready.popleft()
        elif can_open:
            pipeline = self.new_pipeline()
            self.in_progress += 1
        else:
            return await self.review_queue(due)
        step = pipeline.steps.pop(0)
        file, review = pipeline.file, pipeline.review
        post = lambda user, action, body: self.call(  # noqa: E731
            f"review:{action}", due, "POST", f"/api/v1/reviews/{review}/{action}", user, body)
        if step == "open":
            status, _, body = await self.call("review:open", due, "POST", f"/api/v1/detainees/{file}/reviews",
                                              "cw", {"reason": "The prison was opened; the family asks."})
            if status == 201 and body:
                pipeline.review = body["id"]
        elif step == "claim":
            status, _, _ = await post(pipeline.claimant, "claim", {})
        elif step == "read":
            status, _, _ = await self.call("review:read", due, "GET", f"/api/v1/reviews/{review}",
                                           pipeline.claimant)
        elif step == "consult":
            status, _, _ = await post("fam", "consultations", {
                "position": self.rng.choice(["supports_release", "opposes_release", "no_position"]),
                "statement": "Our families hold testimony about the checkpoint."})
        elif step.startswith("decide:"):
            status, _, _ = await post(pipeline.claimant, "decision",
                                      {"decision": step.split(":")[1], "rationale": RATIONALE})
        elif step == "dispute":
            status, _, _ = await post(pipeline.confirmer, "dispute", {"reason": "The statement was not weighed."})
        elif step == "confirm":
            status, _, _ = await post(pipeline.confirmer, "confirm", {"note": "Agreed."})
        elif step == "withdraw":
            status, _, _ = await post("cw", "withdraw", {"reason": "Opened by mistake."})
        elif step == "release":
            status, _, _ = await self.call(
                "review:release", due, "PATCH", f"/api/v1/detainees/{file}", "cw",
                {"status": "released", "released_on": "2025-01"}, {"If-Match": "*"})
        else:
            raise AssertionError(step)
        if review:
            self.recent.append(review)
        if not 200 <= status < 300:
            # Give up this review; its file stays out of the pool (its review
            # may still be undecided, and a new one would only get 409).
            self.in_progress -= 1
        elif pipeline.steps:
            self.ready.append(pipeline)
        else:
            self.in_progress -= 1
            if step != "release":
                (self.reviewable_created if file in self.created else self.reviewable).append(file)
            self.recent.append(file)

    # ---- the run --------------------------------------------------------------

    async def prepare(self):
        with open(self.args.ids) as f:
            self.files = [line.strip() for line in f if line.strip()]
        self.reviewable = list(self.files)
        with open(self.args.queries) as f:
            self.queries = [line.split("\t")[0] for line in f if line.strip()]
        for name, username in [("cw", "demo.caseworker"), ("aud", "demo.auditor"), ("a1", "soak.reviewer.a1"),
                               ("a2", "soak.reviewer.a2"), ("b", "soak.reviewer.b"), ("fam", "soak.family")]:
            await self.login(name, username)
        page = await self.setup_call("GET", "/api/v1/facilities?limit=50", "cw")
        self.facilities = [f["id"] for f in page["items"]]
        self.client.close()

    async def db_size_mb(self):
        db = self.args.db
        try:
            if db.startswith("sqlite://"):
                path = db[len("sqlite://"):]
                return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p)) / 1e6
            proc = await asyncio.create_subprocess_exec(
                "psql", db, "-Atc", "SELECT pg_database_size(current_database())",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
            out, _ = await asyncio.wait_for(proc.communicate(), 10)
            return int(out.strip()) / 1e6
        except (OSError, ValueError, asyncio.TimeoutError):
            return None

    async def sample(self, t):
        window, self.window = self.window, []
        proc = proc_status(self.args.pid)
        rss, threads, fds = proc["rss_mb"], proc["threads"], proc["fds"]
        db_mb = await self.db_size_mb()
        latencies = sorted(latency for latency, _ in window)
        row = {
            "t_s": round(t), "requests": len(window),
            "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "max_ms": latencies[-1] if latencies else float("nan"),
            "non_2xx": sum(1 for _, s in window if not 200 <= s < 300),
            "http_5xx": sum(1 for _, s in window if s >= 500),
            "no_answer": sum(1 for _, s in window if s == 0),
            **proc, "db_mb": db_mb,
        }
        self.samples.append(row)
        with open(self.args.csv, "a") as f:
            f.write(",".join("" if v is None or (isinstance(v, float) and math.isnan(v))
                             else (f"{v:.2f}" if isinstance(v, float) else str(v))
                             for v in row.values()) + "\n")
        fmt = lambda v, spec: "—" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)  # noqa: E731
        alarm = "  !!! 5xx/no answer" if row["http_5xx"] or row["no_answer"] else ""
        print(f"   {self.args.engine:8} t={row['t_s']:5d}s  {row['requests']:6d} req  "
              f"p50 {fmt(row['p50_ms'], '6.2f')} ms  p99 {fmt(row['p99_ms'], '7.2f')} ms  "
              f"max {fmt(row['max_ms'], '7.1f')} ms  non-2xx {row['non_2xx']:4d}  "
              f"RSS {fmt(rss, '6.1f')} MB (anon {fmt(proc['rss_anon_mb'], '6.1f')})  threads {fmt(threads, 'd')}  fds {fmt(fds, 'd')}  "
              f"db {fmt(db_mb, '7.1f')} MB{alarm}", flush=True)
        if rss is None:
            print(f"   !!! the server (pid {self.args.pid}) is gone", flush=True)
            self.stopping = True

    async def dispatch(self, op, due):
        try:
            await getattr(self, op)(due)
        except Exception as e:  # a bug here must not stop the soak silently
            self.record(op, 0, 0.0)
            if len(self.failures) < 10:
                self.failures.append(f"{op}: load generator error {type(e).__name__}: {e}")

    async def run(self):
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.interrupt)
        await self.prepare()
        with open(self.args.csv, "w") as f:
            f.write("t_s,requests,p50_ms,p99_ms,max_ms,non_2xx,http_5xx,no_answer,"
                    "rss_mb,rss_anon_mb,rss_file_mb,peak_rss_mb,threads,fds,db_mb\n")
        await self.sample(0)  # idle, before any load
        ops = [op for op, _ in MIX]
        weights = [w for _, w in MIX]
        refresher = asyncio.create_task(self.keep_tokens_fresh())
        start = loop.time()
        end = start + self.args.seconds
        sampler = asyncio.create_task(self.sampler(start, end))
        interval = 1.0 / self.args.rate
        i = 0
        while not self.stopping:
            due = start + i * interval
            if due >= end:
                break
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            i += 1
            if len(self.tasks) >= MAX_IN_FLIGHT:
                self.skipped += 1
                continue
            task = asyncio.create_task(self.dispatch(self.rng.choices(ops, weights)[0], due))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        while not self.stopping and loop.time() < end:  # the last interval
            await asyncio.sleep(min(0.1, end - loop.time()))
        self.stopping = True
        refresher.cancel()
        sampler.cancel()
        if self.tasks:  # let the requests in flight finish (they count in the last window)
            await asyncio.wait(list(self.tasks), timeout=REQUEST_TIMEOUT + 5)
        try:
            await sampler
        except asyncio.CancelledError:
            pass
        await self.sample(min(loop.time(), end) - start)
        self.client.close()
        return self.summary(loop.time() - start)

    async def sampler(self, start, end):
        """A sample every SAMPLE seconds until the end (the last one is taken after the drain)."""
        loop = asyncio.get_running_loop()
        k = 1
        while start + k * self.args.sample < end - 1e-6:
            await asyncio.sleep(max(0.0, start + k * self.args.sample - loop.time()))
            if self.stopping:
                return
            await self.sample(k * self.args.sample)
            k += 1

    def interrupt(self):
        if not self.stopping:
            print("   interrupted: stopping the load", flush=True)
        self.stopping = self.interrupted = True

    def summary(self, elapsed):
        lines = []
        out = lines.append
        total = sum(self.statuses.values())
        loaded = [s for s in self.samples if s["t_s"] > 0 and s["requests"] > 0]
        out(f"== {self.args.engine}: summary, {elapsed:.0f} s at {self.args.rate:g} req/s"
            f"{' (interrupted)' if self.interrupted else ''}")
        out(f"   requests: {total} ({total / max(elapsed, 1e-9):.1f}/s)"
            + (f", {self.skipped} not sent ({MAX_IN_FLIGHT} already in flight: overloaded)" if self.skipped else ""))
        rss = [(s["t_s"], s["rss_mb"]) for s in loaded if s["rss_mb"] is not None]
        if rss:
            idle = self.samples[0]["rss_mb"] or float("nan")
            out(f"   RSS: idle {idle:.1f} MB; first window {rss[0][1]:.1f} MB, last {rss[-1][1]:.1f} MB, "
                f"max {max(r for _, r in rss):.1f} MB (peak {max(s['peak_rss_mb'] or 0 for s in loaded):.1f} MB)")
            anon = [(s["t_s"], s["rss_anon_mb"]) for s in loaded if s["rss_anon_mb"] is not None]
            out(f"   RSS anonymous (heap, stacks): first window {anon[0][1]:.1f} MB, last {anon[-1][1]:.1f} MB, "
                f"max {max(r for _, r in anon):.1f} MB; the rest is file-backed "
                f"(the binary; on SQLite also the memory-mapped database, which grows with the file)")
            if len(rss) >= 4:
                out(f"   RSS slope: {slope(rss[2:]):+.3f} MB/min, anonymous {slope(anon[2:]):+.3f} MB/min "
                    f"(least squares over the {len(rss) - 2} samples after the first two)")
            else:
                out("   RSS slope: n/a (fewer than 4 samples)")
            first, last = loaded[0], loaded[-1]
            out(f"   threads {first['threads']} → {last['threads']}, open fds {first['fds']} → {last['fds']}, "
                f"database {first['db_mb'] or 0:.1f} → {last['db_mb'] or 0:.1f} MB")
        p99s = [(s["p99_ms"], s["t_s"]) for s in loaded]
        if p99s:
            worst = max(p99s)
            out(f"   p99 by window: median {statistics.median(p for p, _ in p99s):.2f} ms, "
                f"worst {worst[0]:.2f} ms (window ending t={worst[1]} s)")
        everything = sorted(x for op in self.latencies for x in self.latencies[op])
        if everything:
            out(f"   all requests: p50 {percentile(everything, 50):.2f} ms, p99 {percentile(everything, 99):.2f} ms, "
                f"max {everything[-1]:.1f} ms")
        out("   per operation:            n     p50 ms    p99 ms    max ms")
        for op in sorted(self.latencies):
            values = sorted(self.latencies[op])
            out(f"     {op:20} {len(values):7d}  {percentile(values, 50):8.2f}  {percentile(values, 99):8.2f}  "
                f"{values[-1]:8.1f}")
        by_status = collections.defaultdict(collections.Counter)
        for (status, op), n in self.statuses.items():
            if not 200 <= status < 300:
                by_status[status][op] += n
        if by_status:
            out("   non-2xx by status:")
            for status in sorted(by_status):
                ops = ", ".join(f"{op} {n}" for op, n in by_status[status].most_common())
                label = "no answer" if status == 0 else str(status)
                out(f"     {label:>9}: {sum(by_status[status].values()):6d}  ({ops})")
        else:
            out("   non-2xx: none")
        bad = sum(n for (status, _), n in self.statuses.items() if status >= 500 or status == 0)
        if bad:
            out(f"   !!! {bad} requests answered 5xx or not at all. Examples:")
            for failure in self.failures:
                out(f"   !!!   {failure}")
        else:
            out("   5xx: none; every request was answered")
        text = "\n".join(lines)
        print(text, flush=True)
        with open(self.args.summary, "w") as f:
            f.write(text + "\n")
        if self.interrupted:
            return 130
        return 3 if bad else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--engine", required=True)
    p.add_argument("--pid", type=int, required=True, help="the server's pid (for its RSS)")
    p.add_argument("--db", required=True, help="sqlite://PATH or a postgres:// URL (for its size)")
    p.add_argument("--ids", required=True, help="seed-demo --ids-out")
    p.add_argument("--queries", required=True, help="seed-demo --queries-out")
    p.add_argument("--password", required=True, help="of every account the soak logs in as")
    p.add_argument("--seconds", type=float, default=600)
    p.add_argument("--sample", type=float, default=30)
    p.add_argument("--rate", type=float, default=50)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--csv", required=True)
    p.add_argument("--summary", required=True)
    args = p.parse_args()
    sys.exit(asyncio.run(Soak(args).run()))


if __name__ == "__main__":
    main()
