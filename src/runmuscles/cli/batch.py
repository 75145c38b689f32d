"""`runmuscles batch`: every trial of a data folder or manifest, on Dask (runmuscles.batch)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..validation import choice_check, option_check
from ._app import app

#: Exit status when the batch ran and some trials failed (bad batch input exits 2).
EXIT_SOME_FAILED = 1


@app.command()
def batch(
    source: Annotated[
        Path,
        typer.Argument(
            help="A data folder (hamner2013 layout: subjectNN/ with model/, ik/, Run_N_grf.xml; or C3D "
            "sessions: one folder per runner with trials, a static trial and its model) or a manifest "
            ".csv (one row per trial).",
            metavar="FOLDER_OR_MANIFEST",
        ),
    ],
    out: Annotated[Path, typer.Option(help="Folder for the batch's results and dataset.")],
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes of the local Dask cluster (default: one per core).",
            callback=option_check("batch_workers", "--workers"),
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="An existing Dask scheduler (tcp://HOST:PORT) instead of a local cluster."),
    ] = None,
    cycle: Annotated[
        int | None,
        typer.Option(
            help="Analyse only this stride cycle (1-based, right foot) of trials without their own window.",
            callback=option_check("cycle", "--cycle"),
        ),
    ] = None,
    residual_reduction: Annotated[
        bool | None,
        typer.Option(
            "--residual-reduction/--no-residual-reduction",
            help="Residual reduction (as `runmuscles analyze`; on by default) for trials whose manifest "
            "row does not set its own residual_reduction.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would run, what is reused and what was skipped.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Run every trial again.")] = False,
    rerun_failed: Annotated[
        bool, typer.Option("--rerun-failed", help="Run the trials that failed last time again.")
    ] = False,
    muscles: Annotated[
        str | None,
        typer.Option(
            help="Muscle solution for trials whose manifest row does not set its own: 'static' (static "
            "optimization, rigid tendons; the default) or 'dynamic' (compliant tendons and activation "
            "dynamics by direct collocation).",
            callback=choice_check("muscles", "--muscles"),
        ),
    ] = None,
) -> None:
    """Analyse every trial of a data set on Dask: per-trial results, a tidy Parquet dataset, a manifest.

    Exit status: 0 when every trial succeeded, 1 when some failed (each is in manifest.csv
    with its reason), 2 for bad batch input. A rerun into the same --out reuses trials whose
    inputs, settings and versions are unchanged.
    """
    from ..batch import discover, plan, run  # noqa: PLC0415
    from ..outputs import check_output_dir  # noqa: PLC0415

    check_output_dir(out)
    if workers is not None and scheduler is not None:
        from ._app import fail  # noqa: PLC0415

        fail("--workers goes with the local cluster, not with --scheduler (that cluster has its own)")
    rows, skipped = discover(source, cycle=cycle, residual_reduction=residual_reduction, muscles=muscles)
    for s in skipped:
        typer.echo(f"skipped: {s.path}: {s.reason}", err=True)
    if dry_run:
        planned = plan(rows, out, force=force, rerun_failed=rerun_failed)
        for p in planned:
            typer.echo(f"{p.action:5s}  {p.row.trial_id}  ({p.reason}; {p.row.source})")
        n_run = sum(1 for p in planned if p.action == "run")
        typer.echo(
            f"{len(planned)} trials: {n_run} would run, {len(planned) - n_run} reused; {len(skipped)} skipped"
        )
        return
    result = _run_with_progress(run, rows, out, workers, scheduler, force, rerun_failed, skipped)
    n_reused = len(result.records) - result.executed
    typer.echo(
        f"{len(result.records)} trials: {result.ok} ok, {len(result.failed)} failed "
        f"({result.executed} run now, {n_reused} reused); results in {result.out}",
        err=True,
    )
    for r in result.failed:
        typer.echo(f"failed: {r['trial_id']}: {r['error']}", err=True)
    if result.failed:
        raise typer.Exit(EXIT_SOME_FAILED)


def _run_with_progress(run, rows, out, workers, scheduler, force, rerun_failed, skipped):
    """:func:`runmuscles.batch.run` with rich progress bars on a terminal: one for the
    models' preparation, one for the trials."""
    announce = lambda link: typer.echo(f"dashboard: {link}", err=True) if link else None  # noqa: E731
    kwargs = dict(out=out, workers=workers, scheduler=scheduler, force=force, rerun_failed=rerun_failed)
    if not sys.stderr.isatty():
        result = run(rows, on_start=announce, **kwargs)
    else:
        from rich.console import Console  # noqa: PLC0415
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        with progress:
            models = progress.add_task("models", total=None)
            trials = progress.add_task("trials", total=None)

            def model_step(info, done, total):
                what = f"models ({Path(info['model']).name})"
                progress.update(models, completed=done, total=total, description=what)

            def step(record, done, total):
                what = f"trials ({record['trial_id']})"
                progress.update(trials, completed=done, total=total, description=what)

            result = run(rows, on_start=announce, progress=step, model_progress=model_step, **kwargs)
    result.skipped = skipped
    return result
