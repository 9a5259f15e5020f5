"""The console's operations pages: a workspace's codes and the carriers with their live bind status
(``/w/{id}/carriers``), and its outbox of webhooks with the dead letters (``/w/{id}/webhooks``).

Who may do what follows the admin API (api/admin/routes.py, record_routes.py; domain/roles.py):

- Everyone with a role reads both pages. The carriers are the deployment's: a workspace's people
  see each one's name, whether it is enabled and its live status (state, window, rate, counters);
  its address, login and other settings, and the form that edits them, are for deployment
  administrators only (Action.CARRIERS), as ``GET /admin/api/carriers`` is.
- Making a code the default, or removing one, needs the workspace's admin (Action.CODES);
  assigning a new code to the workspace needs a deployment administrator (the admin API has no
  route for it: the CLI, on the database, does it).
- Replaying or discarding dead webhooks needs an editor (Action.WEBHOOKS).

The carriers' live status is what each connector reports wherever it runs (Runtime.read_carrier_status:
the delivery worker, asked by this process); ``?part=live`` is the part that refreshes itself. An
edited carrier is saved through services/admin/carriers.update_carrier (checked as when it was
added, audited, its password encrypted with the vault and never shown), and the running worker
reconnects it with its new settings at its next catalog refresh, as after an admin API edit.
"""

from __future__ import annotations

import math
import re
from dataclasses import fields
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from mecm.console import web
from mecm.console.base import Handlers, id_of
from mecm.console.navigation import CODES_AND_CARRIERS, WEBHOOKS
from mecm.console.web import Refused
from mecm.domain.roles import Action
from mecm.domain.smpp_settings import BINDS, CONCATS, ID_FORMATS, ON_UNKNOWN, SmppSettings
from mecm.errors import InvalidParameter, Unknown
from mecm.services.admin import carriers, codes, outbox

_JOB_CHANGES = {"replay": outbox.replay, "discard": outbox.discard}
_JOBS_SHOWN = 100  # per state

# The settings the carrier form offers, by connector, in groups: (title, ((name, label, kind), ...));
# kind is "int", "float", "bool", "str", "password" (write-only) or a tuple of choices.
_SMPP_KINDS = {f.name: f.type for f in fields(SmppSettings)}
_CHOICES = {"bind": BINDS, "concat": CONCATS, "on_unknown": ON_UNKNOWN, "id_format": ID_FORMATS}
_LABELS = {
    "host": "Host", "port": "Port", "system_id": "System ID", "password": "Password", "system_type": "System type",
    "bind": "Bind as", "window": "Window (submits awaiting an answer)", "tps": "Rate (submits a second, 0: no limit)",
    "max_binds": "Binds at most (across workers)", "throttle_pause_s": "Pause after a throttle (s)",
    "tls": "TLS", "tls_verify": "Check the TLS certificate", "tls_ca": "CA file (PEM) to trust",
    "concat": "Long messages as", "gsm_packed": "Pack GSM 7-bit text", "on_unknown": "A submit with a lost answer",
    "supports_query": "The SMSC answers query_sm", "enquire_link_s": "Enquire link every (s)",
    "id_format": "Receipt ids", "mo_reassembly_s": "Wait for a long MO's parts (s)",
    "reconnect_base_s": "First wait before a rebind (s)", "reconnect_max_s": "Longest wait between rebinds (s)",
    "delivery_delay_ms": "Receipt delay (ms)", "failure_rate": "Share undelivered (0 to 1)",
}


def _group(title: str, *names: str) -> tuple[str, tuple[tuple[str, str, Any], ...]]:
    kinds = {**_SMPP_KINDS, **_CHOICES, "password": "password", "max_binds": "int", "delivery_delay_ms": "int",
             "failure_rate": "float"}
    return title, tuple((name, _LABELS[name], kinds[name]) for name in names)


_SETTING_GROUPS = {
    "smpp": (_group("Connection", "host", "port", "system_id", "password", "system_type", "bind", "tls",
                    "tls_verify", "tls_ca"),
             _group("Sending", "window", "tps", "max_binds", "throttle_pause_s", "concat", "gsm_packed",
                    "on_unknown", "supports_query", "id_format", "mo_reassembly_s"),
             _group("Keeping the bind", "enquire_link_s", "reconnect_base_s", "reconnect_max_s")),
    "simulator": (_group("Simulation", "delivery_delay_ms", "failure_rate", "tps", "max_binds"),),
}
_SETTING_FIELDS = {connector: tuple(f for _title, group in groups for f in group)
                   for connector, groups in _SETTING_GROUPS.items()}
_SIMULATOR_DEFAULTS = {"delivery_delay_ms": 50, "failure_rate": 0.0, "tps": 0.0}


def current_settings(carrier: dict[str, Any]) -> dict[str, Any]:
    """A carrier's settings as in effect: those stored, and the defaults of those not (no password)."""
    stored = {k: v for k, v in carrier["settings"].items() if k != "password"}
    if carrier["connector"] == "smpp":
        try:
            effective = SmppSettings.parse(stored).public()
        except InvalidParameter:  # stored settings that no longer hold (a CA file gone): as stored
            effective = {f.name: f.default for f in fields(SmppSettings) if f.name != "password"}
            effective.update(stored)
    else:
        effective = {**_SIMULATOR_DEFAULTS, **stored}
    return {**effective, "max_binds": stored.get("max_binds", 1)}


def form_fields(carrier: dict[str, Any]) -> dict[str, Any]:
    """The form's values for a carrier: its settings in effect, its prefixes, whether it is enabled."""
    current = current_settings(carrier)
    shown: dict[str, Any] = {name: current.get(name, "") for name, _label, _kind in
                             _SETTING_FIELDS.get(carrier["connector"], ()) if name != "password"}
    return {**{k: v if isinstance(v, bool) else ("" if v is None else str(v)) for k, v in shown.items()},
            "prefixes": ", ".join(_prefixes_of(carrier)), "enabled": bool(carrier["is_active"])}


def submitted(carrier: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    """The form as posted, to show it again (never the password)."""
    values: dict[str, Any] = {}
    for name, _label, kind in _SETTING_FIELDS.get(carrier["connector"], ()):
        if kind == "bool":
            values[name] = form.get(name) == "on"
        elif kind != "password":
            values[name] = form.get(name, "")
    return {**values, "prefixes": form.get("prefixes", ""), "enabled": form.get("enabled") == "on"}


def changed_settings(carrier: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    """The settings the form changes, typed (a new password only when one was typed: blank keeps
    the stored one); InvalidParameter naming the field whose value is not of its kind."""
    current = current_settings(carrier)
    changed: dict[str, Any] = {}
    for name, _label, kind in _SETTING_FIELDS.get(carrier["connector"], ()):
        if kind == "password":
            if form.get(name):
                changed[name] = form[name]
            continue
        value = _typed(name, kind, form.get(name, ""))
        if value != current.get(name):
            changed[name] = value
    return changed


def _typed(name: str, kind: Any, raw: str) -> Any:
    if kind == "bool":
        return raw == "on"
    text = raw.strip()
    if kind == "int":
        if not re.fullmatch(r"-?[0-9]{1,18}", text):
            raise InvalidParameter(name, "must be a whole number")
        return int(text)
    if kind == "float":
        try:
            number = float(text)
        except ValueError:
            raise InvalidParameter(name, "must be a number") from None
        if not math.isfinite(number):
            raise InvalidParameter(name, "must be a finite number")
        return number
    if isinstance(kind, tuple) and text not in kind:
        raise InvalidParameter(name, f"must be one of {', '.join(kind)}")
    return text


def _prefixes_of(carrier: dict[str, Any]) -> list[str]:
    raw = carrier["prefixes"]
    return [p for p in (raw.split(",") if isinstance(raw, str) else raw) if p]


def _form_spelling(refusal: InvalidParameter) -> InvalidParameter:
    """A refusal of the administration layer (which names CLI options: system-id, prefix) naming the
    form's field instead."""
    name = {"prefix": "prefixes"}.get(refusal.name, refusal.name).replace("-", "_")
    return InvalidParameter(name, refusal.reason)


def live_state(carrier: dict[str, Any], status: dict[str, Any] | None, worker_answers: bool) -> dict[str, Any]:
    """What the page shows of a carrier's connector: its state in a word (bound, connecting, down,
    partly bound, running, not running, disabled, unknown), the binds one by one, and the figures
    its status offers (window, rate, counters, submit latency)."""
    if not worker_answers:
        return {"state": "unknown", "binds": []}
    if status is None:
        return {"state": "not running" if carrier["is_active"] else "disabled", "binds": []}
    sessions = status.get("sessions")
    if isinstance(sessions, dict) and sessions:
        states = set(sessions.values())
        state = ("bound" if states == {"bound"} else "partly bound" if "bound" in states
                 else "connecting" if "connecting" in states else "down")
        binds = [f"{role}: {value}" for role, value in sessions.items()] if len(sessions) > 1 else []
    else:
        state, binds = str(status.get("state", "running")), []
    return {**status, "state": state, "binds": binds}


class Operations(Handlers):
    """The handlers behind /w/{id}/carriers and /w/{id}/webhooks."""

    # -- codes and carriers ------------------------------------------------------------------------

    async def carriers_page(self, request: Request, *, error: str | None = None, status: int = 200) -> Response:
        """The workspace's codes and the deployment's carriers; ``?part=live`` is the carriers'
        table, with each one's live status, which refreshes itself (htmx, every 3 s)."""
        session, context = await self._workspace_page(request, CODES_AND_CARRIERS)
        workspace_id = context["workspace"]["instance_id"]

        def read(connection: Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            return codes.list_codes(connection, workspace_id), carriers.list_carriers(connection)

        workspace_codes, rows = await self._read(read)
        live = await self._runtime.read_carrier_status()
        by_name = {str(s.get("carrier")): s for s in live or ()}
        shown = [{**row, "prefixes": _prefixes_of(row),
                  "live": live_state(row, by_name.get(row["name"]), live is not None)} for row in rows]
        template = "carriers_live.html" if request.query_params.get("part") == "live" else "carriers.html"
        return web.render(request, template, {
            **context, "codes": workspace_codes, "carriers": shown, "worker_answers": live is not None,
            "error": error, "may_edit_codes": web.may(session, Action.CODES, workspace_id),
            "may_add_codes": session.deployment_admin,
            "may_edit_carriers": web.may(session, Action.CARRIERS, workspace_id)}, status)

    async def add_code(self, request: Request) -> Response:
        """Assign a new code to the workspace (a deployment administrator's: codes are the deployment's)."""
        session, workspace_id, form = await self._change(request, Action.CODES)
        if not session.deployment_admin:
            raise Refused(403, "you may not do this: assigning a code to a workspace needs a deployment administrator")
        code, default = form.get("code", ""), form.get("default") == "on"
        try:
            await self._write(lambda c: codes.add_code(c, workspace_id, code, default, actor=session.actor),
                              catalog=True)
        except InvalidParameter as refusal:
            return await self.carriers_page(request, error=refusal.description, status=400)
        return web.redirect(f"/w/{workspace_id}/carriers")

    async def change_code(self, request: Request) -> Response:
        """Make one of the workspace's codes its default, or remove it (refused while a campaign or a
        broadcast uses it, naming it)."""
        session, workspace_id, _form = await self._change(request, Action.CODES)
        change = {"default": codes.set_default_code, "remove": codes.remove_code}.get(request.path_params["change"])
        if change is None:
            raise Refused(404, "there is no such change of a code")
        code = request.path_params["code"]

        def apply(connection: Connection) -> None:
            if all(row["code"] != code for row in codes.list_codes(connection, workspace_id)):
                raise Unknown("code", "code", f"{code[:20]} in workspace {workspace_id}")
            change(connection, code, actor=session.actor)

        try:
            await self._write(apply, catalog=True)
        except Unknown:
            raise
        except InvalidParameter as refusal:
            return await self.carriers_page(request, error=refusal.description, status=400)
        return web.redirect(f"/w/{workspace_id}/carriers")

    async def edit_carrier_page(self, request: Request) -> Response:
        context, carrier = await self._carrier_form_context(request)
        return self._render_carrier_form(request, context, carrier, form_fields(carrier))

    async def save_carrier(self, request: Request) -> Response:
        """POST of the carrier form: every setting checked as when the carrier was added; refused on
        the form naming the field (400, nothing written), or saved and audited."""
        session, workspace_id, form = await self._change(request, Action.CARRIERS)
        context, carrier = await self._carrier_form_context(request)
        name, vault = carrier["name"], self._runtime.vault
        enabled = form.get("enabled") == "on"
        prefixes = [p for p in re.split(r"[\s,;]+", form.get("prefixes", "")) if p]

        def apply(connection: Connection, settings: dict[str, Any]) -> None:
            carriers.update_carrier(connection, name, actor=session.actor, prefixes=prefixes, settings=settings,
                                    vault=vault)
            if enabled != bool(carrier["is_active"]):
                carriers.set_carrier_enabled(connection, name, enabled=enabled, actor=session.actor)

        try:
            settings = changed_settings(carrier, form)
            await self._write(lambda c: apply(c, settings), catalog=True)
        except InvalidParameter as refusal:
            if isinstance(refusal, Unknown):
                raise
            return self._render_carrier_form(request, context, carrier, submitted(carrier, form),
                                             error=_form_spelling(refusal).description, status=400)
        return web.redirect(f"/w/{workspace_id}/carriers")

    async def _carrier_form_context(self, request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
        """The page's context and the carrier the path names, for a deployment administrator; Refused otherwise."""
        session, context = await self._workspace_page(request, CODES_AND_CARRIERS)
        web.require(session, Action.CARRIERS, context["workspace"]["instance_id"])
        name = request.path_params["name"]
        carrier = next((row for row in await self._read(carriers.list_carriers) if row["name"] == name), None)
        if carrier is None:
            raise Refused(404, f"there is no carrier {name[:100]!r}")
        return context, carrier

    def _render_carrier_form(self, request: Request, context: dict[str, Any], carrier: dict[str, Any],
                             values: dict[str, Any], *, error: str | None = None, status: int = 200) -> Response:
        return web.render(request, "carriers.html", {
            **context, "editing": carrier, "values": values, "error": error,
            "setting_groups": _SETTING_GROUPS.get(carrier["connector"], ()),
            "password_set": carrier["settings"].get("password") is not None}, status)

    # -- webhooks ----------------------------------------------------------------------------------

    async def webhooks_page(self, request: Request) -> Response:
        """The workspace's outbox: dead letters first, then those pending (or the jobs of the state
        the filter names: dead, pending, done), the newest 100 of each."""
        session, context = await self._workspace_page(request, WEBHOOKS)
        workspace_id = context["workspace"]["instance_id"]
        state = request.query_params.get("state") or ""
        if state not in ("", *outbox.STATES):
            raise Refused(400, f"there is no state {state[:20]!r}: one of {', '.join(outbox.STATES)}")
        shown = (state,) if state else ("dead", "pending")

        def read(connection: Connection) -> dict[str, list[dict[str, Any]]]:
            return {s: outbox.list_jobs(connection, s, _JOBS_SHOWN, workspace_id=workspace_id) for s in shown}

        jobs = await self._read(read)
        return web.render(request, "webhooks.html", {
            **context, "jobs": jobs, "state": state, "states": outbox.STATES, "per_state": _JOBS_SHOWN,
            "may_edit": web.may(session, Action.WEBHOOKS, workspace_id)})

    async def change_job(self, request: Request) -> Response:
        """Replay or discard one dead job of the workspace (an id that is not one: 404, nothing changed)."""
        session, workspace_id, _form = await self._change(request, Action.WEBHOOKS)
        change = _JOB_CHANGES.get(request.path_params["change"])
        if change is None:
            raise Refused(404, "there is no such change of a webhook")
        job_id = id_of(request.path_params["job_id"], "dead job", digits=19)
        await self._write(lambda c: change(c, [job_id], workspace_id=workspace_id, actor=session.actor))
        if change is outbox.replay:
            self._runtime.wake_outbox()  # the worker's outbox looks at once, as after the admin API's replay
        return web.redirect(f"/w/{workspace_id}/webhooks")

    async def replay_dead(self, request: Request) -> Response:
        """Every dead job of the workspace tried again, its attempts counted afresh."""
        session, workspace_id, _form = await self._change(request, Action.WEBHOOKS)
        await self._write(lambda c: outbox.replay(c, every_dead=True, workspace_id=workspace_id, actor=session.actor))
        self._runtime.wake_outbox()
        return web.redirect(f"/w/{workspace_id}/webhooks")
