"""The OpenAPI 3.0 document of ``/admin/api`` (served at /admin/api/openapi.json).

Written by hand next to routes.py, one entry per route; a test validates it with
openapi-spec-validator and runs schemathesis against the server with it.
"""

from __future__ import annotations

from typing import Any

from mecm.domain.broadcast_state import SHOWN_STATES

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "Bad input: the parameter and the reason; nothing was written",
            401: "Admin token or personal token missing, wrong, expired or revoked",
            403: "The user's role (or the token's scope) does not allow it: the answer names the role needed; "
                 "nothing was written",
            404: "No such id"}
    # Every route may answer 403 to a personal token whose role does not allow it.
    return {str(code): _json(_ERROR, text[code]) for code in sorted({*codes, 403} if 401 in codes else codes)}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:  # OpenAPI 3.0 wants a non-empty list, or none
        schema["required"] = required
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}


def _list_of(key: str, item: str) -> dict[str, Any]:
    return {"type": "object", "properties": {key: {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}}}}


_STRING = {"type": "string"}
_EXPIRES = "ISO 8601 date (00:00 that day) or date and time; without an offset, the workspace's time zone"
_EXPIRES_IN = "From now: e.g. 90d, 12h, 30m, 45s"
_OBJECT = {"type": "object", "additionalProperties": True}
_ROTATE = {
    "overlap": {**_STRING, "default": "24h", "description": "How long the old key keeps working (e.g. 24h, 2s); "
                                                            "0 revokes it now"},
    "expires": {**_STRING, "description": "The new key's: " + _EXPIRES},
    "expires_in": {**_STRING, "description": "The new key's: " + _EXPIRES_IN},
}
_DATE = {"type": "string", "nullable": True, "description": "As the API writes dates, in the workspace's zone"}
_BROADCAST_DONE = {"type": "boolean", "description": (
    "Nothing more will be queued or handed to a carrier: state done, or cancelled with nothing waiting")}
_BROADCAST_STATE = {
    "type": "string", "enum": list(SHOWN_STATES),
    "description": ("scheduled: nothing queued yet; sending: members being queued or messages waiting for "
                    "their carrier; paused: nothing more is sent until it is resumed; done: every message "
                    "handed to a carrier (receipts may still come); cancelled"),
}
_AMOUNT = {"type": "string", "description": "Decimal, in the workspace's currency, e.g. 0.0075"}
_PRICES = {"type": "object", "properties": {"prices": {"type": "array", "items": _OBJECT}}}

_CAMPAIGN_BODY = _body({
    "code": {**_STRING, "description": "A code of the workspace; '' with match=fallback for every code"},
    "codes": {"type": "array", "items": _STRING, "description": "Several codes (instead of code)"},
    "name": _STRING,
    "keyword": {**_STRING, "description": "Not for a fallback"},
    "match": {"type": "string", "enum": ["regex", "word", "prefix", "fallback"], "default": "regex"},
    "reply": {**_STRING, "description": "Template: {{from}} {{to}} {{text}} {{keyword}} {{1}}..{{9}}"},
    "actions": {"type": "array", "items": _STRING,
                "description": "reply:TEXT, forward:NUMBER [TEXT], webhook:URL, email:ADDRESS, subscribe:LIST, "
                               "unsubscribe:LIST. A webhook URL's address must be public unless the setting "
                               "outbound_allow allows it"},
    "priority": {"type": "integer", "default": 100},
    "case_sensitive": {"type": "boolean", "default": False},
    "starts": {**_STRING, "description": "ISO 8601; without offset, the workspace's time zone"},
    "ends": _STRING,
    "cap": {"type": "integer", "default": 5},
    "cap_window_s": {"type": "integer", "default": 3600},
    "quiet_hours": {**_STRING, "description": "HH:MM-HH:MM"},
    "email_subject": _STRING,
    "email_body": _STRING,
}, ["name"])
_CAMPAIGN = {"$ref": "#/components/schemas/Campaign"}


def _campaign_paths(ws: dict[str, Any]) -> dict[str, Any]:
    campaign = _id("campaign_id")
    # Creation's fields, none required, none with a default (what is not given stays as it is).
    edit_fields = dict(_CAMPAIGN_BODY["content"]["application/json"]["schema"]["properties"])
    for name in ("starts", "ends", "quiet_hours", "email_subject", "email_body"):
        edit_fields[name] = {**edit_fields[name], "description": edit_fields[name].get("description", name)
                             + "; '' for none"}
    edit_fields["actions"] = {**edit_fields["actions"], "description": "Replace the actions ([]: none). "
                              + edit_fields["actions"]["description"]}
    edit_fields["match"] = {"type": "string", "enum": ["regex", "word", "prefix", "fallback"]}
    for name in ("priority", "case_sensitive", "cap", "cap_window_s"):
        edit_fields[name] = {key: value for key, value in edit_fields[name].items() if key != "default"}

    def state_change(operation: str, description: str) -> dict[str, Any]:
        return {"parameters": [campaign],
                "post": {"operationId": operation, "description": description,
                         "responses": {"200": _json(_CAMPAIGN, "The campaign now"), **_errors(400, 401, 404)}}}

    return {
        "/admin/api/workspaces/{workspace_id}/campaigns": {
            "parameters": [ws],
            "get": {"operationId": "listCampaigns",
                    "parameters": [{"name": "all", "in": "query", "required": False,
                                    "schema": {"type": "string", "enum": ["true", "false"]},
                                    "description": "true: archived campaigns too"}],
                    "responses": {"200": _json(_list_of("campaigns", "Campaign"),
                                               "The workspace's campaigns, active and paused"),
                                  **_errors(400, 401, 404)}},
            "post": {"operationId": "createCampaign", "requestBody": _CAMPAIGN_BODY, "responses": {
                "201": _json(_CAMPAIGN, "Created"), **_errors(400, 401, 404)}},
        },
        "/admin/api/campaigns/{campaign_id}": {
            "parameters": [campaign],
            "patch": {"operationId": "editCampaign",
                      "description": "Changes what the body gives, checked as when the campaign was created "
                                     "(the others stay); refused for an archived campaign",
                      "requestBody": _body(edit_fields, []),
                      "responses": {"200": _json(_CAMPAIGN, "The campaign now"), **_errors(400, 401, 404)}},
        },
        "/admin/api/campaigns/{campaign_id}/pause": state_change(
            "pauseCampaign", "It answers no MO until resumed (an MO is stored as matching no campaign); it keeps "
                             "its keyword. Refused for an archived campaign"),
        "/admin/api/campaigns/{campaign_id}/resume": state_change(
            "resumeCampaign", "It answers MOs again. Refused for an archived campaign"),
        "/admin/api/campaigns/{campaign_id}/archive": state_change(
            "archiveCampaign", "For good: it answers no MO, lists hide it (all=true shows it), its keyword is "
                               "free; the MOs and messages it produced keep naming it"),
    }


_CLASS = {"type": "string", "enum": ["sends", "pins", "reads"],
          "description": "sends: sendSMS, sendMT, fireMessage; pins: sendSMSPinMobileNumberConfirm, verifyPin; "
                         "reads: getMOMessages, getMessage"}
_LIMIT = {"type": "object", "required": ["instance_id", "class", "rate_per_s", "burst"],
          "properties": {"instance_id": {"type": "integer"}, "key": {"type": "string", "nullable": True},
                         "class": _STRING, "rate_per_s": {"type": "number", "nullable": True},
                         "burst": {"type": "integer", "nullable": True},
                         "source": {"type": "string", "description": "set, or default (the settings')"}}}
_PIN_GUARD = {"type": "object", "required": ["instance_id", "per_number", "per_block", "window_s", "countries"],
              "properties": {"instance_id": {"type": "integer"}, "per_number": {"type": "integer"},
                             "per_block": {"type": "integer"}, "window_s": {"type": "integer"},
                             "countries": {"type": "array", "items": _STRING}}}


def _limit_paths(ws: dict[str, Any]) -> dict[str, Any]:
    query = [{"name": "key", "in": "query", "required": False, "schema": _STRING,
              "description": "Only this public key's limits"},
             {"name": "class", "in": "query", "required": False, "schema": _CLASS, "description": "Only this class"}]
    return {
        "/admin/api/workspaces/{workspace_id}/limits": {
            "parameters": [ws],
            "get": {"operationId": "listLimits", "responses": {
                "200": _json({"type": "object", "properties": {"limits": {"type": "array", "items": _LIMIT}}},
                             "The limits set for the workspace and its keys, and the defaults it has"),
                **_errors(400, 401, 404)}},
            "put": {"operationId": "setLimit",
                    "requestBody": _body({
                        "class": _CLASS,
                        "key": {**_STRING, "description": "A public key of the workspace; absent: the whole workspace"},
                        "rate_per_s": {"type": "number", "description": "Requests per second, above 0"},
                        "burst": {"type": "integer", "description": "Requests at once after a quiet time, 1 or more"}},
                        ["class", "rate_per_s", "burst"]),
                    "responses": {"200": _json(_LIMIT, "The limit now"), **_errors(400, 401, 404)}},
            "delete": {"operationId": "clearLimits", "parameters": query,
                       "responses": {"200": _json(_OBJECT, "removed: how many limits"), **_errors(400, 401, 404)}},
        },
        "/admin/api/workspaces/{workspace_id}/pin-guard": {
            "parameters": [ws],
            "get": {"operationId": "showPinGuard", "responses": {
                "200": _json(_PIN_GUARD, "The PIN-send limits in force"), **_errors(400, 401, 404)}},
            "patch": {"operationId": "setPinGuard",
                      "requestBody": _body({
                          "per_number": {"type": "integer", "minimum": 0,
                                         "description": "PIN sends to one number per window; 0: no limit"},
                          "per_block": {"type": "integer", "minimum": 0,
                                        "description": "PIN sends to one block of 10,000 numbers per window"},
                          "countries": {**_STRING, "description": "Comma list of ISO 3166 regions; '': any"}}, []),
                      "responses": {"200": _json(_PIN_GUARD, "The PIN-send limits now"), **_errors(400, 401, 404)}},
            "delete": {"operationId": "clearPinGuard", "responses": {
                "200": _json(_PIN_GUARD, "Back to the settings' defaults"), **_errors(400, 401, 404)}},
        },
    }


def _user_paths(ws: dict[str, Any]) -> dict[str, Any]:
    email = {"name": "email", "in": "path", "required": True, "schema": _STRING}
    return {
        "/admin/api/users": {
            "get": {"operationId": "listUsers", "description": "A deployment administrator's", "responses": {
                "200": _json({"type": "object", "properties": {"users": {"type": "array", "items": _OBJECT}}},
                             "Every user and their roles per workspace"), **_errors(401)}},
            "post": {"operationId": "addUser",
                     "requestBody": _body({"email": _STRING,
                                           "password": {**_STRING, "description": "At least 12 characters; "
                                                                                  "absent: tokens only"},
                                           "deployment_admin": {"type": "boolean", "default": False}}, ["email"]),
                     "responses": {"201": _json(_OBJECT, "The user"), **_errors(400, 401)}},
        },
        "/admin/api/users/{email}/tokens": {
            "parameters": [email],
            "get": {"operationId": "listTokens", "responses": {
                "200": _json({"type": "object", "properties": {"tokens": {"type": "array", "items": _OBJECT}}},
                             "The user's tokens (never the tokens themselves)"), **_errors(400, 401, 404)}},
            "post": {"operationId": "createToken",
                     "requestBody": {**_body({"scope": {"type": "string", "enum": ["read", "write"], "default": "read"},
                                              "expires_in": {**_STRING, "default": "90d", "description": _EXPIRES_IN},
                                              "name": _STRING}, []), "required": False},
                     "responses": {"201": _json(_OBJECT, "The token, shown only here"), **_errors(400, 401, 404)}},
        },
        "/admin/api/tokens/{token_id}/revoke": {
            "parameters": [_id("token_id")],
            "post": {"operationId": "revokeToken", "responses": {
                "200": _json(_OBJECT, "Revoked: it stops working at once"), **_errors(400, 401, 404)}},
        },
        "/admin/api/workspaces/{workspace_id}/roles": {
            "parameters": [ws],
            "get": {"operationId": "listRoles", "description": "The owner's (or a deployment administrator's)",
                    "responses": {"200": _json({"type": "object", "properties": {
                        "roles": {"type": "array", "items": _OBJECT}}}, "Who holds which role on the workspace"),
                        **_errors(400, 401, 404)}},
        },
        "/admin/api/workspaces/{workspace_id}/roles/{email}": {
            "parameters": [ws, email],
            "put": {"operationId": "setRole",
                    "requestBody": _body({"role": {"type": "string", "enum": ["owner", "admin", "editor", "viewer"]}},
                                         ["role"]),
                    "responses": {"200": _json(_OBJECT, "The user's role now"), **_errors(400, 401, 404)}},
            "delete": {"operationId": "removeRole", "responses": {
                "200": _json(_OBJECT, "The user has no role on the workspace now"), **_errors(400, 401, 404)}},
        },
        "/admin/api/audit": {
            "get": {"operationId": "listAudit",
                    "parameters": [
                        {"name": "workspace", "in": "query", "required": False,
                         "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                         "description": "Only this workspace's entries (needs the role admin on it); absent: all "
                                        "(a deployment administrator)"},
                        {"name": "user", "in": "query", "required": False, "schema": _STRING,
                         "description": "An e-mail, or an actor as written (cli:ana, admin-token)"},
                        {"name": "action", "in": "query", "required": False, "schema": _STRING,
                         "description": "One action (carrier.edit), or every action on a subject (carrier)"},
                        {"name": "since", "in": "query", "required": False, "schema": _STRING,
                         "description": "ISO 8601 time (UTC without an offset): entries at or after it"},
                        {"name": "until", "in": "query", "required": False, "schema": _STRING,
                         "description": "ISO 8601 time (UTC without an offset): entries at or before it"},
                        {"name": "limit", "in": "query", "required": False,
                         "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100}}],
                    "responses": {"200": _json({"type": "object", "properties": {
                        "entries": {"type": "array", "items": _OBJECT}}},
                        "The newest entries first: at, actor, action, subject, workspace_id, before, after"),
                        **_errors(400, 401)}},
        },
    }


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema or _STRING, "description": description}


_PAGE = {"type": "integer", "minimum": 1, "maximum": 1000}
_DEAD_JOBS = _body({"ids": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                            "maxItems": 1000, "description": "Dead jobs of the workspace"},
                    "all": {"type": "boolean", "default": False, "description": "Every dead job of the workspace"}},
                   [])
_SEARCH = [
    _query("since", "From this ISO 8601 date or date and time (without an offset: the workspace's zone)"),
    _query("until", "Before this ISO 8601 date or date and time"),
    _query("campaign", "A campaign id: its MOs, or the MTs answering them",
           {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}),
    _query("code", "The short or long code (an MT's sender, the code an MO was sent to)"),
    _query("text", "The text contains this (case-insensitive for A-Z)"),
    _query("limit", "Rows in a page (100); not with format=csv, which holds every row", _PAGE),
    _query("before", "The next page: the former page's next"),
    _query("format", "csv: every matching row as CSV (also with Accept: text/csv)",
           {"type": "string", "enum": ["json", "csv"]}),
]


def _search(kind: str, operation: str, ws: dict[str, Any], extra: list[dict[str, Any]]) -> dict[str, Any]:
    page = {"type": "object", "properties": {kind: {"type": "array", "items": _OBJECT},
                                             "next": {**_STRING, "nullable": True,
                                                      "description": "before= for the next page; null: the last"}}}
    return {"parameters": [ws], "get": {
        "operationId": operation, "parameters": [*extra, *_SEARCH],
        "description": "Newest first; times ISO 8601 in the workspace's zone; a PIN message's PIN shows masked",
        "responses": {"200": {"description": "A page (JSON), or every matching row (CSV, streamed)", "content": {
            "application/json": {"schema": page}, "text/csv": {"schema": _STRING}}},
            **_errors(400, 401, 404)}}}


def _record_paths(ws: dict[str, Any]) -> dict[str, Any]:
    """Opt-outs, webhook dead letters, and searching messages and MOs (api/admin/record_routes.py)."""
    policy = {f"{intent}_{what}": _STRING for intent in ("stop", "start", "help") for what in ("keywords", "text")}
    return {
        "/admin/api/workspaces/{workspace_id}/opt-outs": {
            "parameters": [ws],
            "get": {"operationId": "listOptOuts", "parameters": [
                _query("number", "Only numbers containing these digits"), _query("limit", "At most (100)", _PAGE),
                _query("offset", "Skip this many first", {"type": "integer", "minimum": 0, "maximum": 10**9})],
                "responses": {"200": _json({"type": "object", "properties": {
                    "opt_outs": {"type": "array", "items": _OBJECT}}}, "Opted-out numbers, oldest first"),
                    **_errors(400, 401, 404)}},
            "post": {"operationId": "addOptOut", "requestBody": _body({"number": _STRING}, ["number"]),
                     "responses": {"201": _json(_OBJECT, "Opted out: the next send to it is refused"),
                                   "200": _json(_OBJECT, "Was already opted out (changed: false)"),
                                   **_errors(400, 401, 404)}},
        },
        "/admin/api/workspaces/{workspace_id}/opt-outs/{number}": {
            "parameters": [ws, {"name": "number", "in": "path", "required": True, "schema": _STRING}],
            "delete": {"operationId": "removeOptOut", "responses": {
                "200": _json(_OBJECT, "Opted back in (changed: false when it was not opted out)"),
                **_errors(400, 401, 404)}},
        },
        "/admin/api/workspaces/{workspace_id}/opt-out-policy": {
            "parameters": [ws],
            "get": {"operationId": "showOptOutPolicy", "parameters": [_query("code", "As on this code")],
                    "responses": {"200": _json(_OBJECT, "The keywords and answers in force"),
                                  **_errors(400, 401, 404)}},
            "patch": {"operationId": "setOptOutPolicy",
                      "requestBody": _body({"code": {**_STRING, "description": "Only on this code; '': all"},
                                            **policy}, []),
                      "responses": {"200": _json(_OBJECT, "The keywords and answers now"), **_errors(400, 401, 404)}},
        },
        "/admin/api/workspaces/{workspace_id}/webhooks": {
            "parameters": [ws],
            "get": {"operationId": "listOutboxJobs", "parameters": [
                _query("state", "Only these", {"type": "string", "enum": ["pending", "done", "dead"]}),
                _query("limit", "The newest this many (100)", {"type": "integer", "minimum": 1, "maximum": 10000})],
                "responses": {"200": _json({"type": "object", "properties": {
                    "jobs": {"type": "array", "items": _OBJECT}}}, "Jobs, newest first, with attempts and last error"),
                    **_errors(400, 401, 404)}},
        },
        "/admin/api/workspaces/{workspace_id}/webhooks/replay": {
            "parameters": [ws],
            "post": {"operationId": "replayDeadJobs", "requestBody": _DEAD_JOBS, "responses": {
                "200": _json(_OBJECT, "replayed: how many (tried again, attempts counted afresh)"),
                **_errors(400, 401, 404)}},
        },
        "/admin/api/workspaces/{workspace_id}/webhooks/discard": {
            "parameters": [ws],
            "post": {"operationId": "discardDeadJobs", "requestBody": _DEAD_JOBS, "responses": {
                "200": _json(_OBJECT, "discarded: how many (deleted, never tried again)"), **_errors(400, 401, 404)}},
        },
        "/admin/api/workspaces/{workspace_id}/messages": _search("messages", "searchMessages", ws, [
            _query("number", "The subscriber (recipient), or the sender"),
            _query("status", "One or more statuses, comma-separated")]),
        "/admin/api/workspaces/{workspace_id}/mos": _search("mos", "searchMOs", ws, [
            _query("number", "The subscriber (sender)")]),
    }


def _list_paths(ws: dict[str, Any], lst: dict[str, Any], bc: dict[str, Any]) -> dict[str, Any]:
    """Lists, their members and broadcasts (list_routes.py)."""
    list_schema = {"$ref": "#/components/schemas/List"}
    page = [{"name": "number", "in": "query", "required": False, "schema": _STRING,
             "description": "Only members whose number contains these digits"},
            {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1,
                                                                          "maximum": 10_000_000, "default": 1}},
            {"name": "per_page", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}]
    members = {"type": "object", "properties": {
        "list_id": {"type": "integer"}, "workspace_id": {"type": "integer"}, "name": _STRING,
        "total": {"type": "integer", "description": "Members that match, on every page"},
        "page": {"type": "integer"}, "per_page": {"type": "integer"},
        "members": {"type": "array", "items": {"type": "object", "properties": {
            "number": _STRING, "fields": {"type": "object", "additionalProperties": _STRING},
            "via": {"type": "string", "description": "keyword, import or admin"},
            "joined_at_ms": {"type": "integer"}}}}}}
    return {
        "/admin/api/workspaces/{workspace_id}/lists": {
            "parameters": [ws],
            "get": {"operationId": "listLists", "responses": {
                "200": _json(_list_of("lists", "List"), "The workspace's lists"), **_errors(400, 401, 404)}},
            "post": {"operationId": "createList", "description": "Refused in an archived workspace",
                     "requestBody": _body({"name": _STRING}, ["name"]),
                     "responses": {"201": _json(list_schema, "Created"), **_errors(400, 401, 404)}},
        },
        "/admin/api/lists/{list_id}": {
            "parameters": [lst],
            "patch": {"operationId": "renameList", "requestBody": _body({"name": _STRING}, ["name"]),
                      "responses": {"200": _json(list_schema, "The list now"), **_errors(400, 401, 404)}},
            "delete": {"operationId": "deleteList",
                       "description": "The list and its members. Refused while a broadcast to it is scheduled, "
                                      "sending or paused, or an active campaign's action uses it (the refusal "
                                      "names it); finished broadcasts keep their history",
                       "responses": {"200": _json(_OBJECT, "Deleted; members: how many it had"),
                                     **_errors(400, 401, 404)}},
        },
        "/admin/api/workspaces/{workspace_id}/broadcasts": {
            "parameters": [ws],
            "get": {"operationId": "listBroadcasts", "responses": {
                "200": _json(_list_of("broadcasts", "Broadcast"), "The workspace's broadcasts"),
                **_errors(400, 401, 404)}},
        },
        "/admin/api/lists/{list_id}/members": {
            "parameters": [lst],
            "get": {"operationId": "listMembers", "parameters": page, "responses": {
                "200": _json(members, "A page of the members, in number order"), **_errors(400, 401, 404)}},
            "post": {"operationId": "addMember",
                     "requestBody": _body({"number": _STRING, "fields": {
                         "type": "object", "additionalProperties": _STRING}}, ["number"]),
                     "responses": {"201": _json(_OBJECT, "Added (or fields updated)"), **_errors(400, 401, 404)}},
        },
        "/admin/api/lists/{list_id}/members/{number}": {
            "parameters": [lst, {"name": "number", "in": "path", "required": True, "schema": _STRING}],
            "delete": {"operationId": "removeMember", "responses": {
                "200": _json(_OBJECT, "removed: whether it was a member"), **_errors(400, 401, 404)}},
        },
        "/admin/api/lists/{list_id}/import": {
            "parameters": [lst],
            "post": {"operationId": "importMembers",
                     "description": "Members from CSV text: a header with a 'number' column, other columns become "
                                    "template fields. All or none: a bad line refuses it, naming the line",
                     "requestBody": _body({"csv": _STRING}, ["csv"]),
                     "responses": {"200": _json(_OBJECT, "imported, added, updated, members"),
                                   **_errors(400, 401, 404)}},
        },
        "/admin/api/lists/{list_id}/broadcasts": {
            "parameters": [lst],
            "post": {"operationId": "createBroadcast", "description": "Refused in an archived workspace",
                     "requestBody": _body({"code": _STRING, "text": _STRING, "name": _STRING, "at": _STRING,
                                           "carrier": _STRING, "quiet_hours": _STRING}, ["code", "text"]),
                     "responses": {"201": _json({"$ref": "#/components/schemas/Broadcast"}, "Scheduled"),
                                   **_errors(400, 401, 404)}},
        },
        "/admin/api/broadcasts/{broadcast_id}": {
            "parameters": [bc],
            "get": {"operationId": "broadcastStatus", "responses": {
                "200": _json({"$ref": "#/components/schemas/BroadcastStatus"}, "Progress"),
                **_errors(400, 401, 404)}},
        },
        "/admin/api/broadcasts/{broadcast_id}/pause": {
            "parameters": [bc],
            "post": {"operationId": "pauseBroadcast",
                     "description": "Nothing more is queued or handed to a carrier until it is resumed. Refused "
                                    "when it is done, cancelled or paused",
                     "responses": {"200": _json(_OBJECT, "Paused; held: its waiting messages, held"),
                                   **_errors(400, 401, 404)}},
        },
        "/admin/api/broadcasts/{broadcast_id}/resume": {
            "parameters": [bc],
            "post": {"operationId": "resumeBroadcast",
                     "description": "Carries on where it stopped: no member is sent it twice, none is left out. "
                                    "Refused unless it is paused, and in an archived workspace",
                     "responses": {"200": _json(_OBJECT, "Resumed; released: its held messages, due again"),
                                   **_errors(400, 401, 404)}},
        },
        "/admin/api/broadcasts/{broadcast_id}/cancel": {
            "parameters": [bc],
            "post": {"operationId": "cancelBroadcast", "responses": {
                "200": _json(_OBJECT, "Cancelled; withdrawn: messages made NOT_SENT"), **_errors(400, 401, 404)}},
        },
    }


def document() -> dict[str, Any]:
    bearer = [{"adminToken": []}]
    ws, lst, bc = _id("workspace_id"), _id("list_id"), _id("broadcast_id")
    key = {"name": "public_key", "in": "path", "required": True, "schema": _STRING}
    code = {"name": "code", "in": "path", "required": True, "schema": _STRING, "description": "Digits"}
    carrier = {"name": "name", "in": "path", "required": True, "schema": _STRING, "description": "A carrier's name"}
    return {
        "openapi": "3.0.3",
        "info": {"title": "mecm admin API", "version": "1",
                 "description": ("Workspaces, key pairs, campaigns, lists, broadcasts, users and the audit log. "
                                 "Bearer: a personal token (its user's role decides) or the admin token.")},
        "security": bearer,
        "paths": {
            "/admin/api/workspaces": {
                "get": {"operationId": "listWorkspaces",
                        "parameters": [{"name": "all", "in": "query", "required": False,
                                        "schema": {"type": "string", "enum": ["true", "false"]},
                                        "description": "true: archived workspaces too"}],
                        "responses": {
                    "200": _json(_list_of("workspaces", "Workspace"), "The workspaces in use"), **_errors(400, 401)}},
                "post": {"operationId": "createWorkspace",
                         "requestBody": _body({"name": _STRING, "timezone": {**_STRING, "default": "America/Caracas"}},
                                              ["name"]),
                         "responses": {"201": _json({"$ref": "#/components/schemas/Workspace"}, "Created"),
                                       **_errors(400, 401)}},
            },
            "/admin/api/workspaces/{workspace_id}": {
                "parameters": [ws],
                "patch": {"operationId": "updateWorkspace",
                          "description": "Changes what the body gives (at least one field); nothing else",
                          "requestBody": _body({
                              "name": _STRING,
                              "timezone": {**_STRING, "description": "IANA time zone"},
                              "default_carrier": {**_STRING, "description": "A carrier's name; '': none"},
                              "pin_in_response": {
                                  "type": "boolean",
                                  "description": "false: sendSMSPinMobileNumberConfirm answers an empty <pin/> "
                                                 "(clients check PINs with verifyPin); true (the default): the PIN"}},
                              []),
                          "responses": {"200": _json({"$ref": "#/components/schemas/Workspace"}, "The workspace now"),
                                        **_errors(400, 401, 404)}},
            },
            "/admin/api/workspaces/{workspace_id}/archive": {
                "parameters": [ws],
                "post": {"operationId": "archiveWorkspace",
                         "description": "Its keys answer BAD_SIGNATURE, its campaigns stop answering, lists hide "
                                        "it; its history stays. Refused while one of its broadcasts is scheduled, "
                                        "sending or paused",
                         "responses": {"200": _json({"$ref": "#/components/schemas/Workspace"}, "Archived"),
                                       **_errors(400, 401, 404)}},
            },
            "/admin/api/workspaces/{workspace_id}/restore": {
                "parameters": [ws],
                "post": {"operationId": "restoreWorkspace",
                         "description": "In use again: its keys not revoked or expired work again",
                         "responses": {"200": _json({"$ref": "#/components/schemas/Workspace"}, "Restored"),
                                       **_errors(400, 401, 404)}},
            },
            "/admin/api/workspaces/{workspace_id}/keys": {
                "parameters": [ws],
                "get": {"operationId": "listKeys", "responses": {
                    "200": _json(_list_of("keys", "Key"), "The workspace's key pairs"), **_errors(400, 401, 404)}},
                "post": {"operationId": "createKey",
                         "requestBody": {**_body({"expires": {**_STRING, "description": _EXPIRES},
                                                  "expires_in": {**_STRING, "description": _EXPIRES_IN}}, []),
                                         "required": False},
                         "responses": {"201": _json(_OBJECT, "The new key pair (its private key shown only here)"),
                                       **_errors(400, 401, 404)}},
            },
            "/admin/api/keys/{public_key}/revoke": {
                "parameters": [key],
                "post": {"operationId": "revokeKey", "responses": {
                    "200": _json(_OBJECT, "Revoked: the key stops working (within catalog_refresh_s)"),
                    **_errors(400, 401, 404)}},
            },
            "/admin/api/workspaces/{workspace_id}/codes": {
                "parameters": [ws],
                "get": {"operationId": "listCodes", "responses": {
                    "200": _json({"type": "object", "properties": {"codes": {"type": "array", "items": _OBJECT}}},
                                 "The workspace's codes and which is the default"), **_errors(400, 401, 404)}},
            },
            "/admin/api/codes/{code}": {
                "parameters": [code],
                "delete": {"operationId": "removeCode",
                           "description": "Refused while a campaign not archived or a scheduled, sending or paused "
                                          "broadcast uses the code (the refusal names it)",
                           "responses": {"200": _json(_OBJECT, "Removed"), **_errors(400, 401, 404)}},
            },
            "/admin/api/codes/{code}/default": {
                "parameters": [code],
                "post": {"operationId": "setDefaultCode",
                         "description": "The code fireMessage GET receives on, in the code's workspace",
                         "responses": {"200": _json(_OBJECT, "It is the default"), **_errors(401, 404)}},
            },
            "/admin/api/carriers": {
                "get": {"operationId": "listCarriers", "responses": {
                    "200": _json({"type": "object", "properties": {"carriers": {"type": "array", "items": _OBJECT}}},
                                 "Every carrier, enabled or not (a password shows as \"(encrypted)\")"),
                    **_errors(401)}},
            },
            "/admin/api/carriers/{name}": {
                "parameters": [carrier],
                "patch": {"operationId": "updateCarrier",
                          "description": "Changes what the body gives, checked as when the carrier was added; a "
                                         "running worker reconnects it with the new settings",
                          "requestBody": _body({
                              "settings": {"type": "object", "additionalProperties": {
                                  "oneOf": [_STRING, {"type": "number"}, {"type": "boolean"}]},
                                  "description": "Settings to change (smpp: host, port, system_id, window, tps, ...; "
                                                 "simulator: delivery_delay_ms, failure_rate, tps); the others stay"},
                              "password": {**_STRING, "description": "smpp: a new password, stored encrypted"},
                              "prefixes": {"type": "array", "items": _STRING,
                                           "description": "The prefixes routed to it, replacing the old ones"}}, []),
                          "responses": {"200": _json(_OBJECT, "The carrier now"), **_errors(400, 401, 404)}},
                "delete": {"operationId": "deleteCarrier",
                           "description": "Refused while a workspace's default, a broadcast under way, a message not "
                                          "final or a price uses it (the refusal names each)",
                           "responses": {"200": _json(_OBJECT, "Deleted"), **_errors(400, 401, 404)}},
            },
            "/admin/api/carriers/{name}/disable": {
                "parameters": [carrier],
                "post": {"operationId": "disableCarrier",
                         "description": "No new message goes to it; those queued to it wait until it is enabled",
                         "responses": {"200": _json(_OBJECT, "The carrier now"), **_errors(401, 404)}},
            },
            "/admin/api/carriers/{name}/enable": {
                "parameters": [carrier],
                "post": {"operationId": "enableCarrier",
                         "responses": {"200": _json(_OBJECT, "The carrier now"), **_errors(401, 404)}},
            },
            "/admin/api/keys/{public_key}": {
                "parameters": [key],
                "patch": {"operationId": "setKeyExpiry",
                          "requestBody": _body({"expires": {**_STRING, "description": _EXPIRES},
                                                "expires_in": {**_STRING, "description": _EXPIRES_IN},
                                                "never": {"type": "boolean", "description": "No expiry"}}, []),
                          "responses": {"200": _json(_OBJECT, "The key's expiry now"), **_errors(400, 401, 404)}},
            },
            "/admin/api/keys/{public_key}/rotate": {
                "parameters": [key],
                "post": {"operationId": "rotateKey",
                         "requestBody": {**_body(_ROTATE, []), "required": False},
                         "responses": {"201": _json(_OBJECT, "The new key pair (its private key shown only here) "
                                                             "and the old key's end"), **_errors(400, 401, 404)}},
            },
            **_campaign_paths(ws),
            "/admin/api/workspaces/{workspace_id}/credit": {
                "parameters": [ws],
                "get": {"operationId": "getCredit", "responses": {
                    "200": _json({"$ref": "#/components/schemas/Credit"}, "Balance, currency, threshold"),
                    **_errors(400, 401, 404)}},
                "patch": {"operationId": "setLowBalance",
                          "requestBody": _body({"low_balance": {**_AMOUNT, "nullable": True,
                                                                "description": "A 'balance' status callback when a "
                                                                               "send takes the balance below it; null: none"}},
                                               ["low_balance"]),
                          "responses": {"200": _json({"$ref": "#/components/schemas/Credit"}, "The account now"),
                                        **_errors(400, 401, 404)}},
            },
            "/admin/api/workspaces/{workspace_id}/credit/top-ups": {
                "parameters": [ws],
                "post": {"operationId": "topUp",
                         "requestBody": _body({"amount": _AMOUNT, "reason": _STRING,
                                               "currency": {**_STRING, "description": "When the account opens"}},
                                              ["amount"]),
                         "responses": {"201": _json({"$ref": "#/components/schemas/Credit"}, "The account now"),
                                       **_errors(400, 401, 404)}},
            },
            "/admin/api/workspaces/{workspace_id}/credit/ledger": {
                "parameters": [ws],
                "get": {"operationId": "getLedger", "responses": {
                    "200": _json({"type": "object", "properties": {"ledger": {"type": "array", "items": _OBJECT}}},
                                 "The newest movements"), **_errors(400, 401, 404)}},
            },
            "/admin/api/workspaces/{workspace_id}/prices": {
                "parameters": [ws],
                "get": {"operationId": "listPrices", "responses": {
                    "200": _json(_PRICES, "The price list"), **_errors(400, 401, 404)}},
                "post": {"operationId": "setPrice",
                         "requestBody": _body({"per_segment": _AMOUNT,
                                               "carrier": {**_STRING, "default": "*"},
                                               "prefix": {**_STRING, "default": "", "description": "Digits"},
                                               "currency": {**_STRING, "description": "When the account opens"}},
                                              ["per_segment"]),
                         "responses": {"200": _json(_PRICES, "The price list now"), **_errors(400, 401, 404)}},
                "delete": {"operationId": "clearPrices", "responses": {
                    "200": _json(_OBJECT, "removed: rows; sends are free again"), **_errors(400, 401, 404)}},
            },
            **_limit_paths(ws),
            **_list_paths(ws, lst, bc),
            **_user_paths(ws),
            **_record_paths(ws),
        },
        "components": {
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Credit": {"type": "object", "required": ["workspace"],
                           "properties": {"workspace": {"type": "integer"},
                                          "currency": {**_STRING, "nullable": True},
                                          "balance": {**_AMOUNT, "nullable": True},
                                          "low_balance": {**_AMOUNT, "nullable": True},
                                          "priced": {"type": "boolean"}}},
                "Error": {"type": "object", "required": ["error"],
                          "properties": {"error": _STRING, "parameter": _STRING}},
                "Workspace": {"type": "object", "required": ["instance_id", "name", "timezone"],
                              "properties": {"instance_id": {"type": "integer"}, "name": _STRING,
                                             "timezone": _STRING, "pin_in_response": {"type": "boolean"},
                                             "default_carrier": {**_STRING, "nullable": True},
                                             "archived_at_ms": {"type": "integer", "nullable": True,
                                                                "description": "When it was archived (epoch ms)"}}},
                "Key": {"type": "object", "required": ["public_key", "state"],
                        "properties": {"workspace_id": {"type": "integer"}, "public_key": _STRING,
                                       "state": {"type": "string", "enum": ["active", "expired", "revoked"]},
                                       "created_at": _DATE, "expires_at": _DATE, "revoked_at": _DATE,
                                       "last_used_at": {**_DATE, "description": (
                                           "The latest authenticated request, written by each API process "
                                           "every key_last_used_flush_s")}}},
                "Campaign": {"type": "object", "required": ["id", "name", "codes", "match_mode"],
                             "properties": {"id": {"type": "integer"}, "name": _STRING,
                                            "codes": {"type": "array", "items": _STRING},
                                            "keyword": _STRING, "match_mode": _STRING, "reply": _STRING,
                                            "actions": {"type": "array", "items": _OBJECT},
                                            "priority": {"type": "integer"},
                                            "state": {"type": "string", "enum": ["active", "paused", "archived"]},
                                            "is_active": {"type": "boolean", "description": "It answers MOs"},
                                            "archived_at_ms": {"type": "integer", "nullable": True,
                                                               "description": "When it was archived (epoch ms)"}}},
                "List": {"type": "object", "required": ["id", "name"],
                         "properties": {"id": {"type": "integer"}, "name": _STRING}},
                "Broadcast": {"type": "object", "required": ["id", "state"],
                              "properties": {"id": {"type": "integer"}, "state": _BROADCAST_STATE, "name": _STRING}},
                "BroadcastStatus": {"type": "object", "required": ["id", "state", "done"],
                                    "properties": {"id": {"type": "integer"}, "state": _BROADCAST_STATE,
                                                   "members": {"type": "integer"}, "enqueued": {"type": "integer"},
                                                   "sent": {"type": "integer"}, "delivered": {"type": "integer"},
                                                   "failed": {"type": "integer"}, "done": _BROADCAST_DONE}},
            },
        },
    }
