#!/usr/bin/env python3
"""browser_check.py - loads an HTML file in headless Chromium and checks that it shows cleanly.

    browser_check.py [--chromium PATH] [--screenshot out.png] [--timeout s] page.html

Drives Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: no port, no
websocket module needed). After the page's load event (plus a short settle) it reports:
  - every console error: uncaught JavaScript exceptions, console.error() calls, and the browser's
    own error log entries (a resource that failed to load: "Failed to load resource ..."),
  - every request that failed (Network.loadingFailed),
  - the <img> elements: how many there are and which are not displayed (not complete, or
    naturalWidth 0: a missing or undecodable picture).
The page is not modified; the image count is read by an expression evaluated in the page.
Prints "images N/M displayed", one line per problem, and exits 0 only when there is no problem.
Exit 2: Chromium could not be started or the page did not load within the timeout.
"""
import argparse
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time


class Pipe:
    def __init__(self, proc, rfd, wfd, timeout):
        self.proc, self.rfd, self.wfd, self.timeout = proc, rfd, wfd, timeout
        self.buf = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.wfd, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def read(self, deadline):
        """One message, or None at the deadline."""
        while b"\0" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                return None
            r, _, _ = select.select([self.rfd], [], [], left)
            if not r:
                return None
            chunk = os.read(self.rfd, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe (exit %s)" % self.proc.poll())
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None):
        i = self.send(method, params, session)
        deadline = time.time() + self.timeout
        while True:
            m = self.read(deadline)
            if m is None:
                raise TimeoutError("no answer to %s within %gs" % (method, self.timeout))
            if m.get("id") == i:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def pump(self, until, stop=None):
        """Collects events until the time `until` or until stop(event) is true."""
        while True:
            m = self.read(until)
            if m is None:
                return False
            self.events.append(m)
            if stop and stop(m):
                return True


IMAGES_JS = """(() => {
  const im = Array.from(document.images);
  const bad = im.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));
  return JSON.stringify({total: im.length, shown: im.length - bad.length, bad: bad});
})()"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--screenshot")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--max-height", type=int, default=6000)
    ap.add_argument("--verbose", action="store_true", help="time each step on stderr")
    a = ap.parse_args()
    t0 = time.time()

    def step(what):
        if a.verbose:
            print("browser_check: %6.1fs %s" % (time.time() - t0, what), file=sys.stderr)
    url = "file://" + os.path.abspath(a.page)
    prof = tempfile.mkdtemp(prefix="browser_check.")
    # fds 3 and 4 of the child: Chromium reads commands from 3 and writes answers to 4
    c_in_r, c_in_w = os.pipe()
    c_out_r, c_out_w = os.pipe()
    args = [a.chromium, "--headless", "--disable-gpu", "--remote-debugging-pipe", "--user-data-dir=" + prof,
            "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions", "--mute-audio",
            "--hide-scrollbars", "--window-size=%d,900" % a.width, "about:blank"]
    if os.geteuid() == 0:
        args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox

    def fds():  # in the child: the pipe ends onto 3 and 4, inheritable (dups first: no clash)
        r, w = os.dup(c_in_r), os.dup(c_out_w)
        os.dup2(r, 3)
        os.dup2(w, 4)

    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, preexec_fn=fds, close_fds=False)
    except OSError as e:
        print("browser_check: cannot start %s: %s" % (a.chromium, e), file=sys.stderr)
        return 2
    os.close(c_in_r)
    os.close(c_out_w)
    p = Pipe(proc, c_out_r, c_in_w, a.timeout)  # each step may take --timeout (a loaded machine is slow)
    problems = []
    try:
        step("started")
        tid = p.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = p.call("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
        for dom in ("Page", "Runtime", "Log", "Network"):
            p.call(dom + ".enable", session=sid)
        step("attached")
        p.events.clear()  # about:blank's events
        p.call("Page.navigate", {"url": url}, session=sid)
        loaded = any(e.get("method") == "Page.loadEventFired" for e in p.events) or \
            p.pump(time.time() + a.timeout, lambda e: e.get("method") == "Page.loadEventFired" and e.get("sessionId") == sid)
        if not loaded:
            print("browser_check: %s did not load within %gs" % (url, a.timeout), file=sys.stderr)
            return 2
        step("loaded")
        p.pump(time.time() + 0.5)  # late errors (scripts run after load, failed late requests)
        res = json.loads(p.call("Runtime.evaluate", {"expression": IMAGES_JS, "returnByValue": True},
                                session=sid)["result"]["value"])
        if a.screenshot:
            m = p.call("Page.getLayoutMetrics", session=sid)
            size = m.get("cssContentSize") or m["contentSize"]
            h = min(int(size["height"]) + 1, a.max_height)
            shot = p.call("Page.captureScreenshot",
                          {"format": "png", "captureBeyondViewport": True,
                           "clip": {"x": 0, "y": 0, "width": a.width, "height": h, "scale": 1}}, session=sid)
            with open(a.screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        urls = {e["params"]["requestId"]: e["params"]["request"]["url"]
                for e in p.events if e.get("method") == "Network.requestWillBeSent"}
        step("checked")
        for e in p.events:
            meth, prm = e.get("method"), e.get("params", {})
            if meth == "Runtime.exceptionThrown":
                d = prm["exceptionDetails"]
                text = (d.get("exception", {}).get("description") or d.get("text") or "").split("\n")[0]
                problems.append("console: uncaught exception: %s (line %s)" % (text, d.get("lineNumber")))
            elif meth == "Runtime.consoleAPICalled" and prm.get("type") in ("error", "assert"):
                text = " ".join(str(x.get("value", x.get("description", ""))) for x in prm.get("args", []))
                problems.append("console: console.%s: %s" % (prm["type"], text))
            elif meth == "Log.entryAdded" and prm["entry"]["level"] == "error":
                en = prm["entry"]
                problems.append("console: %s%s" % (en["text"], " " + en["url"] if en.get("url") else ""))
            elif meth == "Network.loadingFailed" and not prm.get("canceled"):
                problems.append("request failed: %s %s" % (prm.get("errorText"), urls.get(prm.get("requestId"), "?")))
        for b in res["bad"]:
            problems.append("image not displayed: %s" % b)
        print("images %d/%d displayed" % (res["shown"], res["total"]))
        for q in problems:
            print(q)
        return 1 if problems or res["total"] == 0 else 0
    except (RuntimeError, TimeoutError) as e:
        print("browser_check: %s" % e, file=sys.stderr)
        return 2
    finally:
        step("closing")
        try:
            p.send("Browser.close")
        except OSError:
            pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(prof, ignore_errors=True)
        step("closed")


if __name__ == "__main__":
    sys.exit(main())
