"""`runmuscles serve`: lab sessions (upload, roles, guards), the analysis page and its downloads.

A session of OpenSim files (the hamner2013 runner's joint angles, ExternalLoads and model)
goes the whole way through the app with FastAPI's TestClient: stored, analysed in the
background by the library call of ``runmuscles analyze``, shown with the report's rendering.
The C3D session with its static trial goes through a real headless Chromium.
"""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runmuscles.web import WebSettings, create_app, lab_uploads
from runmuscles.web.uploads import StoredFile, UploadRefused

TOKEN = "launch-token-for-lab-tests"
BASE = "http://127.0.0.1:8765"


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    app = create_app(WebSettings(data_dir=tmp_path / "data", token=TOKEN, prefetch=False))
    return TestClient(app, base_url=BASE, raise_server_exceptions=False)


def login(c: TestClient) -> str:
    r = c.get(f"/?token={TOKEN}")
    assert r.status_code == 200
    return re.search(r'name="csrf-token" content="([0-9a-f]+)"', r.text).group(1)


def post_lab(c: TestClient, csrf: str, files: list[tuple[str, bytes]], static=None, data=None, **kw):
    parts = [("trial", (n, d, "application/octet-stream")) for n, d in files]
    if static:
        parts.append(("static", (static[0], static[1], "application/octet-stream")))
    return c.post(f"/lab?csrf_token={csrf}", files=parts, data=data or {}, follow_redirects=False, **kw)


def error_text(r) -> str:
    m = re.search(r'<p class="error"[^>]*>(.*?)</p>', r.text, re.S)
    assert m, r.text[:500]
    return html.unescape(m.group(1))


def stored_jobs(c: TestClient) -> list[Path]:
    root = c.app.state.lab_jobs.root
    return sorted(p for p in root.glob("*/job.json")) if root.exists() else []


def opensim_session(hamner: Path) -> list[tuple[str, bytes]]:
    s = hamner / "subject01"
    return [
        ("Run_4.mot", (s / "ik" / "Run_4.mot").read_bytes()),
        ("Run_4_grf.xml", (s / "Run_4_grf.xml").read_bytes()),
        ("Run_4_grf.mot", (s / "Run_4_grf.mot").read_bytes()),
        ("subject01_adjusted_scaled.osim", (s / "model" / "subject01_adjusted_scaled.osim").read_bytes()),
    ]


def wait_done(c: TestClient, job_id: str, timeout_s: float = 900.0) -> dict:
    deadline = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < deadline:
        st = c.get(f"/api/analyses/{job_id}").json()
        seen.append(st["stage"])
        if st["state"] in ("done", "error"):
            st["seen"] = seen
            return st
        time.sleep(0.5)
    raise AssertionError(f"not done in {timeout_s} s: {seen[-3:]}")


# -- roles, content, references (no analysis) --------------------------------------------------------


def _stored(tmp_path: Path, name: str, data: bytes, field: str = "trial") -> StoredFile:
    import uuid

    fid = uuid.uuid4().hex
    suffix = "." + name.rsplit(".", 1)[-1].lower()
    p = tmp_path / f"{fid}{suffix}"
    p.write_bytes(data)
    return StoredFile(fid, name, suffix, p, len(data), field)


def test_roles_of_a_c3d_with_its_static_trial_and_of_opensim_files(tmp_path, shared_data, hamner):
    fk = shared_data / "fukuchi2017" / "RBDS001"
    trial = _stored(tmp_path, "RBDS001runT35.c3d", (fk / "RBDS001runT35.c3d").read_bytes())
    static = _stored(tmp_path, "RBDS001static.c3d", (fk / "RBDS001static.c3d").read_bytes())
    for f in (trial, static):
        lab_uploads.check_lab_content(f)
    # the static trial by its name, or by the form's static field whatever its name
    s = lab_uploads.assign_roles([static, trial])
    assert s.trial is trial and s.static is static and s.forces is None and s.model is None
    other = _stored(tmp_path, "standing.c3d", static.path.read_bytes(), field="static")
    assert lab_uploads.assign_roles([trial, other]).static is other
    # OpenSim files: the .mot named by the ExternalLoads is its data, the other is the trial
    files = [_stored(tmp_path, n, d) for n, d in opensim_session(hamner)]
    s = lab_uploads.assign_roles(files)
    assert s.trial.name == "Run_4.mot" and s.forces.name == "Run_4_grf.xml"
    assert s.model.name == "subject01_adjusted_scaled.osim"
    # the reference now names the stored data file (a generated name), never the client's
    text = s.forces.path.read_text()
    data = next(f for f in files if f.name == "Run_4_grf.mot")
    assert f"<datafile>{data.path.name}</datafile>" in text and "Run_4_grf.mot" not in text
    # a force table without ExternalLoads beside a marker trial is the forces
    grf = _stored(tmp_path, "grf.mot", (hamner / "subject01" / "Run_4_grf.mot").read_bytes())
    assert lab_uploads.assign_roles([trial, grf]).forces is grf
    # two trials, no trial, two statics: refused by name
    with pytest.raises(UploadRefused, match="a second marker trial"):
        lab_uploads.assign_roles([trial, _stored(tmp_path, "again.c3d", trial.path.read_bytes())])
    with pytest.raises(UploadRefused, match="no trial"):
        lab_uploads.assign_roles([static])
    with pytest.raises(UploadRefused, match="a second static trial"):
        lab_uploads.assign_roles([trial, static, _stored(tmp_path, "static2.c3d", static.path.read_bytes())])


EXTERNAL_LOADS = """<?xml version="1.0" encoding="UTF-8" ?>
<OpenSimDocument Version="40000"><ExternalLoads><objects/><datafile>{ref}</datafile></ExternalLoads>
</OpenSimDocument>
"""
ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE OpenSimDocument [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<OpenSimDocument><ExternalLoads><datafile>&d;</datafile></ExternalLoads></OpenSimDocument>
"""


def test_lab_uploads_are_guarded(client, hamner, shared_data, monkeypatch):
    grf = (hamner / "subject01" / "Run_4_grf.mot").read_bytes()
    angles = (hamner / "subject01" / "ik" / "Run_4.mot").read_bytes()
    # no session: refused before anything is stored
    assert post_lab(client, "x", [("Run_4.mot", angles)]).status_code == 401
    csrf = login(client)
    assert client.get("/upload").text.count('enctype="multipart/form-data"') == 2
    r = post_lab(client, csrf, [("Run_4.mot", angles)], headers={"origin": "http://attacker.example"})
    assert r.status_code == 403
    r = client.post("/lab", files=[("trial", ("Run_4.mot", angles))])
    assert r.status_code == 403 and "reload the page" in error_text(r)
    cases = [
        ([("trial.c3d", b"not a c3d" * 100)], "not a C3D file"),
        ([("trial.trc", angles)], "not a TRC marker file"),
        ([("trial.mot", b"\x00\x01binary")], "not an OpenSim table"),
        ([("model.osim", b"<gpx/>")], "not an OpenSim document"),
        ([("notes.txt", b"hello")], "not a file the app reads"),
        ([("Run_4.mot", angles), ("grf.xml", ENTITY_BOMB)], "declares a document type"),
        (
            [("Run_4.mot", angles), ("g.xml", EXTERNAL_LOADS.format(ref="../../etc/passwd").encode())],
            "outside",
        ),
        ([("Run_4.mot", angles), ("g.xml", EXTERNAL_LOADS.format(ref="/etc/passwd").encode())], "outside"),
        ([("Run_4.mot", angles), ("g.xml", EXTERNAL_LOADS.format(ref="C:\\x\\grf.mot").encode())], "outside"),
        (
            [("Run_4.mot", angles), ("g.xml", EXTERNAL_LOADS.format(ref="other.mot").encode())],
            "not in the upload",
        ),
        ([("grf.mot", grf)], "no trial"),
    ]
    for files, said in cases:
        r = post_lab(client, csrf, files)
        assert r.status_code == 400, (files[-1][0], said, r.status_code)
        assert said in error_text(r), (said, error_text(r))
        assert "/etc/passwd" not in r.text or "outside" in said
        assert "Traceback" not in r.text
    r = post_lab(client, csrf, [("Run_4.mot", angles)], data={"mass_kg": "9000"})
    assert r.status_code == 400 and "body mass" in error_text(r)
    r = post_lab(client, csrf, [("Run_4.mot", angles)], data={"height_m": "tall"})
    assert r.status_code == 400 and "not a number" in error_text(r)
    # zips: an entry escaping its folder, a symbolic link, a bomb
    for entries, said in (
        ([("../../escaped.mot", angles)], "points outside its folder"),
        ([("bomb.mot", b"\0" * (4 << 20))], "compressed more than 100 times"),
    ):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for n, d in entries:
                zf.writestr(n, d)
        r = post_lab(client, csrf, [("session.zip", buf.getvalue())])
        assert r.status_code == 400 and said in error_text(r)
    # a size cap while streaming
    monkeypatch.setitem(lab_uploads.LAB_SIZE_CAP_BYTES, ".mot", 4096)
    r = post_lab(client, csrf, [("Run_4.mot", angles)])
    assert r.status_code == 400 and "larger than" in error_text(r)
    # nothing of a refused session is kept
    assert stored_jobs(client) == []
    assert not [p for p in client.app.state.lab_jobs.root.rglob("*") if p.is_file()]


def test_analysis_routes_refuse_traversal_and_unknown_ids(client):
    for path in ("/analyses", "/analyses/" + "a" * 32, "/api/analyses/" + "a" * 32):
        assert client.get(path).status_code == 401, path
    csrf = login(client)
    assert client.get("/analyses").status_code == 200
    foreign = {"host": "attacker.example:8765"}  # DNS rebinding
    assert client.get("/analyses", headers=foreign).status_code == 421
    assert client.get("/static/report/report.js", headers=foreign).status_code == 421
    assert post_lab(client, csrf, [("a.mot", b"x")], headers=foreign).status_code == 421
    assert client.get("/static/report/..%2F..%2Fweb%2Fapp.py").status_code == 404
    for path in (
        "/analyses/" + "a" * 32,
        "/analyses/..%2F..%2Fetc%2Fpasswd",
        "/analyses/" + "A" * 32,
        "/api/analyses/..%2Fhistory.sqlite",
        "/api/analyses/" + "0" * 32,
        "/analyses/" + "0" * 32 + "/files/summary.json",
        "/analyses/" + "0" * 32 + "/files/..%2F..%2Fjob.json",
        "/analyses/" + "0" * 32 + "/files/%2Fetc%2Fpasswd",
    ):
        r = client.get(path)
        assert r.status_code in (404, 422), (path, r.status_code)
        assert "root:" not in r.text and "Traceback" not in r.text


# -- a whole session through the app ------------------------------------------------------------------


@pytest.mark.slow
def test_opensim_files_are_analysed_in_the_background_and_shown(client, hamner):
    from runmuscles.reports.html import static_text

    csrf = login(client)
    r = post_lab(
        client, csrf, opensim_session(hamner), data={"mass_kg": "", "height_m": "", "speed_m_s": "3.96"}
    )
    assert r.status_code == 303, r.text[:400]
    job_id = r.headers["location"].rsplit("/", 1)[-1]
    assert re.fullmatch(r"[0-9a-f]{32}", job_id)
    # stored before processing, under generated names only
    inputs = client.app.state.lab_jobs.root / job_id / "inputs"
    assert sorted(p.suffix for p in inputs.iterdir()) == [".mot", ".mot", ".osim", ".xml"]
    assert not any(p.name.startswith("Run_4") for p in inputs.iterdir())
    page = client.get(f"/analyses/{job_id}")
    assert page.status_code == 200
    st = wait_done(client, job_id)
    assert st["state"] == "done", st
    stages = [s["stage"] for s in st["stages"]]
    assert "reading the trial" in stages and "muscle forces (static optimization)" in stages
    page = client.get(f"/analyses/{job_id}").text
    # the report's sections, scripted and styled by the served files, no inline code
    assert 'href="/static/report/report.css"' in page and 'src="/static/report/report.js"' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", page)
    assert " style=" not in page and "<style" not in page
    fills = set(re.findall(r'class="region"[^>]*fill="(#[0-9a-f]{6})"', page))
    assert len(fills) >= 4 and "#d0d0d0" not in fills
    assert 'id="t0-curves-muscle"' in page and 'class="curve-chooser"' in page
    assert 'id="quality-banner"' in page and "Quality" in page
    assert "In short &mdash; 3.96 m/s" in page  # the speed given in the form
    assert str(client.app.state.lab_jobs.root) not in page  # no stored paths shown
    # downloads: the written files themselves
    results = client.app.state.lab_jobs.root / job_id / "results"
    for name in (
        "summary.json",
        "muscles.csv",
        "groups.csv",
        "force.sto",
        "report.html",
        "timeseries.parquet",
    ):
        assert f"/analyses/{job_id}/files/{name}" in page, name
        got = client.get(f"/analyses/{job_id}/files/{name}")
        assert got.status_code == 200 and got.content == (results / name).read_bytes(), name
        assert "attachment" in got.headers["content-disposition"]
    summary = json.loads(client.get(f"/analyses/{job_id}/files/summary.json").content)
    assert ('data-valid="true"' in page) == summary["quality"]["valid"]
    # the offline report inlines the very files the app serves
    report = client.get(f"/analyses/{job_id}/files/report.html").text
    for name, mime in (("report.css", "text/css"), ("report.js", "javascript")):
        served = client.get(f"/static/report/{name}")
        assert served.status_code == 200 and mime in served.headers["content-type"]
        assert served.text == static_text(name) and served.text in report
    # the analysis is listed, and its body map equals the offline report's
    assert job_id in client.get("/analyses").text
    bodymap = re.search(r'<svg[^>]*id="t0-bodymap-svg".*?</svg>', page, re.S).group(0)
    assert bodymap in report


@pytest.mark.slow
def test_a_failing_analysis_says_why_without_paths(client, hamner):
    csrf = login(client)
    files = opensim_session(hamner)
    # joint angles without a model and without a height: the lab path refuses, readably
    r = post_lab(client, csrf, [files[0], files[1], files[2]])
    assert r.status_code == 303
    job_id = r.headers["location"].rsplit("/", 1)[-1]
    st = wait_done(client, job_id, 300)
    assert st["state"] == "error" and st["error"]
    assert str(client.app.state.lab_jobs.root) not in st["error"]
    assert "the height" in st["error"] and "--height" not in st["error"]  # as the form names it
    page = client.get(f"/analyses/{job_id}")
    assert page.status_code == 200 and st["error"] in html.unescape(page.text)


@pytest.mark.slow
def test_an_unfinished_analysis_resumes_when_the_app_starts_again(tmp_path, hamner):
    app = create_app(WebSettings(data_dir=tmp_path / "data", token=TOKEN, prefetch=False))
    c = TestClient(app, base_url=BASE)
    csrf = login(c)
    app.state.lab_jobs.submit = lambda job_id: None  # the server stops before it runs
    r = post_lab(c, csrf, opensim_session(hamner))
    job_id = r.headers["location"].rsplit("/", 1)[-1]
    assert c.get(f"/api/analyses/{job_id}").json()["state"] == "queued"
    again = create_app(WebSettings(data_dir=tmp_path / "data", token=TOKEN, prefetch=False))
    with TestClient(again, base_url=BASE) as c2:  # the lifespan resumes it
        login(c2)
        assert wait_done(c2, job_id)["state"] == "done"


# -- the C3D trial with its static trial in a real browser ---------------------------------------------


@pytest.mark.slow
def test_browser_uploads_a_c3d_with_its_static_trial_and_sees_the_analysis(
    tmp_path, shared_data, require_service
):
    from test_web import _start_server

    from runmuscles.reports.browser import HeadlessBrowser, find_chromium

    if find_chromium() is None:
        require_service("no Chromium (install Debian's 'chromium' package)")
    fk = shared_data / "fukuchi2017" / "RBDS001"
    proc, url = _start_server(tmp_path)
    origin = url.split("/?")[0]
    try:
        with HeadlessBrowser(width=1280, height=1000, timeout_s=120) as b:
            b.open(url)
            b.open(origin + "/upload")
            doc = b.call("DOM.getDocument")["root"]["nodeId"]
            for selector, path in (
                ("#lab-trial", fk / "RBDS001runT35.c3d"),
                ("#lab-static", fk / "RBDS001static.c3d"),
            ):
                node = b.call("DOM.querySelector", {"nodeId": doc, "selector": selector})["nodeId"]
                b.call("DOM.setFileInputFiles", {"nodeId": node, "files": [str(path)]})
            # a window of a few strides keeps the test short (the form's optional window)
            b.evaluate("document.getElementById('lab-start').value = '10'")
            b.evaluate("document.getElementById('lab-end').value = '12.5'")
            b._events = [e for e in b._events if e["method"] != "Page.loadEventFired"]
            b.evaluate("document.getElementById('lab-form').requestSubmit()")
            b.wait_for_event("Page.loadEventFired", timeout_s=120)
            assert b.evaluate("location.pathname").startswith("/analyses/")
            stages = set()
            deadline = time.monotonic() + 1500
            while time.monotonic() < deadline:
                box = "(document.getElementById('analysis-progress') || {dataset: {state: 'done'}})"
                state = b.evaluate(box + ".dataset.state")
                stage = b.evaluate("(document.getElementById('progress-stage') || {}).textContent || ''")
                if stage:
                    stages.add(stage)
                if state in ("done", "error") and b.evaluate("document.readyState") == "complete":
                    break
                time.sleep(1.0)
            assert (
                b.evaluate(
                    "document.querySelector('p.error') ? document.querySelector('p.error').textContent : ''"
                )
                == ""
            )
            assert b.evaluate("!!document.getElementById('quality-banner')")
            assert len(stages) >= 2, stages  # the page followed the steps
            regions = "[...document.querySelectorAll('#t0-bodymap-svg path.region')]"
            fills = b.evaluate(regions + ".map(p => getComputedStyle(p).fill)")
            assert len(fills) > 10 and len({f for f in fills if f != "rgb(208, 208, 208)"}) >= 3
            # the metric buttons (report.js, served as a file) recolour the map
            read = regions + ".map(p => p.getAttribute('fill'))"
            before = b.evaluate(read)
            b.evaluate("document.querySelector('.metric-btns button[data-metric=peak]').click()")
            assert b.evaluate(read) != before
            assert b.console_errors == []
            assert all(u.startswith(origin) or u.startswith("data:") for u in b.requests), b.requests
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tmp_path / "data", ignore_errors=True)


# -- the what-if sliders in a real browser ------------------------------------------------------------


def _key(b, key: str, code: int, times: int) -> None:
    for _ in range(times):
        for kind in ("keyDown", "keyUp"):
            b.call(
                "Input.dispatchKeyEvent",
                {"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code},
            )


def _wait_whatif(b, query: str, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = b.evaluate("document.body.dataset.whatif || ''")
        if state == "error" or (state == "done" and b.evaluate("document.body.dataset.whatifQuery") == query):
            break
        time.sleep(0.2)
    assert b.evaluate("document.body.dataset.whatif") == "done", b.evaluate(
        "document.getElementById('whatif-status').textContent"
    )
    assert b.evaluate("document.body.dataset.whatifQuery") == query


@pytest.mark.slow
def test_browser_whatif_sliders_by_keyboard_move_fills_and_changes(tmp_path, require_service):
    from test_web import _start_server

    from runmuscles.reports.browser import HeadlessBrowser, find_chromium

    if find_chromium() is None:
        require_service("no Chromium (install Debian's 'chromium' package)")
    proc, url = _start_server(tmp_path)
    origin = url.split("/?")[0]
    read = (
        "JSON.stringify([[...document.querySelectorAll('#whatif-bodymap path.region')]"
        ".map(p => p.getAttribute('fill')), "
        "[...document.querySelectorAll('#whatif-table td[data-col=change]')].map(t => t.textContent), "
        "[...document.querySelectorAll('#whatif-table rect[data-col=bar]')]"
        ".map(r => r.getAttribute('width'))])"
    )
    try:
        with HeadlessBrowser(width=1280, height=1000, timeout_s=300) as b:
            b.open(url)
            b.open(origin + "/whatif")
            # every control has a label; the wind waits for an overground surface, with the reason
            assert b.evaluate("[...document.querySelectorAll('#whatif-form input, #whatif-form select')]"
                              ".every(el => el.labels && el.labels.length > 0)")  # fmt: skip
            names = b.evaluate(
                "[...document.querySelectorAll('#whatif-form input[type=range]')].map(e => e.name)"
            )
            assert names == ["speed_m_s", "grade_pct", "cadence_pct", "lean_deg", "overstride_m", "wind_m_s"]
            assert b.evaluate("document.getElementById('wind').disabled")
            assert not b.evaluate("document.getElementById('speed').disabled")  # four measured speeds
            before = json.loads(b.evaluate(read))
            # the speed slider, from the keyboard: five steps of 0.1 m/s up
            b.evaluate("document.getElementById('speed').focus()")
            base = float(b.evaluate("document.getElementById('speed').value"))
            _key(b, "ArrowRight", 39, 5)
            want = f"{base + 0.5:.1f}".rstrip("0").rstrip(".")
            _wait_whatif(b, f"speed_m_s={want}")
            after_speed = json.loads(b.evaluate(read))
            assert after_speed[0] != before[0] and after_speed[1] != before[1] and after_speed[2] != before[2]
            # back to the baseline, then cadence +10 % (older requests aborted while keys repeat)
            b.evaluate("document.getElementById('whatif-reset').click()")
            _wait_whatif(b, "")
            assert json.loads(b.evaluate(read))[1] == before[1]
            b.evaluate("document.getElementById('cadence').focus()")
            _key(b, "ArrowRight", 39, 10)
            _wait_whatif(b, "cadence_pct=110")
            after_cadence = json.loads(b.evaluate(read))
            assert after_cadence[0] != before[0] and after_cadence[1] != before[1]
            # overground: the wind slider works
            b.evaluate("(() => { const s = document.getElementById('surface'); s.value = 'overground';"
                       " s.dispatchEvent(new Event('input', {bubbles: true})); })()")  # fmt: skip
            assert not b.evaluate("document.getElementById('wind').disabled")
            _wait_whatif(b, "cadence_pct=110&surface=overground")
            assert b.console_errors == []
            assert all(u.startswith(origin) or u.startswith("data:") for u in b.requests), b.requests
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_whatif_parameters_are_checked_before_any_computation(client):
    assert client.get("/api/whatif?cadence_pct=110").status_code == 401
    login(client)
    for query in (
        "strike=..%2F..%2Fetc%2Fpasswd",
        "strike=midfoot",
        "surface=%2Fetc%2Fpasswd",
        "speed_m_s=..%2F..",
        "cadence_pct=nan",
        "lean_deg=1e999",
        "overstride_m=abc",
        "wind_m_s=inf",
    ):
        t0 = time.perf_counter()
        r = client.get(f"/api/whatif?{query}")
        assert r.status_code == 422, (query, r.status_code)
        assert "error" in r.json() and "root:" not in r.text and "Traceback" not in r.text
        assert time.perf_counter() - t0 < 5  # refused before the runner is loaded


def test_speed_slider_is_disabled_with_the_reason_for_a_one_speed_runner():
    from runmuscles.web.routes.whatif import speed_slider

    one = speed_slider([3.5], 3.5)
    assert one["disabled"] and "one speed only (3.5 m/s)" in one["reason"]
    four = speed_slider([2.0, 3.0, 4.0, 5.0], 3.0)
    assert not four["disabled"] and (four["low"], four["high"], four["value"]) == (2.0, 5.0, 3.0)


def test_a_zip_of_opensim_files_in_folders_gives_the_session(tmp_path, hamner):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in opensim_session(hamner):
            zf.writestr(f"session/subject01/{name}", data)
        zf.writestr("session/readme.txt", b"notes")
        zf.writestr("session/.DS_Store", b"\0")
    packed = _stored(tmp_path, "session.zip", buf.getvalue())
    lab_uploads.check_lab_content(packed)
    files, skipped = lab_uploads.extract_lab_zip(packed, tmp_path)
    assert sorted(skipped) == [".DS_Store", "readme.txt"]
    assert sorted(f.name for f in files) == sorted(n for n, _ in opensim_session(hamner))
    assert all(f.path.parent == tmp_path and f.path.stem == f.file_id for f in files)  # generated names
    session = lab_uploads.content_names(lab_uploads.assign_roles(files))
    assert session.trial.name == "Run_4.mot" and session.forces.name == "Run_4_grf.xml"
    assert session.model.path.name.startswith("model-") and session.trial.path.name.startswith("trial-")
    assert session.roles() == {
        "trial": "Run_4.mot",
        "model": "subject01_adjusted_scaled.osim",
        "forces": "Run_4_grf.xml",
    }


@pytest.mark.slow
def test_a_killed_server_leaves_the_analysis_to_its_next_start(tmp_path, hamner):
    import os
    import signal

    import httpx
    from test_web import _start_server

    proc, url = _start_server(tmp_path)
    origin = url.split("/?")[0]
    c = httpx.Client(follow_redirects=False, timeout=120)
    for _ in range(200):
        try:
            page = c.get(url, follow_redirects=True).text
            break
        except httpx.ConnectError:
            time.sleep(0.1)
    csrf = re.search(r'name="csrf-token" content="(\w+)"', page).group(1)
    parts = [("trial", (n, d, "application/octet-stream")) for n, d in opensim_session(hamner)]
    r = c.post(f"{origin}/lab?csrf_token={csrf}", files=parts)
    assert r.status_code == 303
    job_id = r.headers["location"].rsplit("/", 1)[-1]
    status = tmp_path / "data" / "analyses" / job_id / "status.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and json.loads(status.read_text())["state"] != "running":
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # mid-analysis
    proc.wait(timeout=10)
    time.sleep(15)  # the orphaned analysis stops at its next stage
    left = json.loads(status.read_text())
    assert left["state"] == "running", left  # not finished by an orphan, not marked failed
    assert not (tmp_path / "data" / "analyses" / job_id / "results" / "report.html").exists()
    proc, url = _start_server(tmp_path)  # runs it again
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and json.loads(status.read_text())["state"] in (
            "queued",
            "running",
        ):
            time.sleep(0.5)
        done = json.loads(status.read_text())
        assert done["state"] == "done", done
        assert (tmp_path / "data" / "analyses" / job_id / "results" / "report.html").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_window_ending_before_it_starts_is_refused_before_anything_runs() -> None:
    from runmuscles.errors import InputError
    from runmuscles.validation import check_window

    check_window(1.0, 2.0)
    check_window(None, 2.0)
    for start, end in ((2.0, 1.9), (2.0, 2.0)):
        with pytest.raises(InputError, match="end must be after its start"):
            check_window(start, end, "analysis window")


# -- my data: lab analyses listed and deleted --------------------------------------------------------


def _wait_state(c: TestClient, job_id: str, states: tuple[str, ...], timeout_s: float = 300.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        st = c.get(f"/api/analyses/{job_id}").json()
        if st["state"] in states:
            return st
        time.sleep(0.2)
    raise AssertionError(f"{job_id} not {states} in {timeout_s} s")


@pytest.mark.slow
def test_my_data_lists_and_deletes_lab_analyses_finished_running_or_queued(client, hamner):
    """My data lists every lab analysis and deletes one with all its files: a finished one
    (here: refused by the lab path), a running one (its process is stopped first) and a
    queued one (never started); nothing of them is written again afterwards, and an export
    then holds no analysis."""
    csrf = login(client)
    jobs = client.app.state.lab_jobs
    files = opensim_session(hamner)
    ids = []
    for session in ([files[0], files[1], files[2]], files, files):  # fails fast; runs; waits
        r = post_lab(client, csrf, session)
        assert r.status_code == 303, r.text[:300]
        ids.append(r.headers["location"].rsplit("/", 1)[-1])
    failed, running, queued = ids
    page = client.get("/mydata").text
    listed = re.findall(r'data-analysis="([0-9a-f]{32})"', page)
    assert sorted(listed) == sorted(ids) and "Run_4.mot" in page
    assert 'id="restore-form"' not in page  # a data folder with analyses is not empty
    assert _wait_state(client, failed, ("done", "error"))["state"] == "error"
    _wait_state(client, running, ("running",))
    assert client.get(f"/api/analyses/{queued}").json()["state"] == "queued"
    for job_id in (queued, running, failed):
        folder = jobs.root / job_id
        assert (folder / "inputs").is_dir() and any((folder / "inputs").iterdir())
        r = client.post(f"/mydata/analyses/{job_id}/delete?csrf_token={csrf}", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/mydata?done=analysis-deleted"
        assert not folder.exists(), job_id
        assert client.get(f"/analyses/{job_id}").status_code == 404
        assert client.get(f"/api/analyses/{job_id}").status_code == 404
    assert jobs._proc is None and jobs._running_id is None  # the running one was stopped
    time.sleep(2.0)  # nothing comes back: no status written for them, the queued one not started
    assert not any(jobs.root.iterdir())
    page = client.get("/mydata?done=analysis-deleted").text
    assert "The lab analysis was deleted." in page and "No lab analyses stored." in page
    assert 'id="restore-form"' in page  # empty again: a backup may be restored
    assert job_id not in client.get("/analyses").text
    names = zipfile.ZipFile(io.BytesIO(client.get("/mydata/export").content)).namelist()
    assert not [n for n in names if n.startswith("analyses/")]
    # deleting it again: readable, not a crash
    r = client.post(f"/mydata/analyses/{failed}/delete?csrf_token={csrf}")
    assert r.status_code == 400 and error_text(r) == "analysis: no such analysis"
