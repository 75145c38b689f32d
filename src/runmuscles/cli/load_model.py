"""`runmuscles load-model build`: rebuild the run-load table (analyses.load_model)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..validation import choice_check
from ._app import app, fail

load_model_app = typer.Typer(
    no_args_is_help=True,
    help="The per-group load table (speed x grade x cadence) that `runmuscles run` integrates.",
)
app.add_typer(load_model_app, name="load-model")


def _numbers(text: str, name: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        fail(f"--{name}: '{text}' is not a comma-separated list of numbers")
        raise  # unreachable: _fail exits


@load_model_app.command("build")
def load_model_build(
    data: Annotated[Path, typer.Argument(help="The hamner2013 folder (subjectNN/ with model/, ik/).")],
    out: Annotated[Path, typer.Option(help="Where to write the table (JSON).")] = Path("load_model.json"),
    speeds: Annotated[str, typer.Option(help="Trials Run_N to use, m/s, comma-separated.")] = "2,3,4,5",
    grades: Annotated[
        str, typer.Option(help="Grades of the table, %, comma-separated (-20 to 20, with 0).")
    ] = "-15,-10,-5,0,5,10,15",
    cadences: Annotated[
        str, typer.Option(help="Cadences, % of each runner's own, comma-separated (80-120, with 100).")
    ] = "90,95,100,105,110",
    subject: Annotated[
        list[str] | None, typer.Option("--subject", help="Only these subject folders (repeat).")
    ] = None,
    strength: Annotated[
        str,
        typer.Option(help="'volume' (default) or 'model'.", callback=choice_check("strength", "--strength")),
    ] = "volume",
) -> None:
    """Rebuild the load table: analyse each runner's trials once, then every grade x cadence
    with the what-if engine (minutes: about 15 s per trial with the default axes)."""
    import time  # noqa: PLC0415

    from ..analyses.load_model import build_load_model  # noqa: PLC0415
    from ..outputs import check_output_file, json_written_by_runmuscles  # noqa: PLC0415

    check_output_file(out, json_written_by_runmuscles)
    speed_list = _numbers(speeds, "speeds")
    t0 = time.perf_counter()
    m = build_load_model(
        data,
        out,
        speeds_m_s=speed_list,  # type: ignore[arg-type]
        grades_pct=_numbers(grades, "grades"),
        cadences_pct=_numbers(cadences, "cadences"),
        subjects=subject,
        strength=strength,
        progress=lambda line: typer.echo(line, err=True),
    )
    n_s, n_g, n_c = (len(m[k]) for k in ("speeds_m_s", "grades_pct", "cadences_pct"))
    prov = m["provenance"]
    typer.echo(
        f"wrote {out}: {len(m['groups'])} groups x {n_s} speeds x {n_g} grades x {n_c} cadences, "
        f"{len(prov['runners'])} runners, {prov['conditions_failed']} conditions failed, "
        f"{time.perf_counter() - t0:.0f} s"
    )
