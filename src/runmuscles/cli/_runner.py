"""Arguments shared by the commands that take a runner's trial folder (whatif, claims)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

RunnerFolder = Annotated[
    Path | None,
    typer.Argument(help="A runner's trial folder (hamner2013 layout); omit for the bundled runner."),
]
RunnerTrials = Annotated[
    list[str] | None, typer.Option("--trial", help="Trials to use (default: every Run_N).")
]
