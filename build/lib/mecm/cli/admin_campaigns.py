"""``mecm admin campaign ...``: keyword campaigns. Add, list, edit, pause, resume, archive.

Each is a use case of services/admin/campaigns.py, audited as the OS user. A running server sees the
change within ``catalog_refresh_s`` (it re-reads its catalog, campaigns included, that often).
"""

from __future__ import annotations

import typer

from mecm.cli.output import JsonOption, WideOption, emit, emit_table
from mecm.cli.transaction import in_transaction
from mecm.config import load_settings

campaign_app = typer.Typer(no_args_is_help=True, help="Keyword campaigns.")

IdOption = typer.Option(..., "--id", help="The campaign's id (see 'campaign list').")
_MATCH = ("regex (searched in the text), word (the first word), prefix (the text starts with it), or fallback "
          "(answers what no campaign matched; --code '' for every code)")
_REPLY = "Reply sent to the subscriber; {{from}} {{to}} {{text}} {{keyword}} {{1}}..{{9}}."
_ACTION = ("After the reply, in order: reply:TEXT, forward:NUMBER [TEXT], webhook:URL, email:ADDRESS, "
           "subscribe:LIST or unsubscribe:LIST (repeatable).")


def _said(row: dict, verb: str) -> str:
    return f"campaign {row['id']} ({row['name']}) {verb}"


@campaign_app.command("add")
def campaign_add(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    code: list[str] = typer.Option(..., help="A code the campaign listens on (repeatable; '' with "
                                   "--match fallback: every code of the workspace)."),
    name: str = typer.Option(..., help="Campaign name."),
    keyword: str = typer.Option("", help="The keyword: see --match. Not for a fallback."),
    reply: str = typer.Option("", help=_REPLY),
    action: list[str] = typer.Option(None, help=_ACTION),
    email_subject: str = typer.Option(None, help="email actions: subject template."),
    email_body: str = typer.Option(None, help="email actions: body template."),
    priority: int = typer.Option(100, help="Lower runs first."),
    match: str = typer.Option("regex", help=_MATCH + "."),
    case_sensitive: bool = typer.Option(False, "--case-sensitive", help="Compare case and accents too."),
    starts: str = typer.Option(None, help="Active from (ISO 8601; without offset, workspace time)."),
    ends: str = typer.Option(None, help="Active until (ISO 8601; without offset, workspace time)."),
    cap: int = typer.Option(5, help="At most this many replies to one subscriber per --cap-window-s (0: no cap)."),
    cap_window_s: int = typer.Option(3600, help="The frequency cap's window, in seconds."),
    quiet_hours: str = typer.Option(None, help="HH:MM-HH:MM in workspace time: replies wait until the end."),
    as_json: bool = JsonOption,
) -> None:
    """Add an active campaign (refused, naming the option, when it would collide with another)."""
    from mecm.services.admin import campaigns
    from mecm.services.admin.audit import cli_actor

    new = campaigns.NewCampaign(
        codes=code, name=name, keyword=keyword, reply=reply, priority=priority, match=match,
        case_sensitive=case_sensitive, starts=starts, ends=ends, cap=cap, cap_window_s=cap_window_s,
        quiet_hours=quiet_hours, actions=action or (), email_subject=email_subject, email_body=email_body)
    actor = cli_actor()
    row = in_transaction(as_json, lambda c, v: campaigns.add_campaign(
        c, workspace, new, vault=v, allow=load_settings().outbound_networks, actor=actor))
    emit(row, as_json, _said(row, "added"))


@campaign_app.command("list")
def campaign_list(
    workspace: int = typer.Option(None, help="Only this workspace."),
    everything: bool = typer.Option(False, "--all", help="Archived campaigns too."),
    wide: bool = WideOption,
    as_json: bool = JsonOption,
) -> None:
    """The campaigns, active and paused (with --all, the archived ones too)."""
    from mecm.services.admin import campaigns

    rows = in_transaction(as_json, lambda c, _: campaigns.list_campaigns(c, workspace, include_archived=everything))
    emit_table("campaigns", rows, as_json, "Campaigns", wide=wide)


@campaign_app.command("edit")
def campaign_edit(
    campaign: int = IdOption,
    code: list[str] = typer.Option(None, help="The codes it listens on, replacing the old ones (repeatable)."),
    name: str = typer.Option(None, help="New name."),
    keyword: str = typer.Option(None, help="New keyword ('' with --match fallback)."),
    reply: str = typer.Option(None, help=_REPLY + " '' for none (it then needs an action)."),
    action: list[str] = typer.Option(None, help=_ACTION + " Replaces the old actions."),
    no_actions: bool = typer.Option(False, "--no-actions", help="Remove every action (the reply stays)."),
    email_subject: str = typer.Option(None, help="email actions: subject template ('' for the default)."),
    email_body: str = typer.Option(None, help="email actions: body template ('' for the default)."),
    priority: int = typer.Option(None, help="Lower runs first."),
    match: str = typer.Option(None, help=_MATCH + "."),
    case_sensitive: bool = typer.Option(None, "--case-sensitive/--case-insensitive",
                                        help="Compare case and accents too, or not."),
    starts: str = typer.Option(None, help="Active from (ISO 8601; without offset, workspace time); '' for no start."),
    ends: str = typer.Option(None, help="Active until (ISO 8601; without offset, workspace time); '' for no end."),
    cap: int = typer.Option(None, help="At most this many replies to one subscriber per window (0: no cap)."),
    cap_window_s: int = typer.Option(None, help="The frequency cap's window, in seconds."),
    quiet_hours: str = typer.Option(None, help="HH:MM-HH:MM in workspace time; '' for none."),
    as_json: bool = JsonOption,
) -> None:
    """Change a campaign's settings (those given; checked as when it was added)."""
    from mecm.errors import InvalidParameter
    from mecm.cli.output import friendly_errors
    from mecm.services.admin import campaigns
    from mecm.services.admin.audit import cli_actor

    with friendly_errors(as_json):
        if no_actions and action:
            raise InvalidParameter("no-actions", "give either --action or --no-actions")
    edit = campaigns.CampaignEdit(
        codes=code or None, name=name, keyword=keyword, reply=reply, priority=priority, match=match,
        case_sensitive=case_sensitive, starts=starts, ends=ends, cap=cap, cap_window_s=cap_window_s,
        quiet_hours=quiet_hours, actions=[] if no_actions else (action or None),
        email_subject=email_subject, email_body=email_body)
    actor = cli_actor()
    row = in_transaction(as_json, lambda c, v: campaigns.edit_campaign(
        c, campaign, edit, actor=actor, vault=v, allow=load_settings().outbound_networks))
    emit(row, as_json, _said(row, f"edited ({row['state']})"))


@campaign_app.command("pause")
def campaign_pause(campaign: int = IdOption, as_json: bool = JsonOption) -> None:
    """Stop answering MOs until resumed (they are stored as matching no campaign); it keeps its keyword."""
    from mecm.services.admin import campaigns
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = in_transaction(as_json, lambda c, _: campaigns.pause_campaign(c, campaign, actor=actor))
    emit(row, as_json, _said(row, "paused"))


@campaign_app.command("resume")
def campaign_resume(campaign: int = IdOption, as_json: bool = JsonOption) -> None:
    """Answer MOs again."""
    from mecm.services.admin import campaigns
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = in_transaction(as_json, lambda c, _: campaigns.resume_campaign(c, campaign, actor=actor))
    emit(row, as_json, _said(row, "resumed"))


@campaign_app.command("archive")
def campaign_archive(campaign: int = IdOption, as_json: bool = JsonOption) -> None:
    """Stop a campaign for good: lists hide it (--all shows it), its keyword is free; its MOs keep its name."""
    from mecm.services.admin import campaigns
    from mecm.services.admin.audit import cli_actor
    from mecm.services.key_use import wall_clock_ms

    actor = cli_actor()
    row = in_transaction(as_json, lambda c, _: campaigns.archive_campaign(c, campaign, actor=actor,
                                                                          now_ms=wall_clock_ms()))
    emit(row, as_json, _said(row, "archived"))
