"""The web app's storage pages: profile, my data (delete, export, restore), compare, recompute.

Every new page and state-changing route is checked against the guards (launch token, Host,
cross-origin POST, CSRF) and against path traversal in each of its parameters; the profile
page is also driven in a real browser.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_web import BASE, TOKEN, _start_server, error_text, login, upload

from runmuscles.history import activities, store_activity
from runmuscles.web import WebSettings, create_app

HEX = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def watch(shared_data: Path) -> Path:
    return shared_data / "watch"


def _client(data_dir: Path, db: str | None = None) -> TestClient:
    app = create_app(WebSettings(data_dir=data_dir, db=db, token=TOKEN, prefetch=False))
    return TestClient(app, base_url=BASE, raise_server_exceptions=False)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return _client(tmp_path / "data")


def _upload_one(c: TestClient, csrf: str, watch: Path, name: str) -> None:
    r = upload(c, csrf, (name, (watch / name).read_bytes()))
    assert r.status_code == 200 and 'data-status="added"' in r.text, r.text[:400]


def _posts(csrf: str = "") -> list[tuple[str, dict]]:
    q = f"?csrf_token={csrf}" if csrf else ""
    return [
        (f"/profile{q}", {"data": {"units": "mi"}}),
        (f"/mydata/runs/1/delete{q}", {}),
        (f"/mydata/uploads/{HEX}/delete{q}", {}),
        (f"/mydata/analyses/{HEX}/delete{q}", {}),
        (f"/mydata/restore{q}", {"files": [("backup", ("b.zip", b"PK\x05\x06" + b"\0" * 18))]}),
        (f"/runs/recompute{q}", {}),
    ]


# -- guards --------------------------------------------------------------------------------------------


def test_new_pages_need_the_launch_token_and_a_known_host(client):
    pages = ("/profile", "/mydata", "/mydata/export", "/compare", "/compare?a=1&b=2")
    for path in pages:
        assert client.get(path).status_code == 401, path
    for path, kw in _posts("0" * 64):
        assert client.post(path, **kw).status_code == 401, path
    login(client)
    for path in pages[:-1]:
        assert client.get(path).status_code == 200, path
        r = client.get(path, headers={"host": "rebound.example:8765"})
        assert r.status_code == 421 and "host name" in error_text(r), path


def test_state_changing_routes_refuse_cross_origin_and_csrf_less_requests(client):
    csrf = login(client)
    for path, kw in _posts():
        r = client.post(path, **kw)
        assert r.status_code == 403 and "reload the page" in error_text(r), path
    for path, kw in _posts("f" * 64):
        assert client.post(path, **kw).status_code == 403, path
    for path, kw in _posts(csrf):
        r = client.post(path, headers={"origin": "http://attacker.example"}, **kw)
        assert r.status_code == 403 and "another site" in error_text(r), path
        assert client.post(path, headers={"sec-fetch-site": "cross-site"}, **kw).status_code == 403, path
        r = client.post(path, headers={"host": "attacker.example"}, **kw)
        assert r.status_code == 421, path
    assert client.get("/profile").text.count('value=""') >= 3  # nothing was saved


def test_path_traversal_in_every_new_parameter_is_refused(client):
    csrf = login(client)
    gets = (
        "/compare?a=..%2F..%2Fetc%2Fpasswd&b=1",
        "/compare?a=1&b=%2e%2e%2f",
        "/compare?a=1&b=1e999",
        "/compare?a=/etc/passwd&b=1",
        "/runs?recomputed=..%2F&failed=0",
        "/runs?recomputed=-1",
        "/profile?saved=..%2F",
        "/mydata/export/..%2F..%2Fhistory.sqlite",
    )
    for path in gets:
        r = client.get(path)
        assert r.status_code in (400, 404, 422), path
        assert "root:" not in r.text and "Traceback" not in r.text, path
    posts = (
        "/mydata/runs/..%2F..%2Fetc/delete",
        "/mydata/runs/-1/delete",
        "/mydata/runs/1e999/delete",
        "/mydata/uploads/..%2F..%2Fdata/delete",
        "/mydata/uploads/..%2F" + HEX[:29] + "/delete",
        "/mydata/uploads/" + HEX.upper() + "/delete",
        "/mydata/analyses/..%2F..%2Fhistory.sqlite/delete",
        "/mydata/analyses/..%2F" + HEX[:29] + "/delete",
        "/mydata/analyses/" + HEX.upper() + "/delete",
        "/mydata/analyses/" + HEX + "0/delete",
        "/mydata/analyses/%2Fetc%2Fpasswd/delete",
    )
    for path in posts:
        r = client.post(f"{path}?csrf_token={csrf}")
        assert r.status_code in (400, 404, 422), path
        assert "Traceback" not in r.text, path
    # well formed, but not there: readable, nothing removed
    r = client.post(f"/mydata/uploads/{HEX}/delete?csrf_token={csrf}")
    assert r.status_code == 400 and error_text(r) == "upload: no such upload"
    r = client.post(f"/mydata/runs/7/delete?csrf_token={csrf}")
    assert r.status_code == 400 and "no such run" in error_text(r)
    r = client.post(f"/mydata/analyses/{HEX}/delete?csrf_token={csrf}")
    assert r.status_code == 400 and error_text(r) == "analysis: no such analysis"
    assert (client.app.state.uploads.root.parent / "history.sqlite").exists()


# -- profile -------------------------------------------------------------------------------------------


def test_profile_is_saved_checked_and_its_units_apply_to_every_page(client, watch):
    csrf = login(client)
    _upload_one(client, csrf, watch, "test.tcx")
    assert "4.69 km" in client.get("/runs").text
    form = {"body_mass_kg": "61,5", "height_m": "1.70", "sex": "female", "cadence_spm": "176", "units": "mi"}
    r = client.post(f"/profile?csrf_token={csrf}", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/profile?saved=1"
    page = client.get("/profile?saved=1").text
    assert "Saved." in page and 'value="61.5"' in page and 'value="176"' in page
    assert 'value="female" selected' in page and 'value="mi" checked' in page
    for path in ("/", "/runs", "/runs/1", "/mydata"):
        text = client.get(path).text
        assert "2.91 mi" in text and "4.69 km" not in text, path  # 4689 m
    for bad, said in (({"body_mass_kg": "2"}, "body mass"), ({"cadence_spm": "fast"}, "not a number")):
        r = client.post(f"/profile?csrf_token={csrf}", data=bad)
        assert r.status_code == 400 and said in error_text(r)
    r = client.post(f"/profile?csrf_token={csrf}", data={"units": "furlongs"})
    assert r.status_code == 400 and "units" in error_text(r)
    assert 'value="61.5"' in client.get("/profile").text  # a refused form changes nothing


def test_advice_pages_follow_the_profile_units(client, watch):
    """The advice of a week and of a run in the profile's miles: the week's distance, the
    method, the reasons and the table (BW s per mi); in km before the profile said mi."""
    csrf = login(client)
    _upload_one(client, csrf, watch, "test.tcx")
    km_week = client.get("/advice").text
    assert "4.7 km)" in km_week and "impulse (BW s/km)" in km_week
    client.post(f"/profile?csrf_token={csrf}", data={"units": "mi"})
    km_word = re.compile(r"\bkm\b|/km\b|per-km")
    for path in ("/advice", "/runs/1/advice"):
        page = client.get(path).text
        assert "impulse (BW s/mi)" in page and "per mi" in page, path
        assert not km_word.search(page), (path, km_word.search(page))
    assert "2.9 mi)" in client.get("/advice").text  # 4689 m in the week's title


# -- runs: engine settings, mixed weeks, recompute; compare ---------------------------------------------


def test_runs_page_marks_mixed_weeks_and_its_recompute_button_works(client, watch):
    csrf = login(client)
    _upload_one(client, csrf, watch, "test.tcx")
    engine = client.app.state.engine
    runs = client.get("/runs").text
    assert "Recompute" not in runs and 'data-mixed="1"' not in runs
    assert 'data-engine-version="0.1.0"' in client.get("/runs/1").text
    [a] = activities(engine)
    row = {
        k: a[k] for k in ("source", "sport", "distance_m", "duration_s", "ascent_m", "descent_m", "warnings")
    }
    row.update(
        content_hash="e" * 64,
        start_time=a["start_time"] + timedelta(hours=2),
        imported_at=a["imported_at"],
        engine_version="0.0.9",
        settings=a["settings"],
    )
    other = store_activity(engine, row, a["groups"])
    runs = client.get("/runs").text
    assert 'data-mixed="1"' in runs and "1 run was computed with another engine version" in runs
    r = client.post(f"/runs/recompute?csrf_token={csrf}", follow_redirects=False)
    assert r.status_code == 303
    # the copy's content is not its file's: it cannot be recomputed, and says so
    assert r.headers["location"] == "/runs?recomputed=0&failed=1"
    assert "could not be" in client.get(r.headers["location"]).text
    r = client.post(f"/mydata/runs/{other}/delete?csrf_token={csrf}", follow_redirects=False)
    assert r.status_code == 303
    runs = client.get("/runs").text
    assert 'data-mixed="1"' not in runs and "Recompute" not in runs
    # an old run (no settings kept) is offered for recompute, and the button brings it up to date
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("UPDATE activities SET engine_version = NULL, settings = NULL"))
    assert "Stored before runmuscles kept" in client.get("/runs/1").text
    assert "1 run was computed" in client.get("/runs").text
    r = client.post(f"/runs/recompute?csrf_token={csrf}", follow_redirects=False)
    assert r.headers["location"] == "/runs?recomputed=1&failed=0"
    assert 'data-engine-version="0.1.0"' in client.get("/runs/1").text


def test_compare_page_shows_two_runs_and_two_weeks_side_by_side(client, watch):
    csrf = login(client)
    assert "<table" not in client.get("/compare").text
    for name in ("test.tcx", "garmin-fenix-5-run.fit"):
        _upload_one(client, csrf, watch, name)
    by_file = {Path(a["source"]).suffix: a for a in activities(client.app.state.engine)}
    a, b = by_file[".tcx"], by_file[".fit"]
    r = client.get(f"/compare?a={a['id']}&b={b['id']}")
    assert r.status_code == 200
    rows = re.findall(r'<tr data-group="([a-z_]+)">', r.text)
    assert "calves" in rows and "quadriceps" in rows
    assert "% distance" in r.text and "Not comparable" not in r.text
    assert (
        f'<option value="{a["id"]}" selected>' in r.text and f'<option value="{b["id"]}" selected>' in r.text
    )
    week_a = (a["start_time"].date() - timedelta(days=a["start_time"].weekday())).isoformat()
    week_b = b["start_time"].date().isoformat()
    r = client.get(f"/compare?a={week_a}&b={week_b}")
    assert r.status_code == 200 and f"week of {week_a}" in r.text
    r = client.get(f"/compare?a={a['id']}&b={week_b}")
    assert r.status_code == 400 and "not a run with a week" in error_text(r)
    r = client.get("/compare?a=1&b=99")
    assert r.status_code == 400 and "no such run" in error_text(r)


# -- my data -------------------------------------------------------------------------------------------


def test_delete_a_run_and_an_upload(client, watch):
    csrf = login(client)
    _upload_one(client, csrf, watch, "test.tcx")
    _upload_one(client, csrf, watch, "korita-zbevnica.gpx")
    store = client.app.state.uploads
    page = client.get("/mydata").text
    batches = re.findall(r'data-upload="([0-9a-f]{32})"', page)
    assert len(batches) == 2 and "test.tcx" in page and "korita-zbevnica.gpx" in page
    tcx = [x for x in activities(client.app.state.engine) if x["source"].endswith(".tcx")][0]
    r = client.post(f"/mydata/runs/{tcx['id']}/delete?csrf_token={csrf}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/mydata?done=run-deleted"
    assert not Path(tcx["source"]).exists()  # the uploaded file goes with it
    assert client.get(f"/runs/{tcx['id']}").status_code == 404
    assert "The run was deleted." in client.get("/mydata?done=run-deleted").text
    assert store.unfinished() == []  # a restart does not import the deleted run again
    gpx_batch = [b for b in batches if (store.root / b).is_dir() and any((store.root / b).glob("*.gpx"))][0]
    r = client.post(f"/mydata/uploads/{gpx_batch}/delete?csrf_token={csrf}", follow_redirects=False)
    assert r.status_code == 303
    assert not (store.root / gpx_batch).exists()
    assert activities(client.app.state.engine) == []
    assert "No runs yet" in client.get("/runs").text


def test_export_is_a_backup_that_restores_the_same_history_into_an_empty_data_folder(tmp_path, client, watch):
    csrf = login(client)
    _upload_one(client, csrf, watch, "test.tcx")
    _upload_one(client, csrf, watch, "activity-small-fenix2-run.fit")
    client.post(f"/profile?csrf_token={csrf}", data={"body_mass_kg": "70", "units": "mi"})
    r = client.get("/mydata/export")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert "attachment" in r.headers["content-disposition"]
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert {"tables/activities.csv", "tables/group_loads.csv", "tables/weekly_loads.csv"} <= set(names)
    assert sum(n.startswith("uploads/") and n.endswith((".tcx", ".fit")) for n in names) == 2
    assert not list(client.app.state.uploads.root.parent.glob(".export-*"))  # the temporary file is gone
    # restore into a new, empty data folder: the same runs, loads and profile
    other = _client(tmp_path / "new")
    csrf2 = login(other)
    assert 'id="restore-form"' in other.get("/mydata").text
    r = other.post(
        f"/mydata/restore?csrf_token={csrf2}",
        files=[("backup", ("my backup.zip", r.content, "application/zip"))],
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/mydata?done=restored"

    def same(rows):
        return [{k: v for k, v in x.items() if k != "source"} for x in rows]

    assert same(activities(other.app.state.engine)) == same(activities(client.app.state.engine))
    assert other.get("/runs").text.count("mi</td>") == client.get("/runs").text.count("mi</td>") == 2
    for x in activities(other.app.state.engine):
        assert Path(x["source"]).is_relative_to(tmp_path / "new") and Path(x["source"]).is_file()
    # the restored runs' pages name the files as uploaded
    assert "test.tcx" in other.get("/runs").text
    # never into a data folder that holds data; a foreign zip is refused readably
    r = other.post(
        f"/mydata/restore?csrf_token={csrf2}",
        files=[("backup", ("b.zip", client.get("/mydata/export").content, "application/zip"))],
    )
    assert r.status_code == 400 and "empty" in error_text(r)
    third = _client(tmp_path / "third")
    csrf3 = login(third)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../escape.json", "{}")
    r = third.post(f"/mydata/restore?csrf_token={csrf3}", files=[("backup", ("evil.zip", buf.getvalue()))])
    assert r.status_code == 400 and "outside its folder" in error_text(r)
    assert not (tmp_path / "escape.json").exists()
    r = third.post(f"/mydata/restore?csrf_token={csrf3}", files=[("backup", ("b.fit", b"x" * 20))])
    assert r.status_code == 400
    assert not list((tmp_path / "third").glob(".restore-*"))  # the received zip is removed


def test_storage_pages_on_postgresql(tmp_path, watch, new_postgres_db):
    c = _client(tmp_path / "d", new_postgres_db)
    csrf = login(c)
    _upload_one(c, csrf, watch, "test.tcx")
    c.post(f"/profile?csrf_token={csrf}", data={"units": "mi"})
    assert "2.91 mi" in c.get("/runs").text
    export = c.get("/mydata/export").content
    [run] = activities(c.app.state.engine)
    assert c.post(f"/mydata/runs/{run['id']}/delete?csrf_token={csrf}").status_code == 200
    assert activities(c.app.state.engine) == []
    # the profile is still there: not an empty history; delete it by restoring elsewhere instead
    other = _client(tmp_path / "e", f"sqlite:///{tmp_path / 'e.sqlite'}")
    csrf2 = login(other)
    r = other.post(f"/mydata/restore?csrf_token={csrf2}", files=[("backup", ("b.zip", export))])
    assert r.status_code == 200  # redirected to My data
    assert [x["content_hash"] for x in activities(other.app.state.engine)] == [run["content_hash"]]


# -- a real browser --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_browser_saves_the_profile_and_sees_distances_in_miles(tmp_path, require_service):
    from runmuscles.reports.browser import HeadlessBrowser, find_chromium

    if find_chromium() is None:
        require_service("no Chromium (install Debian's 'chromium' package)")
    proc, url = _start_server(tmp_path)
    origin = url.split("/?")[0]
    try:
        with HeadlessBrowser(width=1100, height=900, timeout_s=60) as b:
            b.open(url)
            b.open(origin + "/profile")
            b.evaluate("document.getElementById('body_mass_kg').value = '64'")
            b.evaluate("document.getElementById('cadence_spm').value = '174'")
            b.evaluate("document.querySelector('input[name=units][value=mi]').checked = true")
            b._events = [e for e in b._events if e["method"] != "Page.loadEventFired"]
            b.evaluate("document.getElementById('profile-form').requestSubmit()")
            b.wait_for_event("Page.loadEventFired", timeout_s=60)
            assert b.evaluate("location.pathname + location.search") == "/profile?saved=1"
            assert b.evaluate("document.querySelector('[role=status]').textContent") == "Saved."
            assert b.evaluate("document.getElementById('body_mass_kg').value") == "64"
            assert b.evaluate("document.querySelector('input[name=units]:checked').value") == "mi"
            # keyboard: every field has a label
            unlabelled = b.evaluate(
                "[...document.querySelectorAll('#profile-form input, #profile-form select')]"
                ".filter(e => !e.labels || e.labels.length === 0).length"
            )
            assert unlabelled == 0
            assert b.console_errors == []
            assert all(u.startswith(origin) or u.startswith("data:") for u in b.requests), b.requests
    finally:
        proc.terminate()
        proc.wait(timeout=10)
