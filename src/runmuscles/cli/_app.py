"""The command-line application object and what every command shares.

Each command lives in its own module of :mod:`runmuscles.cli` and registers itself on
:data:`app`; heavy modules are imported inside the commands, so ``runmuscles --help`` is
instant.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from ..errors import RunmusclesError

# The engine's linear algebra is many small matrices (tens of rows), where BLAS threads only
# add overhead and contend for cores; one thread per process (set before NumPy loads, which
# happens inside the commands).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    help=(
        "Which muscles does running work, and how much? Per-muscle activation, force and work over "
        "the running stride, from OpenSim models and real data."
    ),
)

EXIT_INPUT = 2
EXIT_INTERNAL = 3


def fail(message: str, code: int = EXIT_INPUT) -> None:
    typer.echo(f"runmuscles: error: {message}", err=True)
    raise typer.Exit(code)


def progress_factory(enabled: bool):
    """A rich progress bar that appears only after the work has taken a second."""
    if not enabled:
        return None, None
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    return progress, progress


def run_one(spec, opts, out: Path, *, show_progress: bool):
    from ..pipeline import analyze_trial  # noqa: PLC0415
    from ..results import write_results  # noqa: PLC0415

    progress, _ = progress_factory(show_progress and sys.stderr.isatty())
    if progress is None:
        analysis = analyze_trial(spec.model, spec.coordinates, spec.forces, opts)
    else:
        with progress:
            task = progress.add_task("analysing", total=None)
            analysis = analyze_trial(
                spec.model,
                spec.coordinates,
                spec.forces,
                opts,
                progress=lambda stage: progress.update(task, description=f"{spec.label}: {stage}"),
            )
    paths = write_results(analysis, out)
    return analysis, paths


def report_after_run(results: Path, *, announce: bool) -> None:
    """Write report.html after an analysis; a failure here does not fail the analysis."""
    from ..reports.html import build_report  # noqa: PLC0415

    try:
        path = build_report(results)
    except RunmusclesError as exc:
        typer.echo(f"runmuscles: warning: no report written: {exc}", err=True)
        return
    if announce:
        typer.echo(f"report: {path}", err=True)
