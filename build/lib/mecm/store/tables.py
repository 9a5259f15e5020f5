"""Table definitions (SQLAlchemy Core). Alembic migrations must match these; a test checks it.

Times are integers of epoch milliseconds: cheap to compare, the same on SQLite and PostgreSQL, and
rendered in each workspace's time zone only at the edge.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)

metadata = MetaData()

# On SQLite only "INTEGER PRIMARY KEY" is the rowid itself (64-bit anyway); BIGINT there would add a
# second index to every insert.
Id64 = BigInteger().with_variant(Integer(), "sqlite")

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    # Carrier used when a send names carrier "null" and no prefix or hint decides.
    Column("default_carrier", String(100), nullable=True),
    Column("created_at_ms", BigInteger, nullable=False),
    # Every status change of the workspace's MTs is posted here (a trigger queues it: migration 0006).
    Column("status_callback_url", Text, nullable=True),
    # Fernet token of the key that signs the workspace's webhooks (X-Mecm-Signature).
    Column("webhook_secret_enc", Text, nullable=True),
    # sendSMSPinMobileNumberConfirm answers the PIN itself (the seed API does); false: an empty <pin/>,
    # for clients that check PINs with verifyPin and never need to see them.
    Column("pin_in_response", Boolean, nullable=False, server_default=true()),
    # When it was archived: its keys answer BAD_SIGNATURE, lists hide it, its history stays (0018).
    Column("archived_at_ms", BigInteger, nullable=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("public_key", String(64), nullable=False, unique=True),
    # Fernet token of the private key under the master key; the clear key is shown once.
    Column("private_key_enc", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("revoked_at_ms", BigInteger, nullable=True),
    # From this instant the key answers BAD_SIGNATURE, as a revoked one (None: never; key rotate sets it).
    Column("expires_at_ms", BigInteger, nullable=True),
    # The latest authenticated request with it, written in batches (services/key_use.py).
    Column("last_used_at_ms", BigInteger, nullable=True),
)

codes = Table(
    "codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    # A short or long code belongs to one workspace, so an MO on it finds its workspace.
    Column("code", String(32), nullable=False, unique=True),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("created_at_ms", BigInteger, nullable=False),
)

carriers = Table(
    "carriers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("connector", String(32), nullable=False),
    # Comma-separated number prefixes (digits) for routing carrier=null.
    Column("prefixes", Text, nullable=False, default=""),
    # Connector settings as JSON (simulator: delivery_delay_ms, failure_rate).
    Column("settings", Text, nullable=False, default="{}"),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("created_at_ms", BigInteger, nullable=False),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("keyword", Text, nullable=False),
    Column("reply", Text, nullable=False),
    # Lower runs first.
    Column("priority", Integer, nullable=False, default=100),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("created_at_ms", BigInteger, nullable=False),
    # regex | word | prefix | fallback (no keyword: answers what no campaign matched; code "" = all codes)
    Column("match_mode", String(8), nullable=False, server_default="regex"),
    Column("case_sensitive", Boolean, nullable=False, server_default=false()),  # also accent-sensitive
    Column("starts_at_ms", BigInteger, nullable=True),  # active window; None: no bound
    Column("ends_at_ms", BigInteger, nullable=True),
    # At most cap_count replies to one subscriber in cap_window_s (0: no cap); cuts reply loops.
    Column("cap_count", Integer, nullable=False, server_default="5"),
    Column("cap_window_s", Integer, nullable=False, server_default="3600"),
    Column("quiet_hours", String(11), nullable=True),  # "22:00-08:00", workspace time: replies held
    # JSON list of actions after the reply, in order (domain/actions.py); NULL: the reply alone.
    Column("actions", Text, nullable=True),
    # is_active false: paused (matches nothing; keeps its keyword). Archived: set, is_active false,
    # for good (its keyword is free again; its MOs keep its id and name).
    Column("archived_at_ms", BigInteger, nullable=True),
)

# The codes a campaign listens on (one or more; "" for a fallback on every code of the workspace).
campaign_codes = Table(
    "campaign_codes",
    metadata,
    Column("campaign_id", Integer, primary_key=True),
    Column("code", String(32), primary_key=True),
)
Index("ix_campaign_codes_code", campaign_codes.c.code)

# MT messages. The row is both the message and its place in the delivery queue (DESIGN principle 2).
messages = Table(
    "messages",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=False),
    Column("workspace_id", Integer, nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("kind", String(8), nullable=False),  # sms | mt | pin | reply | confirm
    Column("carrier", String(100), nullable=False),
    Column("sender", String(32), nullable=False),
    Column("recipient", String(20), nullable=False),
    Column("text", Text, nullable=False),
    Column("flags", Text, nullable=False, default=""),
    Column("data_coding", String(4), nullable=False),
    Column("segments", Integer, nullable=False),
    Column("priority", Integer, nullable=False, default=1),  # 0 high, 1 normal, 2 low
    Column("status", String(24), nullable=False),
    Column("status_detail", Text, nullable=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    # Not before this time (at= flag, retry backoff).
    Column("next_attempt_at_ms", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    # No receipt by then: EXPIRED.
    Column("expires_at_ms", BigInteger, nullable=False),
    Column("carrier_message_id", String(64), nullable=True),
    Column("mo_id", BigInteger, nullable=True),
    Column("broadcast_id", Integer, nullable=True),  # a broadcast's message: one per subscriber
    Column("claimed_by", Integer, nullable=True),  # node id of the worker that claimed it (store/leases.py)
    # A PIN message's real text, a Fernet token under the master key: ``text`` holds it with the PIN
    # masked. Opened only by the dispatcher right before a submit; erased once the carrier took the
    # message or it is final (store/queue.py). NULL for every other message.
    Column("sealed_text", Text, nullable=True),
    # What the message cost, in micro-units of its workspace's currency (store/credit.py); NULL when
    # its workspace has no price list (or it was final at acceptance: nothing charged).
    Column("price", BigInteger, nullable=True),
    # When that price went back to the balance (it never reached a carrier: domain/pricing.py).
    Column("refunded_at_ms", BigInteger, nullable=True),
)
Index("ux_messages_broadcast_recipient", messages.c.broadcast_id, messages.c.recipient, unique=True,
      sqlite_where=text("broadcast_id IS NOT NULL"), postgresql_where=text("broadcast_id IS NOT NULL"))
# In the claim's order (store/queue.py), so a claim reads its messages from the index and stops.
Index("ix_messages_queue", messages.c.status, messages.c.priority, messages.c.next_attempt_at_ms, messages.c.id)
Index("ix_messages_carrier_ref", messages.c.carrier, messages.c.carrier_message_id)

pins = Table(
    "pins",
    metadata,
    Column("message_id", Id64, primary_key=True, autoincrement=False),
    Column("workspace_id", Integer, nullable=False),
    Column("recipient", String(20), nullable=False),
    Column("pin_hash", String(128), nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),  # wrong guesses (verifyPin)
    Column("verified_at_ms", BigInteger, nullable=True),  # approved: a PIN is used once
)
# verifyPin looks up the newest PIN sent to a number by a workspace.
Index("ix_pins_workspace_recipient", pins.c.workspace_id, pins.c.recipient, pins.c.message_id)

# Idempotency keys (SPEC section 9): the first answer to a request sent with a key, written in the
# transaction that stores its message, and answered again to a retry with the same key within the
# window (services/idempotency.py). Older rows are ignored, and deleted by a periodic sweep.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("workspace_id", Integer, primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("method", String(40), nullable=False),  # the API method that answered
    Column("fingerprint", String(64), nullable=False),  # SHA-256 hex of method, parameters and body
    Column("message_id", BigInteger, nullable=False),  # the MT sent (a PIN's message), or the MO fired
    # The first answer's result tree as JSON; a PIN answer sealed (Fernet, the master key), as it may
    # hold the PIN.
    Column("answer", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
)
Index("ix_idempotency_keys_created", idempotency_keys.c.created_at_ms)

mo_messages = Table(
    "mo_messages",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=False),
    Column("workspace_id", Integer, nullable=False),
    Column("sender", String(20), nullable=False),  # the subscriber
    Column("code", String(32), nullable=False),  # the short or long code it was sent to
    Column("text", Text, nullable=False),
    Column("carrier", String(100), nullable=False, default=""),
    Column("keyword", Text, nullable=False, default=""),
    Column("campaign_id", Integer, nullable=True),
    Column("campaign_name", String(200), nullable=False, default=""),
    Column("response_message_id", BigInteger, nullable=True),
    Column("received_at_ms", BigInteger, nullable=False),
    # Matched a campaign over its frequency cap: kept, but nothing was done for it.
    Column("capped", Boolean, nullable=False, server_default=false()),
)
Index("ix_mo_workspace_time", mo_messages.c.workspace_id, mo_messages.c.received_at_ms)
Index("ix_mo_campaign_sender", mo_messages.c.campaign_id, mo_messages.c.sender, mo_messages.c.received_at_ms)
Index("ix_mo_workspace_sender", mo_messages.c.workspace_id, mo_messages.c.sender, mo_messages.c.received_at_ms)

# Receipts whose carrier message id is not (yet) known: the receipt came before the submit response
# was stored. Applied when the id arrives (DESIGN: never dropped).
pending_receipts = Table(
    "pending_receipts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("carrier", String(100), nullable=False),
    Column("carrier_message_id", String(64), nullable=False),
    Column("status", String(24), nullable=False),
    Column("detail", Text, nullable=True),
    Column("received_at_ms", BigInteger, nullable=False),
    UniqueConstraint("carrier", "carrier_message_id", name="uq_pending_receipt"),
)

# The parts of a message the carrier took as several submits (a long SMS), each with its own carrier
# message id and receipt. Only multi-part messages have rows here. The message becomes
# DELIVERED_TO_DEVICE when every part is delivered, and final as soon as any part fails.
message_parts = Table(
    "message_parts",
    metadata,
    Column("carrier", String(100), primary_key=True),
    Column("carrier_message_id", String(64), primary_key=True),
    Column("message_id", Id64, nullable=False),
    Column("part_index", Integer, nullable=False),
    Column("status", String(24), nullable=True),  # the part's final status, once its receipt came
)
Index("ix_message_parts_message", message_parts.c.message_id)

# The parts of a multi-part MO received so far, each stored before the carrier is answered, so an
# acknowledged part survives a crash. When the last part comes (or the wait for it ends) the parts
# are deleted in the transaction that stores the whole MO.
mo_parts = Table(
    "mo_parts",
    metadata,
    Column("carrier", String(100), primary_key=True),
    Column("source", String(32), primary_key=True),
    Column("destination", String(32), primary_key=True),
    Column("reference", Integer, primary_key=True),
    Column("total", Integer, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("text", Text, nullable=False),
    Column("received_at_ms", BigInteger, nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),  # handed on incomplete after this
)
Index("ix_mo_parts_expiry", mo_parts.c.expires_at_ms)

settings_kv = Table(
    "settings_kv",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# Who is opted out of each workspace now (one row per subscriber), ...
opt_outs = Table(
    "opt_outs",
    metadata,
    Column("workspace_id", Integer, primary_key=True),
    Column("subscriber", String(20), primary_key=True),
    Column("code", String(32), nullable=False),  # the code the STOP came to ("" when set by an admin)
    Column("via", String(16), nullable=False),  # keyword | admin
    Column("opted_out_at_ms", BigInteger, nullable=False),
)

# ... and every opt-out and opt-in in order: the history, and what API processes tail (by seq) to
# keep their in-memory view of opt_outs current.
opt_out_events = Table(
    "opt_out_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("subscriber", String(20), nullable=False),
    Column("opted_out", Boolean, nullable=False),  # False: opted back in
    Column("code", String(32), nullable=False),
    Column("via", String(16), nullable=False),
    Column("mo_id", BigInteger, nullable=True),  # the MO that asked for it
    Column("at_ms", BigInteger, nullable=False),
)

# STOP / START / HELP keywords (comma-separated, folded) and answers, per workspace (code "") or for
# one of its codes; NULL keeps the workspace's setting, or the default.
opt_out_settings = Table(
    "opt_out_settings",
    metadata,
    Column("workspace_id", Integer, primary_key=True),
    Column("code", String(32), primary_key=True),
    Column("stop_keywords", Text, nullable=True),
    Column("start_keywords", Text, nullable=True),
    Column("help_keywords", Text, nullable=True),
    Column("stop_text", Text, nullable=True),
    Column("start_text", Text, nullable=True),
    Column("help_text", Text, nullable=True),
)

# Webhooks and e-mails to deliver (campaign actions, status callbacks), each retried with backoff
# until done or, after outbox_max_attempts, dead (kept for ``mecm admin webhook replay``).
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("kind", String(8), nullable=False),  # webhook | email | status
    Column("target", Text, nullable=False),  # URL, or e-mail address
    Column("payload", Text, nullable=False),  # JSON: the body posted, or the e-mail's subject and body
    # A webhook's text answer is sent as an SMS from reply_code to reply_to (Kannel's get-url).
    Column("reply_code", String(32), nullable=True),
    Column("reply_to", String(20), nullable=True),
    Column("mo_id", BigInteger, nullable=True),
    Column("state", String(8), nullable=False),  # pending | done | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at_ms", BigInteger, nullable=False),  # also the lease of a job in hand
    Column("last_error", Text, nullable=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("finished_at_ms", BigInteger, nullable=True),
)
Index("ix_outbox_due", outbox.c.state, outbox.c.next_attempt_at_ms)

# Subscriber lists of a workspace, joined by keyword (subscribe action), CSV import or admin.
lists = Table(
    "lists",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("name", String(100), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    UniqueConstraint("workspace_id", "name", name="uq_list_name"),
)

list_members = Table(
    "list_members",
    metadata,
    Column("list_id", Integer, primary_key=True),
    Column("subscriber", String(20), primary_key=True),
    Column("fields", Text, nullable=False),  # JSON object: template values ({{name}}) from the CSV
    Column("via", String(8), nullable=False),  # keyword | import | admin
    Column("joined_at_ms", BigInteger, nullable=False),
)

# A text sent to every member of a list. The worker turns members into messages a page at a time,
# in subscriber order, and records how far it got (cursor) in the transaction that queues the page:
# after a crash it carries on from there, and no subscriber gets the broadcast twice.
broadcasts = Table(
    "broadcasts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("list_id", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("code", String(32), nullable=False),
    Column("carrier", String(100), nullable=True),  # None: routed per number
    Column("text", Text, nullable=False),  # a template: {{to}}, {{from}} and the member's fields
    Column("quiet_hours", String(11), nullable=True),
    Column("state", String(10), nullable=False),  # scheduled | sending | queued | cancelled
    Column("scheduled_at_ms", BigInteger, nullable=False),
    Column("cursor", String(20), nullable=False),  # the last subscriber queued ("" before the first)
    Column("enqueued", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),  # opted out when their turn came
    Column("unsendable", Integer, nullable=False, server_default="0"),  # text too long with their fields
    Column("created_at_ms", BigInteger, nullable=False),
    Column("finished_at_ms", BigInteger, nullable=True),
)

# Prepaid credit (store/credit.py). Money is in micro-units (1/1,000,000) of the workspace's currency:
# integers, never floats. A workspace without price rows pays nothing and has no account.
credit_accounts = Table(
    "credit_accounts",
    metadata,
    Column("workspace_id", Integer, primary_key=True, autoincrement=False),
    Column("currency", String(3), nullable=False),  # ISO 4217 code, e.g. USD
    Column("balance", BigInteger, nullable=False),  # never below zero
    # A debit that takes the balance from at least this to below it queues one "balance" callback.
    Column("low_balance", BigInteger, nullable=True),
    Column("updated_at_ms", BigInteger, nullable=False),
)

# A workspace's price list: the row whose prefix is the longest one of the recipient's number wins;
# at equal length a row for the message's carrier wins over carrier "*" (domain/pricing.py).
prices = Table(
    "prices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("carrier", String(100), nullable=False),  # a carrier's name, or "*" for any
    Column("prefix", String(15), nullable=False),  # digits; "" matches every number
    Column("per_segment", BigInteger, nullable=False),  # micro-units
    Column("created_at_ms", BigInteger, nullable=False),
    UniqueConstraint("workspace_id", "carrier", "prefix", name="uq_price_row"),
)

# Every movement of a balance, append-only (triggers refuse UPDATE and DELETE: migration 0015).
credit_ledger = Table(
    "credit_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("message_id", BigInteger, nullable=True),  # the refund's message; a debit's, if it covers one
    Column("kind", String(8), nullable=False),  # top-up | debit | refund
    Column("amount", BigInteger, nullable=False),  # + top-up and refund, - debit
    Column("balance_after", BigInteger, nullable=False),
    Column("reason", Text, nullable=True),
    Column("created_at_ms", BigInteger, nullable=False),
    # How many messages the row pays for or refunds: a debit covers the workspace's sends stored in
    # one transaction (store/credit.py). NULL on rows from before migration 0021, and on top-ups.
    Column("messages", Integer, nullable=True),
)
Index("ix_credit_ledger_workspace", credit_ledger.c.workspace_id, credit_ledger.c.id)

# Rate limits (domain/ratelimit.py) a workspace, or one of its keys, is given for a class of methods
# (sends, pins, reads). A workspace without a row for a class has the settings' default
# (rate_<class>_per_s, rate_<class>_burst); a key without one has only its workspace's.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), primary_key=True),
    Column("public_key", String(64), primary_key=True),  # "" for the whole workspace
    Column("class", String(16), primary_key=True),  # sends | pins | reads
    Column("rate_per_s", Float, nullable=False),
    Column("burst", Integer, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
)

# PostgreSQL: the token buckets every API process of a deployment shares (store/shared_buckets.py);
# each process leases a few tokens at a time. Unused on SQLite (one API process, local buckets).
rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("name", String(120), primary_key=True),  # workspace, key and class
    Column("tokens", Float, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
)

# A workspace's SMS-pumping defence (domain/pin_sends.py); NULL: the setting's default.
pin_send_policies = Table(
    "pin_send_policies",
    metadata,
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), primary_key=True),
    Column("per_number", Integer, nullable=True),  # PIN sends to one number per window; 0: no limit
    Column("per_block", Integer, nullable=True),  # to one block of 10,000 numbers per window
    Column("countries", Text, nullable=True),  # comma list of ISO 3166 regions; "": any country
)

# People who administer mecm (migration 0019). A deployment administrator may do everything; others
# act on the workspaces where they hold a role. The password is an argon2id hash (domain/credentials.py).
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-cased
    Column("password_hash", Text, nullable=True),  # None: cannot sign in with a password (tokens only)
    Column("deployment_admin", Boolean, nullable=False, server_default=false()),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("disabled_at_ms", BigInteger, nullable=True),  # a disabled user's tokens stop working too
    # Two-factor sign-in to the console (migration 0023): the TOTP secret, encrypted with the master
    # key (None: not set up), and the last 30-s step a code was used for (none is accepted twice).
    Column("totp_secret", Text, nullable=True),
    Column("totp_last_step", BigInteger, nullable=True),
)

# A user's role on one workspace: owner, admin, editor or viewer (domain/roles.py).
workspace_roles = Table(
    "workspace_roles",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), primary_key=True),
    Column("role", String(16), nullable=False),
)

# Personal tokens for the admin API: only the SHA-256 of each is kept (it is shown once, when made).
user_tokens = Table(
    "user_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("scope", String(8), nullable=False),  # read or write
    Column("created_at_ms", BigInteger, nullable=False),
    Column("expires_at_ms", BigInteger, nullable=True),
    Column("revoked_at_ms", BigInteger, nullable=True),
)

# Every administrative change: who (actor), what (action), on what (subject), before and after (JSON).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("actor", String(400), nullable=False),  # user:<e-mail>, cli:<OS user>, admin-token
    Column("action", String(64), nullable=False),  # e.g. user.add, key.create
    Column("subject", String(400), nullable=False),  # e.g. user:ana@example.com, key:AbC123
    Column("workspace_id", Integer, nullable=True),  # the workspace concerned, when one is
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
)
Index("ix_audit_log_workspace", audit_log.c.workspace_id, audit_log.c.id)

# The web console's sessions (migration 0022): only the SHA-256 of the cookie's random value is
# kept, as for personal tokens; the CSRF token is the session's, shown in every form it serves.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
)
Index("ix_console_sessions_user", console_sessions.c.user_id)

# Failed console sign-ins per e-mail address (whether or not a user has it): domain/sign_in.py.
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("email", String(320), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("last_at_ms", BigInteger, nullable=False),
)

# The console dashboard's counts of closed hours (migration 0024), so that its day and week figures
# read a few hundred rows rather than a week's messages. An hour is the epoch ms of its start; when
# one is counted, and counted again, is services/admin/dashboard.py's rule. Nothing on the send path
# writes them: the dashboard does, as it reads.
dashboard_hours = Table(
    "dashboard_hours",
    metadata,
    Column("workspace_id", Integer, primary_key=True, autoincrement=False),
    Column("hour_ms", BigInteger, primary_key=True, autoincrement=False),
    Column("counted_at_ms", BigInteger, nullable=False),
    Column("open_messages", Integer, nullable=False),  # not final when counted: the hour is counted again
)
dashboard_message_counts = Table(
    "dashboard_message_counts",
    metadata,
    Column("workspace_id", Integer, primary_key=True, autoincrement=False),
    Column("hour_ms", BigInteger, primary_key=True, autoincrement=False),
    Column("carrier", String(100), primary_key=True),
    Column("status", String(24), primary_key=True),
    Column("messages", BigInteger, nullable=False),
    Column("receipt_ms", BigInteger, nullable=False),  # the sum of updated_at_ms - created_at_ms
)
dashboard_mo_counts = Table(
    "dashboard_mo_counts",
    metadata,
    Column("workspace_id", Integer, primary_key=True, autoincrement=False),
    Column("hour_ms", BigInteger, primary_key=True, autoincrement=False),
    Column("campaign_name", String(200), primary_key=True),
    Column("mos", BigInteger, nullable=False),
)

# Which messages went to a number (migration 0025), for a search by number over any span of time
# (store/number_index.py). An index on messages.recipient would cost every send a B-tree insert at
# a random place (measured at 1,000,000 rows: +22 us CPU, +95 us of commit time per message).
# These rows are written apart from the send path, a piece at a time: a piece is a run of message
# ids, and its rows, sorted by number, go in after every earlier piece's, so writing them appends.
number_pieces = Table(
    "number_pieces",
    metadata,
    Column("first_id", Id64, primary_key=True, autoincrement=False),
    Column("end_id", Id64, nullable=False),  # the piece holds the messages first_id <= id < end_id
    Column("messages", Integer, nullable=False),
    Column("indexed_at_ms", BigInteger, nullable=False),
    # When the piece was counted again, CHECK_AFTER_MS after it was indexed (store/number_index.py).
    Column("checked_at_ms", BigInteger, nullable=True),
)
message_numbers = Table(
    "message_numbers",
    metadata,
    Column("piece", Id64, primary_key=True, autoincrement=False),  # its number_pieces.first_id
    Column("recipient", String(20), primary_key=True),
    Column("message_id", Id64, primary_key=True, autoincrement=False),
    sqlite_with_rowid=False,
)
