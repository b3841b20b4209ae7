"""The auditor's console measured in headless Chromium over WebDriver
(stdlib only; 127.0.0.1 only). Used by bench/console.sh.

  python3 bench/console.py BASE USERNAME PASSWORD ROUNDS

Prints, for ROUNDS rounds each: the time the first page of the trail takes
to fetch and render (measured in the page, `#rendered`), and the time the
whole chain takes to be fetched and verified in the browser (`#progress`).
"""
import json
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driver:
    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen(["chromedriver", f"--port={self.port}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(200):
            try:
                if self.call("GET", "/status")["value"]["ready"]:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900"]}}}}
        self.session = self.call("POST", "/session", caps)["value"]["sessionId"]

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            # "no such element" and the like come as 404 with a JSON body.
            return json.load(e)

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)["value"]

    def find(self, css, timeout=600):
        end = time.time() + timeout
        while True:
            found = self.s("POST", "/element", {"using": "css selector", "value": css})
            if isinstance(found, dict) and found and "error" not in found:
                return next(iter(found.values()))
            if time.time() > end:
                raise SystemExit(f"no {css}")
            time.sleep(0.05)

    def text(self, css):
        return self.s("GET", f"/element/{self.find(css)}/text")

    def type(self, css, text):
        self.s("POST", f"/element/{self.find(css)}/value", {"text": text})

    def click(self, css):
        self.s("POST", f"/element/{self.find(css)}/click", {})

    def goto(self, url):
        self.s("POST", "/url", {"url": url})

    def quit(self):
        try:
            self.call("DELETE", f"/session/{self.session}")
        finally:
            self.proc.kill()


def main(base, username, password, rounds):
    d = Driver()
    try:
        d.goto(f"{base}/console/")
        d.type("#sign-in input[name=username]", username)
        d.type("#sign-in input[name=password]", password)
        d.click("#sign-in button[type=submit]")
        d.find("#trail tbody tr")
        pages = []
        for n in range(int(rounds)):
            d.goto(f"{base}/console/#/verify")
            d.find("#verify-now")
            d.goto(f"{base}/console/#/trail?round={n}")
            text = ""
            while f"round={n}" not in d.s("GET", "/url") or not text.endswith(" ms"):
                text = d.text("#rendered") if d.s("POST", "/elements", {"using": "css selector", "value": "#rendered"}) else ""
            pages.append(int(re.search(r"in (\d+) ms", text).group(1)))
        print(f"first page of the trail (50 entries, newest first), fetched and rendered: "
              f"{pages} ms -> median {statistics.median(pages)} ms")
        verifies = []
        for _ in range(int(rounds)):
            d.goto(f"{base}/console/#/verify")
            d.click("#verify-now")
            verdict = d.text("#verdict-text")
            progress = d.text("#progress")
            m = re.search(r"(\d+) entries fetched and checked in ([\d.]+) s", progress)
            verifies.append(float(m.group(2)))
        print(f"verification in the browser of {m.group(1)} entries: {verifies} s -> median "
              f"{statistics.median(verifies)} s; verdict: {verdict}")
    finally:
        d.quit()


if __name__ == "__main__":
    main(*sys.argv[1:])
