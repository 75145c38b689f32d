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
    backup,
    batch,
    claims,
    demo,
    history,
    load_model,
    profile,
    report,
    run,
    serve,
    so,
    validate_energy,
    validate_grade,
    validate_grf,
    whatif,
)
from ._app import EXIT_INPUT, EXIT_INTERNAL, app

__all__ = ["app", "internal_error_line", "main"]


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
        if isinstance(exc, OSError) and exc.filename is not None:
            # The file system refused (permissions, a full disk, a path that vanished): the
            # user's environment, not a bug; said as the file and the system's reason.
            typer.echo(f"runmuscles: error: {exc.filename}: {exc.strerror or exc}", err=True)
            sys.exit(EXIT_INPUT)
        typer.echo(internal_error_line(exc, sys.argv), err=True)
        sys.exit(EXIT_INTERNAL)


def internal_error_line(exc: BaseException, argv: list[str]) -> str:
    """The one line printed for a bug (exit 3): what broke, and a request to report it."""
    import shlex  # noqa: PLC0415

    text = " ".join(str(exc).split())
    what = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if len(what) > 300:
        what = what[:297] + "..."
    import re  # noqa: PLC0415

    # a database URL's password is not repeated
    command = re.sub(r"(://[^:/@\s]+:)[^@/\s]+@", r"\1***@", shlex.join(["runmuscles", *argv[1:]]))
    return (
        f"runmuscles: internal error: {what} - this is a bug in runmuscles; please report it with the "
        f"command line you ran ({command})"
    )


if __name__ == "__main__":  # pragma: no cover
    main()
