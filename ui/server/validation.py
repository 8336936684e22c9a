"""Bad input answered as 4xx, whatever it holds: NaN, Infinity and lone surrogates included.

JSON allows ``"\\ud800"`` (a lone surrogate, which no UTF-8 text can carry) and Python's
parser accepts ``NaN`` and ``Infinity``. FastAPI's own 422 echoes the bad input, and a
response holding either cannot be encoded, so the client got a 500 instead of the 422; on the
chat socket, echoing one closed the socket with a server error.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def json_safe(value: Any) -> Any:
    """``value`` as strict JSON: non-finite numbers as strings, lone surrogates escaped."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {json_safe(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


async def invalid_request(request: Request, e: Exception) -> JSONResponse:
    """FastAPI's 422 (``{"detail": [errors]}``) with the echoed input made encodable."""
    assert isinstance(e, RequestValidationError)
    return JSONResponse({"detail": json_safe(jsonable_encoder(e.errors()))}, status_code=422)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_strict(raw: str) -> Any:
    """Parse a JSON text; ``ValueError`` for NaN/Infinity or a string no UTF-8 can carry."""
    data = json.loads(raw, parse_constant=_no_constant)
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the frame holds a lone surrogate escape (like \\ud800); send "
                         "text that is valid Unicode") from None
    return data
