"""`runmuscles serve`: the web app's pages and guards (FastAPI's TestClient), and a real browser.

Every guard is exercised against the real app: the launch token and its cookie, the Host
allowlist, cross-origin and CSRF-less posts, upload caps, content checks, zip and XML
attacks, and path traversal in parameters.
"""

from __future__ import annotations

import html
import io
import json
import re
import stat
import subprocess
import sys
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runmuscles.web import WebSettings, create_app
from runmuscles.web import uploads as uploads_mod

TOKEN = "launch-token-for-tests"
BASE = "http://127.0.0.1:8765"


@pytest.fixture
def watch(shared_data: Path) -> Path:
    return shared_data / "watch"


@pytest.fixture
def app(tmp_path: Path):
    return create_app(WebSettings(data_dir=tmp_path / "data", token=TOKEN, prefetch=False))


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app, base_url=BASE, raise_server_exceptions=False)


def login(c: TestClient) -> str:
    """Open the launch link; return the page's CSRF token."""
    r = c.get(f"/?token={TOKEN}")
    assert r.status_code == 200
    return re.search(r'name="csrf-token" content="([0-9a-f]+)"', r.text).group(1)


def upload(c: TestClient, csrf: str, *files: tuple[str, bytes], **kw):
    return c.post(
        f"/upload?csrf_token={csrf}",
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
        **kw,
    )


def error_text(r) -> str:
    m = re.search(r'<p class="error"[^>]*>(.*?)</p>', r.text, re.S)
    assert m, r.text[:500]
    return html.unescape(m.group(1))


def stored_files(app) -> list[Path]:
    root = app.state.uploads.root
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# -- the launch token, the session cookie -----------------------------------------------------


def test_pages_need_the_launch_token(client):
    for path in ("/", "/upload", "/runs", "/runs/1", "/whatif", "/claims", "/api/whatif?grade_pct=1"):
        r = client.get(path)
        assert r.status_code == 401, path
    assert "link runmuscles serve printed" in error_text(client.get("/"))
    r = client.get("/?token=wrong")
    assert r.status_code == 401 and "runmuscles_session" not in r.headers.get("set-cookie", "")


def test_token_becomes_an_httponly_strict_cookie(client):
    r = client.get(f"/runs?token={TOKEN}&x=1", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/runs?x=1"  # the token leaves the address bar
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/runs").status_code == 200
    # a forged cookie is no session
    other = TestClient(client.app, base_url=BASE)
    other.cookies.set(client.app.state.guard.cookie_name, "forged")
    assert other.get("/runs").status_code == 401


def test_token_redirect_is_not_an_open_redirect(client):
    r = client.get(f"//evil.example/?token={TOKEN}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_static_files_are_public_but_only_inside_their_folder(client):
    assert client.get("/static/app.css").status_code == 200
    for path in ("/static/..%2fapp.py", "/static/../app.py", "/static/%2e%2e/security.py"):
        r = client.get(path)
        assert r.status_code in (401, 404), path
        assert "import" not in r.text


# -- Host, Origin, CSRF, headers ---------------------------------------------------------------


def test_foreign_host_is_refused(client):
    login(client)
    r = client.get("/runs", headers={"host": "attacker.example:8765"})
    assert r.status_code == 421
    assert "host name" in error_text(r)
    assert client.get("/runs", headers={"host": "localhost:8765"}).status_code == 200


def test_cross_origin_and_csrf_less_posts_are_refused(client, watch):
    csrf = login(client)
    fit = ("run.fit", (watch / "activity-small-fenix2-run.fit").read_bytes())
    r = upload(client, csrf, fit, headers={"origin": "http://attacker.example"})
    assert r.status_code == 403 and "another site" in error_text(r)
    r = upload(client, csrf, fit, headers={"sec-fetch-site": "cross-site"})
    assert r.status_code == 403
    r = client.post("/upload", files=[("files", fit)])  # no CSRF token
    assert r.status_code == 403 and "reload the page" in error_text(r)
    assert upload(client, "0" * 64, fit).status_code == 403
    assert stored_files(client.app) == []
    # the app's own page, same origin: accepted
    r = upload(client, csrf, fit, headers={"origin": BASE, "sec-fetch-site": "same-origin"})
    assert r.status_code == 200


def test_every_answer_has_a_strict_csp_and_pages_have_no_inline_code(client):
    for r in (client.get("/"), client.get("/static/app.css")):
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "unsafe-inline" not in csp and "default-src 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
    login(client)
    for path in ("/", "/upload", "/runs"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert " style=" not in html and "<style" not in html, path


# -- uploads -----------------------------------------------------------------------------------


def test_upload_of_several_watch_files_fills_the_history(client, watch):
    csrf = login(client)
    names = ("activity-small-fenix2-run.fit", "korita-zbevnica.gpx", "test.tcx")
    r = upload(client, csrf, *((n, (watch / n).read_bytes()) for n in names))
    assert r.status_code == 200
    assert r.text.count('data-status="added"') + r.text.count('data-status="error"') == 3
    assert r.text.count('data-status="added"') >= 2
    stored = stored_files(client.app)
    assert not any(p.name in names for p in stored)  # generated names only
    manifest = json.loads(next(p for p in stored if p.name == "manifest.json").read_text())
    assert sorted(m["name"] for m in manifest) == sorted(names)
    # the same file again: recognised by its content
    r = upload(client, csrf, (names[0], (watch / names[0]).read_bytes()))
    assert 'data-status="duplicate"' in r.text
    # the runs list and the home page show the user's file names, not stored paths
    runs = client.get("/runs").text
    assert "activity-small-fenix2-run.fit" in runs and str(client.app.state.uploads.root) not in runs
    assert "activity-small-fenix2-run.fit" in client.get("/").text


def test_run_page_has_a_coloured_body_map_and_what_drove_it(client, watch):
    csrf = login(client)
    r = upload(client, csrf, ("run.fit", (watch / "activity-small-fenix2-run.fit").read_bytes()))
    run_id = int(re.search(r'href="/runs/(\d+)"', r.text).group(1))
    page = client.get(f"/runs/{run_id}").text
    fills = set(re.findall(r'class="region"[^>]*fill="(#[0-9a-f]{6})"', page))
    assert len(fills) >= 3 and "#d0d0d0" not in fills  # coloured by load, not grey
    assert 'data-group="calves"' in page and "hills (BW s)" in page
    assert client.get("/runs/999999").status_code == 404


def test_runs_page_shows_weeks_against_the_weeks_before(client, watch):
    from runmuscles.history import weekly_loads

    csrf = login(client)
    upload(client, csrf, ("fenix5.fit", (watch / "garmin-fenix-5-run.fit").read_bytes()))
    page = client.get("/runs").text
    expected = next(r for r in weekly_loads(client.app.state.engine) if r["runs"] and r["group"] == "calves")
    week = re.search(rf'data-week="{expected["week_start"]}">(.*?)</section>', page, re.S).group(1)
    assert "1 run," in week and "not validated" in page
    assert re.search(rf"<td>Calves</td><td class=\"n\">{expected['load']:.1f}</td>", week)


def test_oversize_file_is_refused_while_streaming(client, watch, monkeypatch):
    csrf = login(client)
    monkeypatch.setitem(uploads_mod.SIZE_CAP_BYTES, ".fit", 4096)
    data = (watch / "garmin-fenix-5-run.fit").read_bytes()
    assert len(data) > 4096
    r = upload(client, csrf, ("big.fit", data))
    assert r.status_code == 400 and "big.fit: larger than" in error_text(r)
    assert stored_files(client.app) == []  # nothing of the refused batch is kept


def test_mislabelled_files_are_refused(client, watch):
    csrf = login(client)
    gpx = (watch / "korita-zbevnica.gpx").read_bytes()
    fit = (watch / "activity-small-fenix2-run.fit").read_bytes()
    cases = [
        ("track.fit", gpx, "not a FIT file"),
        ("track.gpx", fit, "not an XML document"),
        ("track.tcx", gpx, "root 'gpx'"),
        ("track.zip", fit, "not a zip archive"),
        ("notes.txt", b"hello", "not a file the app reads"),
    ]
    for name, data, said in cases:
        r = upload(client, csrf, (name, data))
        assert r.status_code == 400, name
        assert said in error_text(r), name
    assert stored_files(client.app) == []


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE gpx [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
]>
<gpx version="1.1" creator="x"><trk><name>&f;</name></trk></gpx>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE TrainingCenterDatabase [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<TrainingCenterDatabase><Activities>&x;</Activities></TrainingCenterDatabase>
"""


def test_xml_entity_bomb_and_external_entities_are_refused(client):
    csrf = login(client)
    t0 = time.perf_counter()
    r = upload(client, csrf, ("laughs.gpx", BILLION_LAUGHS))
    assert time.perf_counter() - t0 < 10
    assert r.status_code == 400 and "declares a document type" in error_text(r)
    r = upload(client, csrf, ("passwd.tcx", EXTERNAL_ENTITY))
    assert r.status_code == 400 and "root:" not in r.text
    assert client.get("/runs").text.count("/runs/") == 0


def _zip(entries: list[tuple[str, bytes]], *, symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def test_zip_of_runs_in_nested_folders_is_imported(client, watch):
    csrf = login(client)
    fit = (watch / "activity-small-fenix2-run.fit").read_bytes()
    data = _zip([("export/activities/2024/run1.fit", fit), ("export/readme.txt", b"hello")])
    r = upload(client, csrf, ("export.zip", data))
    assert r.status_code == 200 and 'data-status="added"' in r.text
    assert "readme.txt" in r.text  # named as left out


def test_gzipped_files_alone_and_in_a_bulk_export_are_imported(client, watch):
    import gzip

    csrf = login(client)
    fit = (watch / "activity-small-fenix2-run.fit").read_bytes()
    gpx = (watch / "korita-zbevnica.gpx").read_bytes()
    r = upload(client, csrf, ("123.fit.gz", gzip.compress(fit)))
    assert r.status_code == 200 and 'data-status="added"' in r.text and "123.fit" in r.text
    export = _zip([("export_1/activities/456.gpx.gz", gzip.compress(gpx)), ("export_1/profile.csv", b"a,b")])
    r = upload(client, csrf, ("export_1.zip", export))
    assert r.status_code == 200 and 'data-status="added"' in r.text
    # the uploaded .gz is kept as received; one taken out of a zip only decompressed
    assert len([p for p in stored_files(client.app) if p.name.endswith(".gz")]) == 1


def test_gzip_bombs_and_mislabelled_gzips_are_refused(client, watch):
    import gzip

    csrf = login(client)
    gpx = (watch / "korita-zbevnica.gpx").read_bytes()
    cases = [
        ("bomb.fit.gz", gzip.compress(b"\0" * (8 << 20)), "compressed more than 100 times"),
        ("track.fit.gz", gzip.compress(gpx), "not a FIT file"),
        ("broken.gpx.gz", b"\x1f\x8b not really gzip", "not a readable gzip file"),
        ("inner.zip", _zip([("a/bomb.tcx.gz", gzip.compress(b" " * (8 << 20)))]), "compressed more than"),
    ]
    for name, data, said in cases:
        r = upload(client, csrf, (name, data))
        assert r.status_code == 400, name
        assert said in error_text(r), name
    assert stored_files(client.app) == []


@pytest.mark.parametrize(
    ("entries", "symlink", "said"),
    [
        ([("../../escaped.fit", b"x")], None, "points outside its folder"),
        ([("/abs/escaped.fit", b"x")], None, "points outside its folder"),
        ([("C:/escaped.fit", b"x")], None, "points outside its folder"),
        ([("ok.gpx", b"<gpx/>")], "link.fit", "symbolic link"),
        ([("bomb.fit", b"\0" * (4 << 20))], None, "compressed more than 100 times"),
    ],
)
def test_dangerous_zips_are_refused(client, tmp_path, entries, symlink, said):
    csrf = login(client)
    r = upload(client, csrf, ("evil.zip", _zip(entries, symlink=symlink)))
    assert r.status_code == 400 and said in error_text(r)
    assert stored_files(client.app) == []
    assert not list(tmp_path.rglob("escaped.fit"))


def test_a_file_that_takes_too_long_to_read_is_refused_and_leaves_nothing(tmp_path, watch):
    slow = create_app(
        WebSettings(data_dir=tmp_path / "d", token=TOKEN, prefetch=False, import_time_limit_s=0.001)
    )
    c = TestClient(slow, base_url=BASE)
    csrf = login(c)
    fit = (watch / "activity-small-fenix2-run.fit").read_bytes()
    r = upload(c, csrf, ("a.fit", fit), ("b.fit", (watch / "garmin-fenix-5-run.fit").read_bytes()))
    assert r.status_code == 200
    assert r.text.count("took longer than 0.001 s to read") == 2
    assert "/runs/" not in c.get("/runs").text.split("<main>")[1]  # nothing half-stored


def test_two_uploads_of_the_same_run_at_once_store_it_once(app, watch):
    from concurrent.futures import ThreadPoolExecutor

    clients = [TestClient(app, base_url=BASE) for _ in range(2)]
    tokens = [login(c) for c in clients]
    fit = ("run.fit", (watch / "activity-small-fenix2-run.fit").read_bytes())
    with ThreadPoolExecutor(2) as pool:
        pages = list(pool.map(lambda k: upload(clients[k], tokens[k], fit).text, range(2)))
    statuses = sorted(re.search(r'data-status="(\w+)"', p).group(1) for p in pages)
    assert statuses == ["added", "duplicate"]
    from runmuscles.history import activities

    rows = activities(app.state.engine)
    assert len(rows) == 1 and len(rows[0]["groups"]) >= 8


def test_client_file_names_never_become_paths(client, watch, tmp_path):
    csrf = login(client)
    fit = (watch / "activity-small-fenix2-run.fit").read_bytes()
    r = upload(client, csrf, ("../../../outside.fit", fit), ("..\\..\\win.fit", fit))
    assert r.status_code == 200
    assert not list(tmp_path.rglob("outside.fit")) and not list(tmp_path.rglob("win.fit"))
    assert "outside.fit" in r.text  # shown as its last part only


def test_path_traversal_in_parameters_is_refused(client):
    login(client)
    for path in (
        "/runs/..%2F..%2Fetc%2Fpasswd",
        "/runs/1%2F..%2F..",
        "/runs/-1",
        "/runs/1e999",
        "/api/whatif?grade_pct=..%2F..%2Fetc",
        "/api/whatif?grade_pct=nan",
        "/../../etc/passwd",
    ):
        r = client.get(path)
        assert r.status_code in (400, 404, 422), path
        assert "root:" not in r.text and "Traceback" not in r.text, path


def test_errors_are_readable_pages_without_tracebacks_or_paths(client, monkeypatch):
    login(client)
    secret = "/home/someone/private/thing.sqlite"

    def broken(self):
        raise RuntimeError(f"could not read {secret}")

    monkeypatch.setattr(type(client.app.state.demo), "claims", broken)
    r = client.get("/claims")
    assert r.status_code == 500
    assert "this is a bug" in error_text(r)
    assert secret not in r.text and "Traceback" not in r.text
    assert client.get("/nowhere").status_code == 404
    assert client.post(f"/runs?csrf_token={login(client)}").status_code == 405
    # a broken multipart body
    r = client.post(
        f"/upload?csrf_token={login(client)}",
        content=b"--xx\r\nbroken",
        headers={"content-type": "multipart/form-data; boundary=xx"},
    )
    assert r.status_code == 400 and "Traceback" not in r.text


def test_history_elsewhere_and_a_foreign_history_file_is_refused(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a database")
    from runmuscles.errors import InputError

    with pytest.raises(InputError):
        create_app(WebSettings(data_dir=tmp_path / "d", db=str(bad)))
    app = create_app(WebSettings(data_dir=tmp_path / "d", db=str(tmp_path / "h.sqlite"), token=TOKEN))
    assert (tmp_path / "h.sqlite").exists()
    c = TestClient(app, base_url=BASE)
    login(c)
    assert c.get("/runs").status_code == 200


def test_history_on_postgresql(tmp_path, watch, new_postgres_db):
    app = create_app(WebSettings(data_dir=tmp_path / "d", db=new_postgres_db, token=TOKEN, prefetch=False))
    c = TestClient(app, base_url=BASE)
    csrf = login(c)
    fit = ("run.fit", (watch / "activity-small-fenix2-run.fit").read_bytes())
    assert 'data-status="added"' in upload(c, csrf, fit).text
    assert 'data-status="duplicate"' in upload(c, csrf, fit).text
    assert "run.fit" in c.get("/runs").text
    assert not (tmp_path / "d" / "history.sqlite").exists()


# -- the demo runner's pages (slow: the runner loads once per app) -------------------------------


@pytest.mark.slow
def test_whatif_page_and_api(client):
    login(client)
    page = client.get("/whatif")
    assert page.status_code == 200 and 'type="range"' in page.text and "/static/whatif.js" in page.text
    base_fills = dict(
        re.findall(r'data-group="(\w+)" data-side="right" data-view="front"[^>]*fill="(#\w+)"', page.text)
    )
    r = client.get("/api/whatif?grade_pct=8")
    assert r.status_code == 200
    data = r.json()
    change = {g["group"]: g["change_pct"] for g in data["groups"]}
    assert change["gluteals"] > 3 and change["hamstrings"] != 0  # uphill: more hip extensor load
    assert any(data["fills"][g] != base_fills.get(g) for g in data["fills"])
    t0 = time.perf_counter()
    assert client.get("/api/whatif?grade_pct=8").json() == data  # remembered
    assert time.perf_counter() - t0 < 0.3
    r = client.get("/api/whatif?grade_pct=45")  # outside the engine's tested range
    assert r.status_code == 400 and "grade" in r.json()["error"]


@pytest.mark.slow
def test_claims_page_reads_as_sentences(client):
    login(client)
    r = client.get("/claims")
    assert r.status_code == 200
    assert r.text.count('class="claim"') == 8
    assert not re.search(r"\d\.\d{5,}", r.text)  # no 16-digit floats
    assert "Verdict:" in r.text and "%" in r.text


def test_claims_text_rounds_and_names_units():
    from runmuscles.reports.claims_text import evidence_lines, readable_number

    lines = evidence_lines(
        {
            "leg_groups_share_of_muscle_impulse": 0.791329918698823,
            "gluteus_maximus_rank": 4,
            "top_muscles_propulsion_positive_work_j_per_kg": {"soleus": 0.5307540888414228},
            "calves_impulse_change_pct": 12.3456,
            "fast_fibre_share_change_pp": -1.234,
            "energy_flagged": False,
            "note": "shares of the impulse",
        }
    )
    assert lines == [
        "Leg groups share of muscle impulse: 79 %",
        "Gluteus maximus rank: 4",
        "Top muscles propulsion positive work: soleus 0.531 J/kg",
        "Calves impulse change: +12 %",
        "Fast fibre share change: -1.23 percentage points",
        "Energy flagged: no",
        "Shares of the impulse",
    ]
    assert readable_number(1234.5678) == "1235" and readable_number(0.00012345) == "0.000123"


# -- the command ----------------------------------------------------------------------------------


def _start_server(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "runmuscles", "serve", "--port", "0", "--no-browser",
         "--data-dir", str(tmp_path / "data"), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    line = proc.stdout.readline().strip()
    if not line:
        proc.kill()
        raise AssertionError(proc.stderr.read())
    return proc, line


def test_serve_prints_its_url_with_the_token_and_serves_on_loopback(tmp_path):
    import httpx

    proc, url = _start_server(tmp_path)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[\w-]{20,}", url)
        with httpx.Client(follow_redirects=True, timeout=30) as c:
            for _ in range(100):
                try:
                    r = c.get(url)
                    break
                except httpx.ConnectError:
                    time.sleep(0.1)
            assert r.status_code == 200 and "Your runs" in r.text
            port = url.split(":")[2].split("/")[0]
            assert c.get(url.split("?")[0], headers={"host": f"localhost:{port}"}).status_code == 200
            assert c.get(url.split("?")[0], headers={"host": f"rebound.example:{port}"}).status_code == 421
            assert c.get(url.replace("token=", "token=x")).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_refuses_a_port_in_use(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run(
            [sys.executable, "-m", "runmuscles", "serve", "--port", str(port), "--no-browser",
             "--data-dir", str(tmp_path / "d")],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert r.returncode == 2 and "cannot listen there" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_server_killed_mid_import_loses_nothing_and_duplicates_nothing(tmp_path, watch, backend, request):
    """SIGKILL during a 30-file upload; the restarted server imports what was left, once."""
    import contextlib
    import os
    import signal
    import threading

    import httpx

    from runmuscles.history import activities, open_history

    n = 30
    gpx = (watch / "korita-zbevnica.gpx").read_text()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k in range(n):  # distinct files: the track moved by k + 1 days
            shifted = re.sub(r"<time>(\d{4})-", lambda m, k=k: f"<time>{int(m.group(1)) + k + 1}-", gpx)
            zf.writestr(f"runs/run{k:02d}.gpx", shifted)
    db = request.getfixturevalue("new_postgres_db") if backend == "postgresql" else None
    db_args = ("--db", db) if db else ()
    proc, url = _start_server(tmp_path, *db_args)
    origin = url.split("/?")[0]
    c = httpx.Client(follow_redirects=True, timeout=300)
    for _ in range(100):
        try:
            page = c.get(url).text
            break
        except httpx.ConnectError:
            time.sleep(0.1)
    csrf = re.search(r'name="csrf-token" content="(\w+)"', page).group(1)

    def post() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server is killed under it
            c.post(f"{origin}/upload?csrf_token={csrf}", files=[("files", ("runs.zip", buf.getvalue()))])

    threading.Thread(target=post, daemon=True).start()
    engine = open_history(db or tmp_path / "data" / "history.sqlite")
    deadline = time.monotonic() + 240
    while len(activities(engine)) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    time.sleep(3)  # the orphaned reader stops at its next message to the dead server
    done = activities(engine)
    time.sleep(3)
    assert len(activities(engine)) == len(done)  # nothing imports any more
    assert 3 <= len(done) < n
    assert all(len(a["groups"]) >= 8 for a in done)  # no run without its loads
    proc, url = _start_server(tmp_path, *db_args)  # resumes the unfinished upload
    try:
        deadline = time.monotonic() + 240
        while len(activities(engine)) < n and time.monotonic() < deadline:
            time.sleep(0.5)
        rows = activities(engine)
        assert len(rows) == n and len({r["start_time"] for r in rows}) == n
        assert all(len(a["groups"]) >= 8 for a in rows)

        def recorded() -> int:  # the manifest gets the outcomes once the resumed import returns
            found = next((tmp_path / "data" / "uploads").glob("*/manifest.json")).read_text()
            return sum(1 for r in json.loads(found) if r.get("status") in ("added", "duplicate"))

        while recorded() < n and time.monotonic() < deadline:
            time.sleep(0.5)
        assert recorded() == n
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        engine.dispose()


def test_serve_warns_before_listening_beyond_this_computer(tmp_path):
    # 192.0.2.1 is a documentation address (RFC 5737), not this machine's: the warning comes
    # first, then the bind fails cleanly; nothing is ever reachable from outside
    r = subprocess.run(
        [sys.executable, "-m", "runmuscles", "serve", "--host", "192.0.2.1", "--port", "0", "--no-browser",
         "--data-dir", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("runmuscles: warning: --host 192.0.2.1 makes the app reachable")
    assert r.returncode == 2 and "cannot listen there" in lines[-1]


def test_loopback_detection():
    from runmuscles.web.security import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("::")


# -- a real browser -------------------------------------------------------------------------------


def _wait_load(b, timeout_s: float = 60.0) -> None:
    b.wait_for_event("Page.loadEventFired", timeout_s=timeout_s)


@pytest.mark.slow
def test_browser_uploads_a_fit_file_and_sees_the_body_map_coloured(tmp_path, watch, require_service):
    from runmuscles.reports.browser import HeadlessBrowser, find_chromium

    if find_chromium() is None:
        require_service("no Chromium (install Debian's 'chromium' package)")
    proc, url = _start_server(tmp_path)
    origin = url.split("/?")[0]
    try:
        with HeadlessBrowser(width=1280, height=1000, timeout_s=60) as b:
            b.open(url)
            assert b.evaluate("location.pathname + location.search") == "/"  # token exchanged
            b.open(origin + "/upload")
            doc = b.call("DOM.getDocument")["root"]["nodeId"]
            node = b.call("DOM.querySelector", {"nodeId": doc, "selector": "#files"})["nodeId"]
            fit = watch / "activity-small-fenix2-run.fit"
            b.call("DOM.setFileInputFiles", {"nodeId": node, "files": [str(fit)]})
            b._events = [e for e in b._events if e["method"] != "Page.loadEventFired"]
            b.evaluate("document.getElementById('upload-form').requestSubmit()")
            _wait_load(b)
            assert b.evaluate("document.querySelector('tr[data-status]').dataset.status") == "added"
            b._events = [e for e in b._events if e["method"] != "Page.loadEventFired"]
            b.evaluate("document.querySelector('.upload-results a').click()")
            _wait_load(b)
            fills = b.evaluate(
                "[...document.querySelectorAll('#run-bodymap path.region')]"
                ".map(p => getComputedStyle(p).fill)"
            )
            assert len(fills) > 10
            coloured = {f for f in fills if f != "rgb(208, 208, 208)"}
            assert len(coloured) >= 3
            assert b.console_errors == []
            assert all(u.startswith(origin) or u.startswith("data:") for u in b.requests), b.requests
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.slow
def test_browser_grade_slider_moves_fills_and_changes(tmp_path, require_service):
    from runmuscles.reports.browser import HeadlessBrowser, find_chromium

    if find_chromium() is None:
        require_service("no Chromium (install Debian's 'chromium' package)")
    proc, url = _start_server(tmp_path)
    origin = url.split("/?")[0]
    try:
        with HeadlessBrowser(width=1280, height=1000, timeout_s=120) as b:
            b.open(url)
            b.open(origin + "/whatif")
            read = (
                "JSON.stringify([[...document.querySelectorAll('#whatif-bodymap path.region')]"
                ".map(p => p.getAttribute('fill')), "
                "[...document.querySelectorAll('#whatif-table td[data-col=change]')]"
                ".map(t => t.textContent)])"
            )
            before = json.loads(b.evaluate(read))
            # a drag: several values in a row; the earlier requests are aborted
            b.evaluate(
                "(() => { const s = document.getElementById('grade');"
                " for (const v of [2, 4, 6, 10]) { s.value = v; s.dispatchEvent(new Event('input')); } })()"
            )
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if b.evaluate("document.body.dataset.whatif") in ("done", "error"):
                    break
                time.sleep(0.2)
            assert b.evaluate("document.body.dataset.whatif") == "done"
            assert b.evaluate("document.body.dataset.whatifGrade") == "10"
            after = json.loads(b.evaluate(read))
            assert after[0] != before[0] and after[1] != before[1]
            assert b.console_errors == []
            assert all(u.startswith(origin) or u.startswith("data:") for u in b.requests), b.requests
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- the advice page ---------------------------------------------------------------------------


def visible_text(page: str) -> list[str]:
    """The text a reader sees: every text node between tags, unescaped, whitespace joined."""
    body = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S | re.I)
    return [t for t in (" ".join(html.unescape(x).split()) for x in re.split(r"<[^>]+>", body)) if t]


def test_advice_page_without_runs_says_how_to_add_some(client):
    login(client)
    page = client.get("/").text
    assert '<a href="/advice">Advice</a>' in page  # in the navigation
    r = client.get("/advice")
    assert r.status_code == 200
    assert "no runs in your history yet" in r.text and 'href="/upload"' in r.text
    assert "runmuscles history --import FOLDER" in r.text


def test_advice_pages_show_the_cli_advice_with_sources_and_follow_the_wording_rules(client, watch):
    from runmuscles.analyses.advice import advice_for_week, wording_problems

    csrf = login(client)
    r = upload(client, csrf, ("run.fit", (watch / "activity-small-fenix2-run.fit").read_bytes()))
    run_id = int(re.search(r'href="/runs/(\d+)"', r.text).group(1))
    assert f'href="/runs/{run_id}/advice"' in client.get(f"/runs/{run_id}").text
    assert 'href="/advice?week=' in client.get("/runs").text

    week = advice_for_week(client.app.state.engine)  # what `runmuscles advice --db` computes
    r = client.get("/advice")
    assert r.status_code == 200
    page = r.text
    # the default is the last week with runs; naming any day of it gives the same advice
    monday = week["source"]["label"].split()[2]
    day = (date.fromisoformat(monday) + timedelta(days=3)).isoformat()
    section = re.search(r'<section id="week-advice".*?</section>', page, re.S).group(0)
    assert f"<h1>Advice for the week of {monday}" in page
    assert section in client.get(f"/advice?week={day}").text
    texts = visible_text(page)
    assert wording_problems(texts) == []
    assert not re.search(r"<script(?![^>]*\bsrc=)", page) and " style=" not in page and "<style" not in page
    joined = "\n".join(texts)
    assert week["suggestions"]
    for s in week["suggestions"]:  # every exercise with its evidence, source, dose and why
        for key in ("exercise", "evidence", "source", "dose", "why"):
            assert " ".join(s[key].split()) in joined, (s["group"], key)
    per_group = {}
    for s in week["suggestions"]:
        per_group[s["group"]] = per_group.get(s["group"], 0) + 1
    assert all(2 <= n <= 3 for n in per_group.values()), per_group
    n_unchecked = sum(s["unchecked"] for s in week["suggestions"])
    assert page.count('<span class="flag">unchecked</span>') == n_unchecked
    ranks = [int(x) for x in re.findall(r'<tr data-group="[a-z_]+"><td class=n>(\d+)</td>', page)]
    assert ranks == list(range(1, len(week["groups"]) + 1))
    assert "Single-run check (validated for distance" in joined
    assert "descriptive, not validated for injury" in joined
    assert "reduce the load and see a clinician" in joined
    assert str(client.app.state.uploads.root) not in page  # no stored paths shown

    # one run: the same as `runmuscles advice STORED_FILE --db HISTORY --json`
    r = client.get(f"/runs/{run_id}/advice")
    assert r.status_code == 200
    texts = visible_text(r.text)
    assert wording_problems(texts) == []
    stored = next(a for a in _activities(client.app) if a["id"] == run_id)["source"]
    cli = subprocess.run(
        [sys.executable, "-m", "runmuscles", "advice", stored, "--db", client.app.state.db, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    expected = json.loads(cli.stdout)
    joined = "\n".join(texts)
    for s in expected["suggestions"]:
        assert " ".join(s["why"].split()) in joined and " ".join(s["source"].split()) in joined
    assert "on this run" in joined and "checked against the history" in joined


def _activities(app) -> list[dict]:
    from runmuscles.history import activities

    return activities(app.state.engine)


def test_advice_pages_are_guarded_and_refuse_bad_addresses_readably(client, watch):
    for path in ("/advice", "/advice?week=2024-01-01", "/runs/1/advice"):
        assert client.get(path).status_code == 401, path
    csrf = login(client)
    r = upload(client, csrf, ("run.fit", (watch / "activity-small-fenix2-run.fit").read_bytes()))
    run_id = int(re.search(r'href="/runs/(\d+)"', r.text).group(1))
    for path, status in (
        ("/runs/..%2F..%2Fetc%2Fpasswd/advice", (404,)),
        ("/runs/1%2F..%2F../advice", (404,)),
        ("/runs/-1/advice", (422,)),
        ("/runs/999999/advice", (404,)),
        ("/advice?week=..%2F..%2Fetc%2Fpasswd", (422,)),
        ("/advice?week=2024-13-45", (400,)),
        ("/advice?week=2001-01-01", (400,)),
    ):
        r = client.get(path)
        assert r.status_code in status, (path, r.status_code)
        assert error_text(r) and "root:" not in r.text and "Traceback" not in r.text, path
    assert "no runs in the week of 2001-01-01" in error_text(client.get("/advice?week=2001-01-01"))
    # the run's stored file gone: said so, without its path
    stored = Path(next(a for a in _activities(client.app) if a["id"] == run_id)["source"])
    stored.unlink()
    r = client.get(f"/runs/{run_id}/advice")
    assert r.status_code == 400 and "no longer where it was imported from" in error_text(r)
    assert str(stored) not in r.text
