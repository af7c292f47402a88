"""Test-only shims for three gaps of the fakesnow emulator (0.12.1) that dlt's Snowflake destination hits.

They wrap fakesnow's server app, so the product and dlt run unchanged and every statement still reaches
fakesnow; only the request text is adjusted where fakesnow, not Snowflake, falls short:

1. dlt sends its schema DDL as several statements in one request (``num_statements=0``), which Snowflake
   runs in turn; fakesnow parses one statement per request. The shim runs them one by one and answers with
   the last result (or the first failure), as Snowflake's multi-statement request does for DDL.
2. dlt's ``PUT 'file://...' '@"SCHEMA"."%TABLE"/"<load id>"'`` gives the stage as a quoted string, which
   Snowflake accepts and fakesnow refuses ("does not start with @"): the quotes are dropped.
3. In ``COPY INTO``, fakesnow reads comma-separated ``FILE_FORMAT = (...)`` options and a quoted
   ``MATCH_BY_COLUMN_NAME='CASE_INSENSITIVE'`` as unsupported; the shim writes the same options
   space-separated and the value unquoted (both spellings are valid Snowflake).

docs/snowflake.md lists what this leaves untested.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from sqlglot.dialects.snowflake import Snowflake
from sqlglot.tokens import TokenType

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

QUERY_PATH = "/queries/v1/query-request"
_PUT_QUOTED_STAGE = re.compile(r"^(\s*PUT\s+'(?:[^']|'')*'\s+)'(@(?:[^']|'')*)'", re.IGNORECASE)
_FILE_FORMAT = re.compile(r"(FILE_FORMAT\s*=\s*\()([^()]*)(\))", re.IGNORECASE)
_MATCH_BY_NAME = re.compile(r"MATCH_BY_COLUMN_NAME\s*=\s*'(\w+)'", re.IGNORECASE)


def split_statements(sql: str) -> list[str]:
    """The statements of a request, split at Snowflake's own statement separators (not inside strings)."""
    parts, start = [], 0
    for token in Snowflake().tokenize(sql):
        if token.token_type == TokenType.SEMICOLON:
            parts.append(sql[start : token.start])
            start = token.end + 1
    parts.append(sql[start:])
    return [part.strip() for part in parts if part.strip()]


def rewrite(statement: str) -> str:
    """Gaps 2 and 3: the same statement in a spelling fakesnow parses."""
    statement = _PUT_QUOTED_STAGE.sub(lambda m: m.group(1) + m.group(2).replace("''", "'"), statement)
    if statement.lstrip().upper().startswith("COPY"):
        statement = _MATCH_BY_NAME.sub(r"MATCH_BY_COLUMN_NAME = \1", statement)
        statement = _FILE_FORMAT.sub(
            lambda m: m.group(1) + m.group(2).replace(",", " ") + m.group(3), statement
        )
    return statement


class FakesnowShims:
    """ASGI middleware around fakesnow's server app applying the shims above to query requests."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != QUERY_PATH:
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if dict(scope["headers"]).get(b"content-encoding") == b"gzip":
            body = gzip.decompress(body)
        request = json.loads(body)
        statements = split_statements(request["sqlText"]) or [request["sqlText"]]
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-encoding", b"content-length")]
        for number, statement in enumerate(statements, start=1):
            answer = await self._one(scope, headers, {**request, "sqlText": rewrite(statement)})
            failed = answer[0]["status"] != 200 or b'"success":false' in answer[-1].get("body", b"")
            if failed or number == len(statements):
                for message in answer:
                    await send(message)
                return

    async def _one(self, scope: Scope, headers: list[Any], request: dict[str, Any]) -> list[Message]:
        payload = json.dumps(request).encode()
        pending = [{"type": "http.request", "body": payload, "more_body": False}]
        answer: list[Message] = []

        async def receive() -> Message:
            return pending.pop() if pending else {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            answer.append(message)

        scope = {**scope, "headers": [*headers, (b"content-length", str(len(payload)).encode())]}
        await self.app(scope, receive, send)
        return answer
