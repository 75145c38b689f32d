"""`runmuscles serve`: the local web app (a thin layer over runmuscles.web)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._app import app

DEFAULT_PORT = 8765


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).", min=0, max=65535)] = (
        DEFAULT_PORT
    ),
    host: Annotated[
        str,
        typer.Option(help="Address; anything but loopback exposes your data to the network."),
    ] = "127.0.0.1",
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser.")] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Uploads and history folder (default: user data folder)."),
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="History database (URL or SQLite file; default in --data-dir).")
    ] = None,
) -> None:
    """Start the web app on this computer and open it in the browser (stop it with Ctrl+C).

    The printed URL carries this launch's key; the page exchanges it for a cookie.
    """
    import socket  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415

    from ..web import WebSettings, create_app  # noqa: PLC0415
    from ..web.app import default_data_dir  # noqa: PLC0415
    from ..web.security import is_loopback  # noqa: PLC0415

    if not is_loopback(host):
        typer.echo(
            f"runmuscles: warning: --host {host} makes the app reachable from other computers; "
            "anyone with the printed link can see your data",
            err=True,
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Answers leave at once: without TCP_NODELAY (inherited by the accepted connections) a
    # response's separate header and body writes waited for the client's delayed ACK, about
    # 40 ms per request on Linux (measured here: median 48 ms -> 1.5 ms for a 404 page).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        from ..errors import InputError  # noqa: PLC0415

        raise InputError(
            f"--host {host} --port {port}", f"cannot listen there ({exc.strerror or exc})"
        ) from None
    port = sock.getsockname()[1]
    settings = WebSettings(data_dir=data_dir or default_data_dir(), db=db, host=host, port=port)
    web = create_app(settings)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/?token={web.state.guard.launch_token}"
    typer.echo(url)
    if not no_browser:
        import webbrowser  # noqa: PLC0415

        webbrowser.open(url)
    config = uvicorn.Config(web, log_level="warning", access_log=False, server_header=False)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
