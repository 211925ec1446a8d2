"""Just enough WSGI request/response handling for the hot path.

The sandbox has to answer thousands of sends a second on two cores next to the gateway, so it
skips any framework: a request is the WSGI environ plus a lazily read, lazily parsed body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import parse_qsl

MAX_BODY_BYTES = 64 * 1024 * 1024


class BadRequest(Exception):
    """The body could not be parsed; each provider turns this into its own error shape."""


class Request:
    __slots__ = ("_body", "_params", "environ", "method", "path", "query")

    def __init__(self, environ: Mapping[str, Any]) -> None:
        self.environ = environ
        self.method: str = str(environ.get("REQUEST_METHOD", "GET")).upper()
        # PEP 3333 hands the path over as latin-1 decoded bytes; undo that to get real UTF-8 text.
        raw_path = str(environ.get("PATH_INFO", "/"))
        self.path: str = raw_path.encode("latin-1", "replace").decode("utf-8", "replace")
        query_string = str(environ.get("QUERY_STRING", ""))
        self.query: dict[str, str] = dict(parse_qsl(query_string, keep_blank_values=True)) if query_string else {}
        self._body: bytes | None = None
        self._params: dict[str, Any] | None = None

    def header(self, name: str) -> str:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            return str(self.environ.get(key, ""))
        return str(self.environ.get("HTTP_" + key, ""))

    def headers(self) -> dict[str, str]:
        """All request headers, names lower-cased with dashes (for the recording)."""
        found = {
            key[5:].lower().replace("_", "-"): str(value)
            for key, value in self.environ.items()
            if key.startswith("HTTP_")
        }
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if self.environ.get(key):
                found[key.lower().replace("_", "-")] = str(self.environ[key])
        return found

    @property
    def content_type(self) -> str:
        return self.header("Content-Type").split(";", 1)[0].strip().lower()

    @property
    def body(self) -> bytes:
        if self._body is None:
            stream = self.environ.get("wsgi.input")
            length_text = self.header("Content-Length").strip()
            if stream is None:
                self._body = b""
            elif length_text:
                length = int(length_text) if length_text.isdigit() else 0
                self._body = stream.read(min(length, MAX_BODY_BYTES)) if length > 0 else b""
            elif "chunked" in self.header("Transfer-Encoding").lower():
                self._body = stream.read(MAX_BODY_BYTES)
            else:
                self._body = b""
        return self._body

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError as exc:
            raise BadRequest(f"body is not valid JSON: {exc}") from exc

    def params(self) -> dict[str, Any]:
        """Query parameters overlaid by the body, whether JSON, form-encoded or multipart.

        Telegram accepts all three; the others send JSON. Multipart file parts are replaced by a
        small description (file name and size) so recordings stay small.
        """
        if self._params is None:
            params: dict[str, Any] = dict(self.query)
            params.update(self._body_params())
            self._params = params
        return self._params

    def _body_params(self) -> dict[str, Any]:
        body = self.body
        if not body:
            return {}
        content_type = self.content_type
        if content_type == "application/x-www-form-urlencoded":
            return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if content_type == "multipart/form-data":
            return _multipart(self.header("Content-Type"), body)
        parsed = self.json()
        if not isinstance(parsed, dict):
            raise BadRequest("body must be a JSON object")
        return parsed


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise BadRequest("malformed multipart body")
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = cast(bytes, part.get_payload(decode=True) or b"")  # decode=True: a leaf part's bytes
        filename = part.get_filename()
        if filename:
            fields[str(name)] = {"filename": filename, "size": len(payload)}
        else:
            fields[str(name)] = payload.decode("utf-8", "replace")
    return fields


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, headers: list[tuple[str, str]] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or []

    @property
    def status_line(self) -> str:
        try:
            return f"{self.status} {HTTPStatus(self.status).phrase}"
        except ValueError:
            return f"{self.status} Unknown"


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    all_headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if headers:
        all_headers.extend(headers.items())
    return Response(status, body, all_headers)
