"""Attachment load for bench/attachments.sh (stdlib only; 127.0.0.1 only).

  notes   BASE TOKEN N OUT         open N files with source notes; ids to OUT
  upload  BASE TOKEN FILE PATH PID one upload of PATH, timed; peak RSS growth of PID
  download BASE TOKEN ID SIZE PID  one download, timed; peak RSS growth of PID
  many    BASE TOKEN FILE CONNS N SIZE   N uploads of SIZE bytes, CONNS at once
"""
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse


def conn(base):
    host, port = urllib.parse.urlparse(base).netloc.split(":")
    return http.client.HTTPConnection(host, int(port), timeout=300)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssPeak(threading.Thread):
    """The largest RSS of PID while running, sampled every 10 ms."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.before, self.peak, self.running = pid, rss_kib(pid), 0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.01)

    def stop(self):
        self.running = False
        self.join()
        return (max(self.peak, rss_kib(self.pid)) - self.before) / 1024


def notes(base, token, n, out):
    n = int(n)
    c = conn(base)
    with open(out, "w") as ids:
        for i in range(n):
            body = json.dumps({
                "full_name": f"Bench Person {i}",
                "source_notes": f"Informant {i}: met twice in Gaziantep; " + "testimony " * 20,
            })
            c.request("POST", "/api/v1/detainees", body,
                      {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            r = c.getresponse()
            assert r.status == 201, (r.status, r.read())
            ids.write(json.loads(r.read())["id"] + "\n")


def upload_body(c, token, file, body):
    c.putrequest("POST", f"/api/v1/detainees/{file}/attachments")
    for k, v in (("Authorization", f"Bearer {token}"), ("Content-Type", "application/pdf"),
                 ("Sijill-Filename", "bench.pdf"), ("Content-Length", str(len(body)))):
        c.putheader(k, v)
    c.endheaders()
    view = memoryview(body)
    for i in range(0, len(body), 1 << 20):
        c.send(view[i:i + (1 << 20)])
    r = c.getresponse()
    data = r.read()
    assert r.status == 201, (r.status, data[:300])
    return json.loads(data)


def upload(base, token, file, path, pid):
    body = open(path, "rb").read()
    c = conn(base)
    peak = RssPeak(int(pid)); peak.start()
    start = time.perf_counter()
    made = upload_body(c, token, file, body)
    took = time.perf_counter() - start
    growth = peak.stop()
    print(json.dumps({"id": made["id"], "seconds": took, "mib_s": len(body) / 2**20 / took, "rss_growth_mib": growth}))


def download(base, token, ident, size, pid):
    c = conn(base)
    peak = RssPeak(int(pid)); peak.start()
    start = time.perf_counter()
    c.request("GET", f"/api/v1/attachments/{ident}/content", headers={"Authorization": f"Bearer {token}"})
    r = c.getresponse()
    got = 0
    while True:
        piece = r.read(1 << 20)
        if not piece:
            break
        got += len(piece)
    took = time.perf_counter() - start
    growth = peak.stop()
    assert r.status == 200 and got == int(size), (r.status, got)
    print(json.dumps({"seconds": took, "mib_s": got / 2**20 / took, "rss_growth_mib": growth}))


def many(base, token, file, conns, n, size):
    conns, n, size = int(conns), int(n), int(size)
    latencies, lock, counter = [], threading.Lock(), iter(range(n))
    filler = bytes(size)

    def worker():
        c = conn(base)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            # Each a content of its own (no deduplication).
            body = b"%PDF-1.7\n% " + str(i).encode().rjust(12, b"0") + b"\n" + filler[: size - 22]
            start = time.perf_counter()
            upload_body(c, token, file, body)
            with lock:
                latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - start
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    print(f"{n} uploads of {size / 2**20:.0f} MiB, {conns} at once: {n / took:.1f} uploads/s, "
          f"{n * size / 2**20 / took:.0f} MiB/s, p50 {p(0.5):.0f} ms, p99 {p(0.99):.0f} ms")


if __name__ == "__main__":
    {"notes": notes, "upload": upload, "download": download, "many": many}[sys.argv[1]](*sys.argv[2:])
