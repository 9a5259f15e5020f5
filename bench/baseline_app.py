"""The bare baseline: Starlette on uvicorn answering a constant 300-byte XML body.

What the hardware, Python and the HTTP stack give with no work at all; mecm's accepted/s is quoted
as a ratio of this, measured in the same run.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<response><input>sendSMS</input><status>OK</status>'
    "<description>Completed</description><result><messages><message><id>1</id></message></messages>"
    "</result></response>\n"
).encode()
BODY = _BODY + b" " * (300 - len(_BODY))
assert len(BODY) == 300


async def constant(_request: Request) -> Response:
    return Response(BODY, media_type="application/xml; charset=utf-8")


app = Starlette(routes=[Route("/{path:path}", constant)])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools",
                access_log=False, log_level="warning")
