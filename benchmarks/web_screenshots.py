"""Screenshots of the real app's pages for the README (docs/web-*.png), taken in headless Chromium.

Starts ``runmuscles serve`` on a fresh data folder, then drives the browser as a user would:
the Upload page, a lab session uploaded through its form (the shared Fukuchi 2017 C3D trial
with its static trial, a window of a few strides), the analysis page once it is done (its
quality panel, body map and the curves on one axis), and the What-if page after moving two sliders. Prints
how long the lab analysis took, stage by stage, and the host's load.

    PYTHONPATH=src python benchmarks/web_screenshots.py [--out docs] [--start 10 --end 12.5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"


def _serve(data_dir: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runmuscles",
            "serve",
            "--port",
            "0",
            "--no-browser",
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().strip()
    if not line:
        proc.kill()
        raise SystemExit(proc.stderr.read())
    return proc, line


def _wait(b, expression: str, timeout_s: float, every_s: float = 0.5) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if b.evaluate(expression):
                return
        except Exception:  # noqa: BLE001 - the page is reloading
            pass
        time.sleep(every_s)
    raise SystemExit(f"timed out waiting for: {expression}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE.parent / "docs")
    ap.add_argument("--start", default="10", help="analysis window start (s)")
    ap.add_argument("--end", default="12.5", help="analysis window end (s)")
    args = ap.parse_args()
    from runmuscles.reports.browser import HeadlessBrowser  # noqa: PLC0415

    fk = SHARED / "fukuchi2017" / "RBDS001"
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"host load (1, 5, 15 min): {os.getloadavg()}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = _serve(Path(tmp) / "data")
        origin = url.split("/?")[0]
        try:
            with HeadlessBrowser(width=1280, height=900, timeout_s=300) as b:
                b.open(url)
                b.open(origin + "/upload")
                doc = b.call("DOM.getDocument")["root"]["nodeId"]
                for selector, path in (
                    ("#lab-trial", fk / "RBDS001runT35.c3d"),
                    ("#lab-static", fk / "RBDS001static.c3d"),
                ):
                    node = b.call("DOM.querySelector", {"nodeId": doc, "selector": selector})["nodeId"]
                    b.call("DOM.setFileInputFiles", {"nodeId": node, "files": [str(path)]})
                b.evaluate(f"document.getElementById('lab-start').value = '{args.start}'")
                b.evaluate(f"document.getElementById('lab-end').value = '{args.end}'")
                b.screenshot(args.out / "web-upload.png", full_page=True)
                t0 = time.perf_counter()
                b._events = [e for e in b._events if e["method"] != "Page.loadEventFired"]
                b.evaluate("document.getElementById('lab-form').requestSubmit()")
                b.wait_for_event("Page.loadEventFired", timeout_s=300)
                _wait(b, "!!document.getElementById('progress-stages').children.length", 600)
                b.screenshot(args.out / "web-analysis-progress.png")
                _wait(
                    b,
                    "!document.getElementById('analysis-progress') && document.readyState == 'complete'",
                    3600,
                )
                took_s = time.perf_counter() - t0
                print(f"lab analysis (C3D + static, {args.start}-{args.end} s): {took_s:.0f} s")
                b.evaluate("window.scrollTo(0, 0)")
                b.screenshot(args.out / "web-analysis-quality.png")
                b.screenshot(args.out / "web-analysis.png", selector="#t0-bodymap")
                b.evaluate("document.querySelector('.curves-row[data-level=muscle]').scrollIntoView()")
                b.screenshot(args.out / "web-analysis-curves.png", selector=".curves-row[data-level=muscle]")
                b.open(origin + "/whatif")
                b.evaluate(
                    "(() => { for (const [id, v] of [['grade', 6], ['cadence', 110]]) {"
                    " const s = document.getElementById(id); s.value = v;"
                    " s.dispatchEvent(new Event('input')); } })()"
                )
                _wait(b, "document.body.dataset.whatifQuery === 'grade_pct=6&cadence_pct=110'", 300, 0.2)
                b.screenshot(args.out / "web-whatif.png")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    for name in (
        "web-upload",
        "web-analysis-progress",
        "web-analysis-quality",
        "web-analysis",
        "web-analysis-curves",
        "web-whatif",
    ):
        print(args.out / f"{name}.png")


if __name__ == "__main__":
    main()
