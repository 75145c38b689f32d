"""Command line: one module per command, each a thin layer over the library.

Every command prints a one-line message and exits non-zero on bad input; no tracebacks.
Heavy modules are imported inside the commands, so ``runmuscles --help`` is instant.
"""

from __future__ import annotations

import sys

import typer

from ..errors import RunmusclesError

# Registration order is the order of ``runmuscles --help``.
from . import (  # noqa: F401, E402  (each module registers its command on ``app``)
    advice,
    analyze,
    claims,
    demo,
    history,
    load_model,
    report,
    run,
    so,
    validate_energy,
    validate_grade,
    validate_grf,
    whatif,
)
from ._app import EXIT_INPUT, EXIT_INTERNAL, app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: run the app, turning every error into one line and an exit code."""
    try:
        # without standalone mode click returns (not raises) the code of a typer.Exit
        rv = app(standalone_mode=False)
        sys.exit(rv if isinstance(rv, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except RunmusclesError as exc:
        typer.echo(f"runmuscles: error: {exc}", err=True)
        sys.exit(EXIT_INPUT)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("runmuscles: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # click usage errors and anything unexpected
        import click  # noqa: PLC0415

        no_args = getattr(click.exceptions, "NoArgsIsHelpError", ())
        if no_args and isinstance(exc, no_args):  # bare `runmuscles`: show the manual
            typer.echo(exc.ctx.get_help() if exc.ctx else "")
            sys.exit(0)
        if isinstance(exc, click.ClickException):
            typer.echo(f"runmuscles: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        typer.echo(f"runmuscles: internal error: {type(exc).__name__}: {first}", err=True)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    main()
