"""``mecm smsc-sim``: run the SMPP 3.4 SMSC simulator until SIGTERM or SIGINT.

Every flag takes its default from an environment variable ``MECM_SIM_<FLAG>`` (e.g.
MECM_SIM_THROTTLE_SHARE). Once listening it prints one line with its ports, then stays silent.
"""

from __future__ import annotations

import sys

import typer

# asyncio and the simulator are imported when the command runs: ``mecm`` starts without them.


def register(app: typer.Typer) -> None:
    app.command("smsc-sim")(smsc_sim)


def _env(name: str) -> str:
    return f"MECM_SIM_{name.upper()}"


def _status(value: str) -> int:
    """An SMPP status as a number (0x58, 88) or a name (ESME_RTHROTTLED)."""
    from mecm.smpp.pdu import STATUS_NAMES

    by_name = {name: code for code, name in STATUS_NAMES.items()}
    if value.upper() in by_name:
        return by_name[value.upper()]
    try:
        return int(value, 0)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is neither a number nor an ESME_R* name") from None


def smsc_sim(
    host: str = typer.Option("127.0.0.1", envvar=_env("host"), help="Listen address."),
    port: int = typer.Option(2775, envvar=_env("port"), help="SMPP port; 0 takes any free port."),
    control_port: int = typer.Option(2776, envvar=_env("control_port"),
                                     help="HTTP control port; 0 takes any free port, -1 runs none."),
    system_id: str = typer.Option("mecm", envvar=_env("system_id"), help="The system_id an ESME binds with."),
    password: str = typer.Option("secret", envvar=_env("password"), help="The bind password."),
    submit_latency_ms: float = typer.Option(0.0, envvar=_env("submit_latency_ms"),
                                            help="Delay before each submit_sm_resp."),
    throttle_share: float = typer.Option(0.0, envvar=_env("throttle_share"),
                                         help="Share (0..1) of submit_sm answered ESME_RTHROTTLED."),
    error_share: float = typer.Option(0.0, envvar=_env("error_share"),
                                      help="Share (0..1) of submit_sm answered --error-status."),
    error_status: str = typer.Option("ESME_RSYSERR", envvar=_env("error_status"),
                                     help="Status of injected errors: a number or an ESME_R* name."),
    receipt_delay_ms: float = typer.Option(50.0, envvar=_env("receipt_delay_ms"),
                                           help="From a submit to its delivery receipt."),
    receipt_failure_share: float = typer.Option(0.0, envvar=_env("receipt_failure_share"),
                                                help="Share (0..1) of receipts with stat UNDELIV."),
    message_id_format: str = typer.Option("hex", envvar=_env("message_id_format"),
                                          help="Message ids in submit_sm_resp: hex or decimal."),
    receipt_id_format: str = typer.Option(None, envvar=_env("receipt_id_format"),
                                          help="Message ids in receipts: hex or decimal [default: as above]."),
    receipt_before_response: bool = typer.Option(False, envvar=_env("receipt_before_response"),
                                                 help="Send each receipt before its submit_sm_resp."),
    answer_enquire_link: bool = typer.Option(True, envvar=_env("answer_enquire_link"),
                                             help="--no-answer-enquire-link: a half-dead peer that answers nothing."),
    enquire_link_interval_s: float = typer.Option(0.0, envvar=_env("enquire_link_interval_s"),
                                                  help="Send our own enquire_link this often (0: never)."),
    deliver_retry_s: float = typer.Option(1.0, envvar=_env("deliver_retry_s"),
                                          help="Redeliver a refused deliver_sm after this long."),
    deliver_timeout_s: float = typer.Option(10.0, envvar=_env("deliver_timeout_s"),
                                            help="Take back and redeliver a deliver_sm unanswered this long."),
    db_path: str = typer.Option(None, envvar=_env("db_path"),
                                help="SQLite file of submits (query_sm and duplicates survive restarts)."),
    record_path: str = typer.Option(None, envvar=_env("record_path"),
                                    help="Append every PDU, in and out, as JSON lines to this file."),
    seed: int = typer.Option(None, envvar=_env("seed"), help="Random seed, for reproducible runs."),
    tls_cert: str = typer.Option(None, envvar=_env("tls_cert"), help="PEM certificate: serve SMPP over TLS."),
    tls_key: str = typer.Option(None, envvar=_env("tls_key"), help="The certificate's PEM private key."),
    as_json: bool = typer.Option(False, "--json", help="Print the listening line as one JSON object."),
) -> None:
    """Run a simulated SMSC (SMPP 3.4 server) with an HTTP control interface."""
    import asyncio
    import json
    import signal

    from mecm.smsc_sim import SimConfig, run

    try:
        config = SimConfig(
            host=host, port=port, control_port=None if control_port < 0 else control_port, system_id=system_id,
            password=password, submit_latency_ms=submit_latency_ms, throttle_share=throttle_share,
            error_share=error_share, error_status=_status(error_status), receipt_delay_ms=receipt_delay_ms,
            receipt_failure_share=receipt_failure_share, message_id_format=message_id_format,
            receipt_id_format=receipt_id_format, receipt_before_response=receipt_before_response,
            answer_enquire_link=answer_enquire_link, enquire_link_interval_s=enquire_link_interval_s,
            deliver_retry_s=deliver_retry_s,
            deliver_timeout_s=deliver_timeout_s, db_path=db_path, record_path=record_path, seed=seed,
            tls_cert=tls_cert, tls_key=tls_key,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None

    def ready(smsc, control: int | None) -> None:
        control_url = f"http://{host}:{control}" if control is not None else None
        if as_json:
            line = json.dumps({"host": host, "port": smsc.port, "control_url": control_url, "system_id": system_id})
        else:
            line = f"smsc-sim listening smpp={host}:{smsc.port} control={control_url or 'none'} system_id={system_id}"
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run(config, ready, stop)

    try:
        asyncio.run(main())
    except OSError as error:  # the port is taken, most often
        sys.stderr.write(f"smsc-sim: {error}\n")
        raise typer.Exit(1) from None
