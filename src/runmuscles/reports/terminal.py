"""Terminal summaries (rich tables) of analyses, built only from their result tables."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from ..analyses.groups import GROUP_LABELS

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline import TrialAnalysis
    from ..trials import TrialSpec

__all__ = ["print_analysis", "print_demo"]

_PHASES = ("braking", "propulsion", "early_swing", "late_swing")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f} %"


def _groups_table(summary: dict, title: str) -> Table:
    groups = summary["groups"]
    t = Table(title=title, title_justify="left")
    t.add_column("group")
    t.add_column("share of force impulse", justify="right")
    t.add_column("share of positive work", justify="right")
    for ph in _PHASES:
        t.add_column(ph.replace("_", " "), justify="right")
    order = sorted(groups, key=lambda g: -groups[g]["share_of_impulse"])
    for g in order:
        e = groups[g]
        if not e["muscles"]:
            continue
        t.add_row(
            GROUP_LABELS.get(g, g),
            _pct(e["share_of_impulse"]),
            _pct(e["share_of_positive_work"]),
            *[_pct(e["phase_share_of_impulse"][ph]) for ph in _PHASES],
        )
    return t


def print_analysis(analysis: TrialAnalysis, out: Path, console: Console | None = None) -> None:
    """Headline numbers, group shares per phase, top muscles and quality flags."""
    c = console or Console()
    s = analysis.summary()
    speed = f"{s['speed_m_s']:.1f} m/s" if s["speed_m_s"] else "speed unknown"
    c.print(
        f"[bold]{analysis.coordinates_path.name}[/bold]  "
        f"model {s['model_name']} ({s['body_mass_kg']:.1f} kg), "
        f"{speed}, {s['n_strides']} stride(s)"
        + (
            " [bold]stance only[/bold] (no complete measured stride)"
            if s.get("analysis_kind") == "stance_only"
            else ""
        )
        + (
            f", stride {s['stride_time_s']:.3f} s, peak vertical GRF {s['peak_vertical_grf_bw']:.2f} BW"
            if s["n_strides"] and s["peak_vertical_grf_bw"]
            else ""
        )
    )
    from rich.markup import escape  # noqa: PLC0415

    from ..analyses.validity import flag_reasons  # noqa: PLC0415
    from .narrative import energy_sentence  # noqa: PLC0415

    energy = energy_sentence(s)  # energy first, with its flag
    if energy:
        colour = "yellow" if flag_reasons(s["quality"], "energy") else "bold"
        c.print(f"[{colour}]{escape(energy)}[/{colour}]")
    c.print(_groups_table(s, "Muscle groups (shares of all muscles; per phase: share within the phase)"))
    top = Table(title="Top muscles by force impulse per stride", title_justify="left")
    for col in ("muscle", "impulse (BW s)", "positive work (J)", "peak force (BW)", "peak activation"):
        top.add_column(col, justify="right" if col != "muscle" else "left")
    for r in s["top_muscles_by_impulse"][:8]:
        top.add_row(
            r["muscle"],
            f"{r['impulse_bw_s']:.3f}",
            f"{r['positive_work_j']:.1f}",
            f"{r['peak_force_bw']:.2f}",
            f"{r['peak_activation']:.2f}",
        )
    c.print(top)
    fs = s.get("foot_strike") or {}
    if fs.get("right") or fs.get("left"):
        n = len(fs["strides"])
        c.print(f"foot strike: right {fs.get('right') or '-'}, left {fs.get('left') or '-'} ({n} strikes)")
    emg = s.get("emg")
    if emg:
        parts = [f"{ch['channel']} {ch['r']:.2f}" for ch in emg["channels"] if ch.get("r") is not None]
        med = "-" if emg["median_r"] is None else f"{emg['median_r']:.2f}"
        c.print(
            f"EMG vs activation (r, EMG {1000 * emg['delay_s']:.0f} ms later): median {med}; "
            + ", ".join(parts)
        )
    path = s["quality"].get("input", {}).get("path")
    if path and path != "files as given":
        c.print(f"inputs: {path}")
    for flag in s["quality"]["flags"]:
        c.print(f"[yellow]quality:[/yellow] {flag}")
    c.print(f"results written to [bold]{out}[/bold]")


def print_demo(
    runs: list[tuple[TrialSpec, TrialAnalysis]], out: Path, console: Console | None = None
) -> None:
    """Per speed: group shares and load per kilometre; then where results are."""
    c = console or Console()
    c.print(
        "[bold]Demo runner[/bold]: Hamner & Delp (2013) subject 01, Hamner 2010 model scaled to "
        f"{runs[0][1].body_mass_kg:.1f} kg, treadmill running"
    )
    summaries = [(spec, a.summary()) for spec, a in runs]
    groups = [g for g in summaries[0][1]["groups"] if summaries[0][1]["groups"][g]["muscles"]]
    t = Table(title="Share of total muscle force impulse per stride, by speed", title_justify="left")
    t.add_column("group")
    for spec, _ in summaries:
        t.add_column(f"{spec.speed_m_s:g} m/s", justify="right")
    order = sorted(groups, key=lambda g: -summaries[-1][1]["groups"][g]["share_of_impulse"])
    for g in order:
        t.add_row(GROUP_LABELS.get(g, g), *[_pct(s["groups"][g]["share_of_impulse"]) for _, s in summaries])
    c.print(t)
    t2 = Table(title="Positive muscle work per kilometre (J/kg), by speed", title_justify="left")
    t2.add_column("group")
    for spec, _ in summaries:
        t2.add_column(f"{spec.speed_m_s:g} m/s", justify="right")
    for g in order:
        vals = [s["groups"][g].get("positive_work_j_per_kg_per_km") for _, s in summaries]
        t2.add_row(GROUP_LABELS.get(g, g), *["-" if v is None else f"{v:.1f}" for v in vals])
    c.print(t2)
    t3 = Table(title="Stride", title_justify="left")
    for col in (
        "speed",
        "strides",
        "stride time (s)",
        "stance (%)",
        "peak vertical GRF (BW)",
        "quality flags",
    ):
        t3.add_column(col, justify="right")
    for spec, s in summaries:
        t3.add_row(
            f"{spec.speed_m_s:g} m/s",
            str(s["n_strides"]),
            f"{s['stride_time_s']:.3f}" if s["stride_time_s"] else "-",
            f"{100 * s['stance_fraction']:.0f}" if s["stance_fraction"] else "-",
            f"{s['peak_vertical_grf_bw']:.2f}" if s["peak_vertical_grf_bw"] else "-",
            str(len(s["quality"]["flags"])),
        )
    c.print(t3)
    for spec, s in summaries:
        for flag in s["quality"]["flags"]:
            c.print(f"[yellow]{spec.speed_m_s:g} m/s quality:[/yellow] {flag}")
    c.print(f"results written to [bold]{out}[/bold] (one folder per speed)")
