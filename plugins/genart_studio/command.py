"""``genart studio [RUNS_DIR] [--port N] [--host H] [--token T]``: serve the studio page.

Light at import (click only); the web stack loads when the command runs, and a missing one is a
one-line error naming the extra to install.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from genart import UsageError


@click.command("studio")
@click.argument("runs_dir", default="runs", type=click.Path(file_okay=False))
@click.option("--port", default=8760, show_default=True, type=click.IntRange(0, 65535), help="port to listen on")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on; anything but loopback needs --token (one is made and printed if not given)")
@click.option("--token", help="access token every request must carry (?token=T once, then a cookie)")
@click.option("--max-upload-mb", default=64, show_default=True, type=click.IntRange(1, 4096),
              help="largest image file an upload may hold")
@click.pass_obj
def studio_command(app: Any, runs_dir: str, port: int, host: str, token: str | None, max_upload_mb: int) -> None:
    """A local web page to train, watch, sample and post-process, on the runs in RUNS_DIR.

    Jobs run one at a time as genart commands (shown on the page) from a queue kept in
    RUNS_DIR/.studio, which survives a restart of the studio.
    """
    try:
        import uvicorn

        from .app import create_app
    except ImportError as error:
        raise UsageError(f"genart studio needs the 'studio' extra (pip install 'genart[studio]'): {error}") from None
    from .security import allowed_hosts, resolve_token

    required, generated = resolve_token(host, token)
    folder = Path(runs_dir)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a folder")
    studio = create_app(folder, app.registry, token=required, hosts=allowed_hosts(host),
                        max_upload=max_upload_mb * 1024 * 1024)
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/" + (f"?token={required}" if required else "")
    if generated:
        click.echo("genart studio: generated an access token; it is printed only here", err=True)
    click.echo(f"genart studio: {folder.resolve()} at {address}", err=True)
    uvicorn.run(studio, host=host, port=port, log_level="warning", access_log=False)
