"""``mecm serve``, ``api``, ``worker``, ``init``, ``db upgrade`` and ``demo``.

Only ``mecm init`` and ``mecm demo`` create a database; every other command refuses a missing one
(or one without mecm's schema) before it starts anything, saying to run ``mecm init``.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import typer

from mecm.cli.output import JsonOption, emit, friendly_errors, without_password
from mecm.cli.listening import announce, listening_socket, run_uvicorn
from mecm.cli.state import open_store
from mecm.config import Settings, load_settings
from mecm.errors import ConfigError

# sqlalchemy, alembic, starlette and uvicorn are imported inside the commands that use them: the
# ``mecm`` command (``--help``, every admin command) starts without them (bench/cli_start.py).

db_app = typer.Typer(no_args_is_help=True)

DEMO_NUMBER = "13056708084"


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How every API process runs (serve's and api's): uvloop, httptools with the bounds of
    mecm/api/http_protocol.py, no WebSocket (mecm serves none: an upgrade stays a plain request under
    those bounds), no access log, 10 s to finish the requests in hand at a stop."""
    from mecm.api.http_protocol import BoundedHttpProtocol, HttpLimits

    # A partial of a module-level class: it pickles, so ``api --workers N`` hands it to each process.
    protocol = functools.partial(BoundedHttpProtocol, limits=HttpLimits.of(settings))
    return {"loop": "uvloop", "http": protocol, "ws": "none", "timeout_keep_alive": settings.http_keep_alive_s,
            "lifespan": "on", "access_log": False, "log_level": "warning", "timeout_graceful_shutdown": 10}


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(api)
    app.command()(worker)
    app.command()(demo)
    app.command()(init)
    app.command("new-secrets")(new_secrets)
    app.add_typer(db_app, name="db", help="Database schema.")


def serve(
    host: str = typer.Option(None, help="Listen address [env MECM_HOST, default 127.0.0.1]"),
    port: int = typer.Option(None, help="Listen port [env MECM_PORT, default 8080]"),
    delivery: str = typer.Option(
        "process", help="process: a delivery worker process beside the API (it uses a second core); "
        "inline: the dispatcher in this process; none: accept and store only."),
    no_deliver: bool = typer.Option(False, "--no-deliver", help="Same as --delivery none."),
) -> None:
    """Run the API, and the dispatcher with the carrier connectors (in a worker process it starts)."""
    from mecm.api import node_counts
    from mecm.api.app import DELIVERY_MODES, create_app
    from mecm.worker import worker_settings

    with friendly_errors(False):
        settings = load_settings(host=host, port=port)
        if no_deliver:
            delivery = "none"
        if delivery not in DELIVERY_MODES:
            raise ConfigError(f"--delivery must be one of {', '.join(DELIVERY_MODES)}")
        if delivery == "process":
            worker_settings(settings)  # the worker's node id must fit: checked before anything starts
        configure_logging(settings)
        open_store(settings)[0].dispose()  # refuse a missing database before anything starts; migrate
        sock = listening_socket(settings.host, settings.port)
        node_counts.start_afresh(settings.var_path, sock.getsockname()[1])
        app = create_app(settings, delivery=delivery)
    announce("serve", sock, f"database {without_password(settings.database_url)}, delivery {delivery}",
             settings.log_format)
    run_uvicorn(app, sock, uvicorn_options(settings))


def api(
    host: str = typer.Option(None, help="Listen address [env MECM_HOST, default 127.0.0.1]"),
    port: int = typer.Option(None, help="Listen port [env MECM_PORT, default 8080]"),
    workers: int = typer.Option(1, help="API processes sharing the port (more than 1 needs PostgreSQL)."),
) -> None:
    """Run API processes only (stateless: they accept and store); `mecm worker` delivers."""
    from mecm.api import node_counts
    from mecm.store import engine as store_engine

    with friendly_errors(False):
        settings = load_settings(host=host, port=port)
        if workers < 1:
            raise ConfigError("--workers must be 1 or more")
        if workers > 1 and not store_engine.is_postgresql(settings.database_url):
            raise ConfigError("--workers above 1 needs PostgreSQL (MECM_DATABASE_URL=postgresql://...): on "
                              "SQLite one API process writes, and message ids are not leased between processes")
        configure_logging(settings)
        open_store(settings)[0].dispose()  # migrate once, before the processes start
        sock = listening_socket(settings.host, settings.port)
        node_counts.start_afresh(settings.var_path, sock.getsockname()[1])  # read by each API process
    announce("api", sock, f"database {without_password(settings.database_url)}, {workers} "
                          f"process{'es' if workers > 1 else ''}", settings.log_format)
    if workers > 1:  # uvicorn's processes inherit the environment: each dies with this one
        from mecm.parent_death import started_by_me

        os.environ.update(started_by_me())
    run_uvicorn("mecm.api.app:api_process_app", sock, uvicorn_options(settings), workers=workers, factory=True)


def worker() -> None:
    """Run the dispatcher and the carrier connectors, no API (mecm serve starts one by itself)."""
    import uvloop

    from mecm import worker as worker_process

    with friendly_errors(False):
        settings = load_settings()
        configure_logging(settings)
        worker_process.worker_settings(settings)  # checks node_id before anything starts
        open_store(settings)[0].dispose()  # refuse a missing database before anything starts
    uvloop.run(worker_process.run(settings))


def new_secrets(as_json: bool = JsonOption) -> None:
    """Print a new master key and admin token, as lines for an EnvironmentFile shared by every node
    (MECM_MASTER_KEY, MECM_ADMIN_TOKEN). Reads and writes nothing: keep the output secret."""
    import secrets

    from cryptography.fernet import Fernet

    made = {"MECM_MASTER_KEY": Fernet.generate_key().decode(), "MECM_ADMIN_TOKEN": secrets.token_urlsafe(32)}
    emit(made, as_json, "\n".join(f"{name}={value}" for name, value in made.items()))


def configure_logging(settings: Settings) -> None:
    from mecm import logs

    logs.configure(settings.log_level, settings.log_format)


def init(as_json: bool = JsonOption) -> None:
    """Create the database (a SQLite file, or mecm's schema in an empty PostgreSQL database), the var
    dir and the master key; on an existing database, only bring its schema to the latest migration."""
    from mecm.files import private_dir
    from mecm.store import engine as store_engine
    from mecm.store.crypto import load_master_key

    with friendly_errors(as_json):
        settings = load_settings()
        private_dir(settings.var_path)
        engine = store_engine.make_engine(settings.database_url, settings.sqlite_synchronous, create=True)
        try:
            created = not store_engine.has_schema(engine)
            store_engine.upgrade(engine, create=True)
            load_master_key(settings, create=True)
            where = store_engine.display_url(engine)
        finally:
            engine.dispose()
    emit({"database_url": where, "var_dir": str(settings.var_path), "created": created, "schema": "up to date"},
         as_json, f"{'created database' if created else 'database'} {where}: schema up to date "
         f"(var dir {settings.var_path})")


@db_app.command("upgrade")
def db_upgrade(as_json: bool = JsonOption) -> None:
    """Bring the database schema to the latest migration (also done at every start); `mecm init`
    creates a database that does not exist."""
    with friendly_errors(as_json):
        settings = load_settings()
        open_store(settings)[0].dispose()
    shown = without_password(settings.database_url)
    emit({"database_url": shown, "schema": "up to date"}, as_json, f"schema of {shown} is up to date")


def demo_credentials_path(settings: Settings) -> Path:
    return settings.var_path / "demo-credentials.json"


def ensure_demo(settings: Settings) -> dict[str, Any]:
    """Create the demo workspace, key pair, code, carrier and campaign once; return its credentials."""
    from mecm.files import keep_from_others
    from mecm.services.admin import demo as demo_workspace
    from mecm.services.admin.audit import cli_actor
    from mecm.store.crypto import write_secret_file

    path = demo_credentials_path(settings)
    engine, vault = open_store(settings, create=True)
    try:
        with engine.begin() as connection:
            if path.exists():
                creds = json.loads(path.read_text())
                if demo_workspace.still_works(connection, creds):
                    keep_from_others([path])
                    if "console_password" in creds:
                        return creds
                    # made before the console had a login: add it, and keep it with the rest
                    creds.update(demo_workspace.add_console_login(connection, creds["instance_id"],
                                                                  actor=cli_actor()))
                    write_secret_file(path, json.dumps(creds, indent=2) + "\n")
                    return creds
            creds = demo_workspace.create_demo(connection, vault, actor=cli_actor())
        write_secret_file(path, json.dumps(creds, indent=2) + "\n")
        return creds
    finally:
        engine.dispose()


def demo(as_json: bool = JsonOption) -> None:
    """Create the demo workspace once (idempotent) and print its credentials and a ready example."""
    with friendly_errors(as_json):
        settings = load_settings()
        creds = ensure_demo(settings)
    base_url = f"http://{settings.host}:{settings.port}"
    if as_json:
        emit({**creds, "base_url": base_url, "credentials_file": str(demo_credentials_path(settings))}, True)
        return
    from mecm.domain.signature import sign

    example_sig = sign(creds["private_key"], f"{creds['instance_id']}/{creds['carrier']}/{creds['code']}/"
                       "MTMwNTY3MDgwODQ=/SGVsbG8gZnJvbSBtZWNt")
    print(f"""
mecm demo workspace (credentials kept in {demo_credentials_path(settings)}, mode 0600)
  instance id : {creds['instance_id']}
  public key  : {creds['public_key']}
  private key : {creds['private_key']}
  code        : {creds['code']}   carrier: {creds['carrier']} (simulated)

The console: {base_url}/  (sign in as {creds['console_email']}, password {creds['console_password']})

Send "Hello from mecm" to {DEMO_NUMBER} (paste into another shell while the server runs):
  curl '{base_url}/rest/api/tools/sendSMS/{creds['instance_id']}/{creds['carrier']}/{creds['code']}/MTMwNTY3MDgwODQ=/SGVsbG8gZnJvbSBtZWNt/{creds['public_key']}/{example_sig}'

or with the SDK's CLI:
  .venv/bin/mecm send sms {DEMO_NUMBER} "Hello from mecm"
""", flush=True)
