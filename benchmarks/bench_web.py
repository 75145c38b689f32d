"""`runmuscles serve`, timed on this machine: first page, requests, what-if, imports, browser repaint.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_web.py [--moves 8] [--imports 100] [--clients 8] [--json FILE]
                                             [--no-browser] [--clients-only] [--src OTHER/src]

Starts the real server (``runmuscles serve --port 0 --no-browser`` in a new process, with a
new data folder; what-ifs computed in up to 2 worker processes) and reports, with the host's
load average (at the start and before each part) and CPU count:

* **first page**: seconds from starting the process to the first page answered;
* **request**: median and 95th percentile of 200 loopback requests of the runs page;
* **first analysis**: the first what-if (the runner loaded in a worker process); from then on
  the server computes ahead the conditions one slider move away (:mod:`runmuscles.whatif.ahead`);
* **8 clients**: ``--clients`` concurrent what-if clients, each sending a grade change (a
  random walk over the slider's 1 % steps) every 250 ms for 30 s; latency median, 95th
  percentile, and how many requests had to wait for a computation; twice: right after the
  first analysis (while the server computes ahead) and after computing ahead;
* **what-if not computed yet**: grades off the slider's steps (never computed ahead), each
  one engine run while the workers compute ahead;
* **computing ahead**: seconds from the first analysis until every slider's steps around the
  baseline (and around the clients' conditions) were computed (``--ahead-wait`` at most);
* **slider to repaint**: in headless Chromium (the project's DevTools-pipe driver), from
  setting the grade slider to a random step to the frame after the body map's fills were
  replaced (after computing ahead; the bench asks for none of these grades itself);
* **import**: seconds to upload and import a zip of ``--imports`` distinct GPX files
  (time-shifted copies of a shared run: each copy's timestamps moved by whole days).

``--clients-only`` stops after the first 8-client run (right after the first analysis);
``--src`` serves another checkout's sources (e.g. the commit before a change, timed in the same
conditions).

Issue 16's targets: slider to repaint median < 100 ms and 95th percentile < 200 ms; 8 clients
95th percentile < 500 ms; 100 imports < 60 s.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WATCH = (REPO / ".." / "shared" / "data" / "watch").resolve()


def _p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, round(0.95 * len(xs)) - 1)]


def _shifted_gpx(text: str, days: int) -> str:
    def move(m: re.Match) -> str:
        t = datetime.fromisoformat(m.group(1).replace("Z", "+00:00")) + timedelta(days=days)
        return f"<time>{t.strftime('%Y-%m-%dT%H:%M:%SZ')}</time>"

    return re.sub(r"<time>([^<]+)</time>", move, text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=8, help="grade changes timed (API and browser)")
    ap.add_argument("--imports", type=int, default=100, help="distinct GPX files imported in one zip")
    ap.add_argument("--clients", type=int, default=8, help="concurrent what-if clients")
    ap.add_argument("--client-seconds", type=float, default=30.0, help="how long the clients run")
    ap.add_argument("--ahead-wait", type=float, default=900.0, help="longest wait for computing ahead (s)")
    ap.add_argument("--json", type=Path, help="write the numbers here")
    ap.add_argument("--no-browser", action="store_true", help="skip the headless-Chromium timing")
    ap.add_argument("--screenshots", type=Path, help="save PNGs of the what-if and a run page here")
    ap.add_argument(
        "--clients-only", action="store_true", help="stop after the clients right after the first analysis"
    )
    ap.add_argument("--src", type=Path, default=REPO / "src", help="the sources the server runs")
    args = ap.parse_args()

    import httpx  # noqa: PLC0415

    load = os.getloadavg()
    print(f"host: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    out: dict = {"cpus": os.cpu_count(), "loadavg": load}
    data = Path(tempfile.mkdtemp(prefix="bench-web-"))
    env = {**os.environ, "PYTHONPATH": str(args.src.resolve())}
    out["src"] = str(args.src)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "runmuscles", "serve", "--port", "0", "--no-browser", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        url = proc.stdout.readline().strip()
        origin = url.split("/?")[0]
        c = httpx.Client(follow_redirects=True, timeout=120)
        while True:
            try:
                r = c.get(url)
                break
            except httpx.ConnectError:
                time.sleep(0.01)
        out["first_page_s"] = time.perf_counter() - t0
        print(f"first page: {out['first_page_s']:.2f} s after start")
        csrf = re.search(r'name="csrf-token" content="(\w+)"', r.text).group(1)

        times = []
        for _ in range(200):
            t = time.perf_counter()
            c.get(origin + "/runs").raise_for_status()
            times.append(1000 * (time.perf_counter() - t))
        out["request_ms"] = {"median": statistics.median(times), "p95": _p95(times)}
        print(
            f"request (runs page, loopback): median {statistics.median(times):.2f} ms, "
            f"p95 {_p95(times):.2f} ms"
        )

        t = time.perf_counter()
        c.get(origin + "/api/whatif", params={"grade_pct": 0}).raise_for_status()
        first_done = time.perf_counter()
        out["whatif_first_s"] = first_done - t
        print(f"what-if, first analysis (runner loaded in a worker): {out['whatif_first_s']:.1f} s")

        out["clients"] = _clients(
            origin, c, args.clients, args.client_seconds, "right after the first analysis"
        )
        if args.clients_only:
            out["ahead_at_end"] = c.get(origin + "/api/whatif/status").json()
            return _finish(proc, out, args.json)

        out["load_before_miss"] = os.getloadavg()
        grades = [(-1) ** k * (2.5 + 2 * (k % 5)) for k in range(args.moves)]  # off the 1 % steps
        times = []
        for g in grades:
            t = time.perf_counter()
            c.get(origin + "/api/whatif", params={"grade_pct": g}).raise_for_status()
            times.append(1000 * (time.perf_counter() - t))
        out["whatif_not_computed_ms"] = {
            "median": statistics.median(times),
            "p95": _p95(times),
            "n": len(times),
        }
        print(
            f"what-if not computed yet (grades off the slider's steps, one engine run each while the "
            f"workers compute ahead): median {statistics.median(times):.0f} ms, p95 {_p95(times):.0f} ms "
            f"(load {out['load_before_miss'][0]:.1f})"
        )

        deadline = time.perf_counter() + args.ahead_wait
        while True:
            st = c.get(origin + "/api/whatif/status").json()
            if (st["queued"] == 0 and st["computing"] == 0) or time.perf_counter() > deadline:
                break
            time.sleep(1.0)
        ahead_s = time.perf_counter() - first_done
        per_run = st["compute_s"] / max(st["computed"], 1)
        out["ahead"] = {**st, "seconds_after_first_analysis": ahead_s, "seconds_per_condition": per_run}
        print(
            f"computing ahead: {st['computed_ahead']} conditions in {ahead_s:.0f} s after the first analysis "
            f"({st['queued']} still queued; {per_run:.2f} s per condition in a worker)"
        )

        out["clients_after_ahead"] = _clients(
            origin, c, args.clients, args.client_seconds, "after computing ahead"
        )

        if not args.no_browser:
            out["load_before_browser"] = os.getloadavg()
            rng = random.Random(16)
            moves = [0]
            while len(moves) <= max(args.moves, 20):  # random steps, each a change
                g = rng.randint(-20, 20)
                if g != moves[-1]:
                    moves.append(g)
            moves = moves[1:]
            before = c.get(origin + "/api/whatif/status").json()
            out["slider_to_repaint_ms"] = _browser(url, origin, moves)
            after = c.get(origin + "/api/whatif/status").json()
            out["slider_to_repaint_ms"]["waited_for_a_computation"] = after["waited"] - before["waited"]

        gpx = (WATCH / "korita-zbevnica.gpx").read_text()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for k in range(args.imports):
                zf.writestr(f"runs/run{k:03d}.gpx", _shifted_gpx(gpx, k + 1))
        t = time.perf_counter()
        r = c.post(
            f"{origin}/upload?csrf_token={csrf}",
            files=[("files", ("runs.zip", buf.getvalue(), "application/zip"))],
        )
        r.raise_for_status()
        added = r.text.count('data-status="added"')
        out["import"] = {"files": args.imports, "added": added, "seconds": time.perf_counter() - t}
        print(
            f"import of {args.imports} distinct GPX files in a zip: {out['import']['seconds']:.1f} s "
            f"({added} added)"
        )
        if args.screenshots:
            fit = WATCH / "garmin-fenix-5-run.fit"
            r = c.post(
                f"{origin}/upload?csrf_token={csrf}",
                files=[("files", (fit.name, fit.read_bytes(), "application/octet-stream"))],
            )
            run_id = int(re.search(r'href="/runs/(\d+)"', r.text).group(1))
            _screenshots(url, origin, args.screenshots, run_id)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    _finish(proc, out, args.json)


def _finish(proc: subprocess.Popen, out: dict, path: Path | None) -> None:
    proc.terminate()
    proc.wait(timeout=10)
    out["loadavg_end"] = os.getloadavg()
    print(f"host load average at the end: {out['loadavg_end'][0]:.2f}")
    if path:
        path.write_text(json.dumps(out, indent=2))


def _clients(origin: str, main, n: int, seconds: float, when: str, period_s: float = 0.25) -> dict:
    """``n`` clients at once, each a random walk over the grade slider's steps, one change per
    ``period_s`` (a late answer makes the client skip the ticks it missed, as a page that
    aborts stale requests would)."""
    import httpx  # noqa: PLC0415

    load = os.getloadavg()
    before = main.get(origin + "/api/whatif/status").json()
    times: list[float] = []
    errors: list[str] = []

    def run(seed: int) -> None:
        rng = random.Random(seed)
        g = 0
        with httpx.Client(cookies=main.cookies, timeout=120) as cl:
            start = time.perf_counter()
            tick = start
            while tick < start + seconds:
                g = min(20, max(-20, g + rng.choice((-3, -2, -1, 1, 2, 3))))
                t = time.perf_counter()
                r = cl.get(origin + "/api/whatif", params={"grade_pct": g})
                if r.status_code != 200:
                    errors.append(f"{g}: {r.status_code}")
                times.append(1000 * (time.perf_counter() - t))
                now = time.perf_counter()
                tick = max(tick + period_s, now)
                time.sleep(max(0.0, tick - now))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    after = main.get(origin + "/api/whatif/status").json()
    res = {
        "clients": n,
        "seconds": seconds,
        "requests": len(times),
        "median": statistics.median(times),
        "p95": _p95(times),
        "max": max(times),
        "waited_for_a_computation": after["waited"] - before["waited"],
        "errors": errors,
        "loadavg": load,
        "when": when,
    }
    print(
        f"{n} what-if clients, a grade change each every {1000 * period_s:.0f} ms for {seconds:g} s "
        f"(2 worker processes, {when}, load {load[0]:.1f}): {len(times)} requests, "
        f"median {res['median']:.0f} ms, p95 {res['p95']:.0f} ms, max {res['max']:.0f} ms; "
        f"{res['waited_for_a_computation']} waited for a computation; {len(errors)} errors"
    )
    return res


def _browser(url: str, origin: str, grades: list[int]) -> dict:
    from runmuscles.reports.browser import HeadlessBrowser  # noqa: PLC0415

    with HeadlessBrowser(timeout_s=120) as b:
        b.open(url)
        b.open(origin + "/whatif")
        times = []
        for g in grades:
            times.append(
                b.evaluate(
                    "new Promise(res => { const s = document.getElementById('grade');"
                    " const t0 = performance.now();"
                    f" s.value = {g}; s.dispatchEvent(new Event('input'));"
                    " (function poll() { if (document.body.dataset.whatif === 'done' &&"
                    f" document.body.dataset.whatifGrade === '{g}')"
                    " requestAnimationFrame(() => res(performance.now() - t0));"
                    " else setTimeout(poll, 1); })(); })"
                )
            )
    res = {"median": statistics.median(times), "p95": _p95(times), "n": len(times)}
    print(f"slider to repainted body map (Chromium): median {res['median']:.0f} ms, p95 {res['p95']:.0f} ms")
    return res


def _screenshots(url: str, origin: str, folder: Path, run_id: int) -> None:
    from runmuscles.reports.browser import HeadlessBrowser  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    with HeadlessBrowser(width=1280, height=900, timeout_s=120) as b:
        b.open(url)
        b.open(origin + "/whatif")
        b.evaluate(
            "new Promise(res => { const s = document.getElementById('grade'); s.value = 10;"
            " s.dispatchEvent(new Event('input')); (function poll() {"
            " if (document.body.dataset.whatif === 'done') res(1); else setTimeout(poll, 20); })(); })"
        )
        b.screenshot(folder / "web-whatif.png")
        b.open(f"{origin}/runs/{run_id}")
        b.screenshot(folder / "web-run.png")
    print(f"screenshots: {folder / 'web-whatif.png'}, {folder / 'web-run.png'}")


if __name__ == "__main__":
    main()
