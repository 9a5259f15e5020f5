"""Administration's use cases, one module per subject: what the CLI (``mecm admin ...``) and the
admin API (``/admin/api``) both call, so they accept and refuse the same input with the same words.

Each use case validates its input and refuses with InvalidParameter naming the option and the reason
(or ``Unknown`` for an id that names nothing) before anything is written, then calls the store's
statements. Each takes the connection first and the rest by name, and returns plain dicts: the CLI's
``--json`` and the API's bodies are these dicts. Who asks: every use case that changes something
takes an ``actor`` keyword and writes an audit entry (audit.py ``record``) in the change's
transaction; whether the actor may is checked before, by access.py (the role policy of
domain/roles.py).
"""
