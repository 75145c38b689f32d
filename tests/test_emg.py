"""EMG beside the activations: reading, the time rule, channel mapping, envelopes, comparison.

The done-when case is the Rajagopal et al. (2016) runner (the shared data's
``rajagopal2016-running``: 16 raw channels and 11 envelopes of the right leg) on the
Rajagopal 2016 model scaled here (``reference_cases.rajagopal_case``), with volume
strength and the documented 50 ms electromechanical delay.

A fact about that data, checked below: ``emg_run_processed.csv`` has the same 5590 samples
as ``emg_run_raw.csv`` (1000 Hz), but its time column steps at 1/960 s. Its envelopes follow
our envelope of the raw channels with r near 0.99 on a 1000 Hz time base and r below 0.5 on
its own time column, so the time column is wrong, and the file is read as 1000 Hz with the
time column removed; given as it is with ``--emg-rate 1000`` it is refused (the 1 % rule).
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from runmuscles.analyses.emg import (
    ELECTROMECHANICAL_DELAY_S,
    EmgOptions,
    compare_emg,
    detect_kind,
    emg_envelope,
    main_burst,
    prepare_emg,
)
from runmuscles.analyses.emg_channels import map_channels, parse_label
from runmuscles.errors import InputError
from runmuscles.kinematics.events import GaitEvents, StrideCycle
from runmuscles.readers.emg import read_emg

RAJ = "rajagopal2016-running"


def _muscles(osim: Path) -> list[str]:
    root = ET.parse(osim).getroot()
    return [el.get("name") for el in root.iter() if el.tag.endswith("Muscle") and el.get("name")]


def _write_csv(path: Path, labels: list[str], data: np.ndarray, time_s: np.ndarray | None = None, head=""):
    cols = (["time"] if time_s is not None else []) + labels
    rows = data if time_s is None else np.column_stack([time_s, data])
    path.write_text(head + ",".join(cols) + "\n" + "\n".join(",".join(f"{v:.7g}" for v in r) for r in rows))
    return path


def _synthetic_raw(rate_hz: float = 1000.0, seconds: float = 4.0, seed: int = 3):
    """Noise modulated by a known envelope, plus a DC offset and 2 Hz movement artefact."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    envelope = 0.05 + np.clip(np.sin(2 * np.pi * 1.4 * t), 0, None) ** 2
    carrier = rng.standard_normal(t.size)
    raw = envelope * carrier + 0.3 + 0.2 * np.sin(2 * np.pi * 2.0 * t)
    return t, raw, envelope


# -- envelopes and kinds -----------------------------------------------------------------------
def test_envelope_recovers_the_modulation_and_kinds_are_detected() -> None:
    t, raw, true_env = _synthetic_raw()
    env, desc = emg_envelope(raw[:, None], 1000.0)
    inner = slice(500, -500)  # away from the filters' end effects
    r = np.corrcoef(env[inner, 0], true_env[inner])[0, 1]
    assert r > 0.95, r
    assert "20-450 Hz" in desc and "6 Hz" in desc
    assert detect_kind(raw[:, None], 1000.0, ["x"], "f")[0] == "raw"
    assert detect_kind(env, 1000.0, ["x"], "f")[0] == "envelope"
    assert detect_kind(raw[:, None] + 5.0, 1000.0, ["x"], "f")[0] == "raw"  # a DC offset: still raw
    rect = np.abs(raw - 0.3 - 0.2 * np.sin(2 * np.pi * 2.0 * t))[:, None]  # |envelope x noise|
    assert detect_kind(rect, 1000.0, ["x"], "f")[0] == "rectified"
    env_r, desc_r = emg_envelope(rect, 1000.0, rectified=True)
    assert "low-passed" in desc_r and np.corrcoef(env_r[inner, 0], true_env[inner])[0, 1] > 0.9
    # smooth but signed: neither raw nor an envelope, the user must say
    with pytest.raises(InputError, match="--emg-kind"):
        detect_kind(np.sin(2 * np.pi * 1.0 * t)[:, None], 1000.0, ["odd"], "f")


def test_raw_file_is_enveloped_and_gaps_are_bridged_or_refused(tmp_path: Path) -> None:
    t, raw, _ = _synthetic_raw()
    raw2 = raw.copy()
    raw2[1000:1040] = np.nan  # 40 ms gap: bridged
    p = _write_csv(tmp_path / "raw.csv", ["R TA"], raw2[:, None], t)
    rec = prepare_emg(EmgOptions(p), ["tibant_r", "tibant_l", "soleus_r"])
    assert rec.kind == "raw" and rec.mappings[0].muscles == ["tibant_r"]
    assert any("interpolated" in n for n in rec.notes)
    raw2[2000:2300] = np.nan  # 0.3 s: longer than MAX_GAP_S
    p = _write_csv(tmp_path / "raw2.csv", ["R TA"], raw2[:, None], t)
    with pytest.raises(InputError, match="gap of"):
        prepare_emg(EmgOptions(p), ["tibant_r"])


# -- the time rule ----------------------------------------------------------------------------------
def test_time_column_rate_against_given_and_header_rate(tmp_path: Path) -> None:
    n = 2000
    x = np.abs(np.sin(np.arange(n) / 200.0))[:, None]
    t_1020 = np.arange(n) / 1020.0
    p = _write_csv(tmp_path / "e.csv", ["TA"], x, t_1020)
    assert read_emg(p).meta["rate_hz"] == pytest.approx(1020.0)
    with pytest.raises(InputError, match=r"1020 Hz but --emg-rate says 1000 Hz \(2\.0 % apart"):
        read_emg(p, rate_hz=1000.0)
    read_emg(p, rate_hz=1015.0)  # 0.5 %: accepted
    # a header's rate is checked the same way (CSV comment line, OpenSim DataRate)
    p = _write_csv(tmp_path / "h.csv", ["TA"], x, t_1020, head="# rate = 1000\n")
    with pytest.raises(InputError, match="its header says 1000 Hz"):
        read_emg(p)
    sto = tmp_path / "e.sto"
    sto.write_text(
        "emg\nversion=1\nnRows=2000\nnColumns=2\nDataRate=1000\nendheader\ntime\tTA\n"
        + "\n".join(f"{a:.8f}\t{b:.6f}" for a, b in zip(t_1020, x[:, 0], strict=True))
    )
    with pytest.raises(InputError, match="its header says 1000 Hz"):
        read_emg(sto)
    # no time column: the rate is needed, and gives the times
    p = _write_csv(tmp_path / "nt.csv", ["TA"], x)
    with pytest.raises(InputError, match="--emg-rate"):
        read_emg(p)
    tab = read_emg(p, rate_hz=500.0)
    assert tab.time_s[-1] == pytest.approx((n - 1) / 500.0)


# -- mapping ------------------------------------------------------------------------------------------
def test_abbreviations_map_to_both_models(shared_data: Path) -> None:
    raj = _muscles(shared_data / "models" / "Rajagopal2016.osim")
    ham = _muscles(shared_data / "models" / "FullBodyModel_Hamner2010_v2_0.osim")
    chans = [
        "R_TA",
        "LSOL",
        "MG",
        "GASLAT",
        "VL R",
        "EMG3 L GMAX",
        "BFLH",
        "ST",
        "SM",
        "RF",
        "GMED",
        "VM",
        "ADD",
    ]
    expected_roles = {
        "R_TA": ("tib_ant", "right"),
        "LSOL": ("soleus", "left"),
        "EMG3 L GMAX": ("glut_max", "left"),
        "VL R": ("vas_lat", "right"),
    }
    for label, (role, side) in expected_roles.items():
        roles, s = parse_label(label)
        assert roles == (role,) and (s or "right") == side, (label, roles, s)
    for names, gas_med, gmax in ((raj, "gasmed_r", "glmax"), (ham, "med_gas_r", "glut_max")):
        maps, ignored = map_channels(chans, names, default_side="right")
        got = {m.channel: m.muscles for m in maps}
        assert not ignored and set(got) == set(chans)
        assert got["MG"] == [gas_med]
        assert len(got["EMG3 L GMAX"]) == 3 and all(
            m.startswith(gmax) and m.endswith("_l") for m in got["EMG3 L GMAX"]
        )
        assert got["LSOL"] == ["soleus_l"]
        assert all(m.endswith("_r") for c in ("R_TA", "VL R", "RF") for m in got[c])
        assert len(got["ADD"]) >= 3  # the adductor group
    # model names themselves (the raw file's columns): gasmedr -> gasmed_r
    maps, _ = map_channels(["gasmedr", "glmax2r"], raj)
    assert [m.muscles for m in maps] == [["gasmed_r"], ["glmax2_r"]]


def test_unmatched_channels_are_named_unless_mapped_or_ignored(tmp_path: Path) -> None:
    names = ["tibant_r", "soleus_r", "gasmed_r", "tibant_l"]
    with pytest.raises(
        InputError, match=r"match no muscle of the model: FOO, Channel 7, ES \(erector_spinae"
    ):
        map_channels(["TA", "FOO", "Channel 7", "ES"], names)
    maps, ignored = map_channels(
        ["TA", "FOO", "Channel 7", "ES"],
        names,
        mapping={"FOO": "soleus_r", "Channel 7": "L TA", "ES": "ignore"},
    )
    assert {m.channel: m.muscles for m in maps} == {
        "TA": ["tibant_r"],
        "FOO": ["soleus_r"],
        "Channel 7": ["tibant_l"],
    }
    assert ignored == ["ES"]


# -- onsets and the comparison ------------------------------------------------------------------------
def test_main_burst_onsets_and_offsets() -> None:
    pct = np.linspace(0, 100, 101)
    burst = np.exp(-0.5 * ((pct - 30) / 5) ** 2)
    on, off = main_burst(burst)
    # above 25 % of the range: |pct - 30| < 5 * sqrt(2 ln 4) = 8.3
    assert on == pytest.approx(22, abs=1) and off == pytest.approx(39, abs=1)
    wrap = np.exp(-0.5 * (((pct + 50) % 100 - 50) / 5) ** 2)  # a burst across foot strike
    on, off = main_burst(wrap)
    assert on == pytest.approx(92, abs=1) and off == pytest.approx(9, abs=1)
    assert main_burst(np.ones(101)) is None


def test_comparison_finds_no_difference_when_emg_leads_by_the_delay(tmp_path: Path) -> None:
    stride = 0.7
    cycles = [StrideCycle("right", k * stride, k * stride + 0.25, (k + 1) * stride, k * stride + 0.1, k + 1)
              for k in range(1, 5)]  # fmt: skip
    events = GaitEvents({}, {"right": cycles, "left": []}, "synthetic")
    time_s = np.arange(0.7, 3.5 + 1e-9, 0.01)

    def pattern(t):
        ph = (t % stride) / stride
        return 0.02 + 0.6 * np.exp(-0.5 * ((ph - 0.2) / 0.06) ** 2)

    act = pattern(time_s)[:, None]
    t_emg = np.arange(0, 4.0, 0.001)
    emg = 3.0 * pattern(t_emg + ELECTROMECHANICAL_DELAY_S)  # EMG leads force by the delay
    p = _write_csv(tmp_path / "env.csv", ["SOL"], emg[:, None], t_emg)
    rec = prepare_emg(EmgOptions(p), ["soleus_r"])
    block = compare_emg(rec, time_s, act, ["soleus_r"], events)
    ch = block["channels"][0]
    assert ch["n_strides"] == 4 and ch["r"] > 0.999
    assert abs(ch["onset_difference_pct"]) <= 1 and abs(ch["offset_difference_pct"]) <= 1
    assert max(ch["emg_curve"]) == pytest.approx(1.0, abs=0.02)  # normalised to its per-stride peaks
    # without the delay the model appears late by it (50 ms of a 700 ms stride: about 7 %)
    rec0 = prepare_emg(EmgOptions(p, delay_s=0.0), ["soleus_r"])
    ch0 = compare_emg(rec0, time_s, act, ["soleus_r"], events)["channels"][0]
    assert ch0["onset_difference_pct"] == pytest.approx(100 * 0.05 / stride, abs=1.5)


# -- the command line -------------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runmuscles", *args], capture_output=True, text=True, timeout=900
    )


def _one_line_exit_2(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith("runmuscles: error: "), err
    for n in needles:
        assert n in err, (n, err)


def test_cli_refuses_unmatched_channels_and_a_wrong_rate(
    hamner: Path, shared_data: Path, tmp_path: Path
) -> None:
    subject = hamner / "subject01"
    t = np.arange(0, 3, 0.001)
    bad = _write_csv(
        tmp_path / "bad.csv", ["R TA", "XYZ", "EMG 7"], np.abs(np.sin(t))[:, None].repeat(3, 1), t
    )
    base = ["analyze", str(subject), "--trial", "Run_4", "--cycle", "1", "--out", str(tmp_path / "o")]
    _one_line_exit_2(_cli(*base, "--emg", str(bad)), "match no muscle", "XYZ", "EMG 7", "--emg-map")
    assert not (tmp_path / "o" / "summary.json").exists()
    proc = _cli(*base, "--emg", str(shared_data / RAJ / "emg_run_processed.csv"), "--emg-rate", "1000")
    _one_line_exit_2(proc, "960 Hz", "1000 Hz", "4.0 %")
    assert not (tmp_path / "o" / "summary.json").exists()


# -- the done-when case: the Rajagopal runner --------------------------------------------------------------
@pytest.mark.opensim
@pytest.mark.slow
def test_rajagopal_runner_emg_against_activation(shared_data: Path, tmp_path: Path) -> None:
    reference_cases = pytest.importorskip("reference_cases")
    from runmuscles.pipeline import AnalysisOptions, analyze_trial
    from runmuscles.reports.html import build_report, export_figures
    from runmuscles.results import write_results

    d = shared_data / RAJ
    # the processed file's time column is wrong (see the module docstring): shown here
    raw = read_emg(d / "emg_run_raw.csv")
    proc = read_emg(d / "emg_run_processed.csv")
    assert raw.n_frames == proc.n_frames and proc.meta["rate_hz"] == pytest.approx(960.0)
    env, _ = emg_envelope(raw.columns(["soleusr"]), 1000.0)
    for rate, lo, hi in ((1000.0, 0.95, 1.0), (960.0, -1.0, 0.5)):
        r = np.corrcoef(
            np.interp(np.arange(proc.n_frames) / rate, raw.time_s, env[:, 0]), proc.column("SOL")
        )[0, 1]
        assert lo <= r <= hi, (rate, r)
    fixed = tmp_path / "emg_run_processed_1000hz.csv"
    _write_csv(fixed, list(proc.labels), proc.data)

    case = reference_cases.rajagopal_case(tmp_path / "case")
    medians = {}
    for name, emg in (
        ("processed", EmgOptions(fixed, rate_hz=1000.0)),
        ("raw", EmgOptions(d / "emg_run_raw.csv")),
    ):
        opts = AnalysisOptions(strength="volume", emg=emg)
        analysis = analyze_trial(case.model, case.coordinates, case.external_loads, opts)
        out = tmp_path / name
        write_results(analysis, out)
        block = analysis.summary()["emg"]
        chans = block["channels"]
        print(
            f"\n{name}: median r {block['median_r']:.3f}; "
            + ", ".join(f"{c['channel']} {c['r']:.2f}" for c in chans)
        )
        assert block["delay_s"] == ELECTROMECHANICAL_DELAY_S and block["kind"] == (
            "envelope" if name == "processed" else "raw"
        )
        assert all(c["n_strides"] >= 1 and c["r"] is not None for c in chans)
        medians[name] = block["median_r"]
        html = build_report(out).read_text()
        assert html.count('class="fig emg-fig"') == len(chans) and 'href="#t0-emg"' in html
        figs, _ = export_figures(out, tmp_path / f"{name}_figs", png=False)
        assert len([f for f in figs if f.startswith("emg_")]) == len(chans)
        for c in chans:
            assert f"{c['channel']} ({c['side']}): r = {c['r']:.2f}" in html
            assert "onset" in html and c["onset_difference_pct"] is not None
    assert len(read_emg(fixed, rate_hz=1000.0).labels) == 11
    assert medians["processed"] >= 0.6, medians
    assert medians["raw"] >= 0.6, medians


def test_c3d_emg_channels_are_read_mapped_and_enveloped(tmp_path: Path) -> None:
    ezc3d = pytest.importorskip("ezc3d")
    rate, ratio = 100.0, 10
    t, raw, true_env = _synthetic_raw(rate * ratio, 3.0)
    n = t.size // ratio
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [rate]
    c["parameters"]["POINT"]["LABELS"]["value"] = ["RASI", "LASI"]
    c["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    pts = np.ones((4, 2, n))
    pts[:3] = np.array([[0.0, 0.0], [120.0, -120.0], [1000.0, 1000.0]])[:, :, None]
    c["data"]["points"] = pts
    labels = ["Voltage.R TA", "Voltage.L SOL", "Aux 3"]
    c["parameters"]["ANALOG"]["RATE"]["value"] = [rate * ratio]
    c["parameters"]["ANALOG"]["LABELS"]["value"] = labels
    c["parameters"]["ANALOG"]["UNITS"]["value"] = ["V", "V", "V"]
    c["parameters"]["ANALOG"]["SCALE"]["value"] = [1.0] * 3
    c["parameters"]["ANALOG"]["OFFSET"]["value"] = [0] * 3
    c["data"]["analogs"] = np.vstack([raw, 0.5 * raw, 0 * raw])[None]
    path = tmp_path / "emg.c3d"
    c.write(str(path))
    tab = read_emg(path)
    assert tab.labels == labels[:2] and tab.meta["rate_hz"] == 1000.0  # "Aux 3" is not EMG
    with pytest.raises(InputError, match="ANALOG:RATE is 1000 Hz but --emg-rate says 1200 Hz"):
        read_emg(path, rate_hz=1200.0)
    rec = prepare_emg(EmgOptions(path), ["tibant_r", "soleus_l", "soleus_r"])
    assert rec.kind == "raw"
    assert [m.muscles for m in rec.mappings] == [["tibant_r"], ["soleus_l"]]
    inner = slice(500, -500)
    assert np.corrcoef(rec.envelopes.data[inner, 0], true_env[inner])[0, 1] > 0.95
    # a channel whose label does not say EMG is read when the map file names it
    mp = tmp_path / "map.csv"
    mp.write_text("Aux 3, ignore\nVoltage.R TA, tibant_r\n")
    rec = prepare_emg(EmgOptions(path, map_path=mp), ["tibant_r", "soleus_l"])
    assert rec.ignored == ["Aux 3"] and [m.channel for m in rec.mappings] == ["Voltage.R TA", "Voltage.L SOL"]


def test_cli_emg_on_the_hamner_model(hamner: Path, shared_data: Path, tmp_path: Path) -> None:
    """The same runner and trial on the Hamner 2010 model with its published IK (six right
    strides): the processed envelopes map to Hamner's names and the report shows them."""
    proc_file = read_emg(shared_data / RAJ / "emg_run_processed.csv")
    fixed = _write_csv(tmp_path / "env.csv", list(proc_file.labels), proc_file.data)  # 1000 Hz, see above
    out = tmp_path / "res"
    args = [
        "analyze",
        str(hamner / "subject01"),
        "--trial",
        "Run_4",
        "--strength",
        "volume",
        "--out",
        str(out),
    ]
    proc = _cli(*args, "--emg", str(fixed), "--emg-rate", "1000", "--emg-normalise", "trial_peak", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    emg = json.loads(proc.stdout)["emg"]
    got = {c["channel"]: c for c in emg["channels"]}
    assert got["GASMED"]["muscles"] == ["med_gas_r"] and got["BFLH"]["muscles"] == ["bifemlh_r"]
    assert got["GMAX"]["muscles"] == ["glut_max1_r", "glut_max2_r", "glut_max3_r"]
    assert all(c["n_strides"] == 6 for c in got.values())
    assert (
        emg["normalisation"].startswith("trial_peak")
        and max(max(c["emg_curve"]) for c in got.values()) <= 1.0
    )
    print(f"\nHamner model, 6 strides: median r {emg['median_r']:.3f}")
    assert emg["median_r"] >= 0.6
    html = (out / "report.html").read_text()
    assert html.count('class="fig emg-fig"') == 11


def test_map_file(tmp_path: Path) -> None:
    t = np.arange(0, 2, 0.01)
    x = np.abs(np.sin(2 * np.pi * t))[:, None].repeat(3, 1)
    p = _write_csv(tmp_path / "e.csv", ["ch1", "ch2", "ch3"], x, t)
    mp = tmp_path / "map.txt"
    mp.write_text("# lab channel, model muscle\nch1, soleus_r\nch2, L TA   # by abbreviation\nch3, ignore\n")
    rec = prepare_emg(EmgOptions(p, map_path=mp), ["soleus_r", "tibant_l", "tibant_r"])
    assert [(m.channel, m.muscles, m.how) for m in rec.mappings] == [
        ("ch1", ["soleus_r"], "map file"),
        ("ch2", ["tibant_l"], "map file"),
    ]
    assert rec.ignored == ["ch3"] and rec.kind == "envelope"
    mp.write_text("ch1, soleus_r\nch9, tibant_r\n")
    with pytest.raises(InputError, match="lacks: ch9"):
        prepare_emg(EmgOptions(p, map_path=mp), ["soleus_r", "tibant_r"])
    mp.write_text("ch1 soleus_r\n")
    with pytest.raises(InputError, match="line 1: expected 'channel, muscle'"):
        prepare_emg(EmgOptions(p, map_path=mp), ["soleus_r"])
    mp.write_text("ch1, quadratus\n")
    with pytest.raises(InputError, match="neither a model muscle nor a known abbreviation"):
        prepare_emg(EmgOptions(p, map_path=mp, ignore=("ch2", "ch3")), ["soleus_r"])
