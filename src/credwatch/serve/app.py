"""The ASGI application of ``credwatch serve`` (FastAPI), built from its dependencies.

Endpoints:

* ``GET /range/{prefix}[?mode=ntlm]``: the Pwned Passwords range API (:mod:`.range`).
* ``POST /v1/check`` (bearer token): is this address / pair / password exposed?
* ``POST /v1/policy?command=allow|report`` (bearer token): the Dovecot auth-policy
  endpoint (:mod:`.policy`); ``POST /v1/policy/flags`` sets a flag by hand.
* ``GET /healthz``, ``GET /metrics`` (Prometheus), ``GET /openapi.json``.

Nothing here logs a prefix, an address or a password, and error answers never echo a
request body.

Example:
    >>> app = create_app(ServeDeps(...))          # doctest: +SKIP
    >>> uvicorn.run(app, access_log=False)        # doctest: +SKIP
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from credwatch import __version__
from credwatch.errors import ExternalServiceError
from credwatch.serve.check import CheckService, CheckUnavailableError, InvalidEmailError
from credwatch.serve.corpus_provider import CorpusProvider
from credwatch.serve.metrics import CONTENT_TYPE_LATEST, Metrics
from credwatch.serve.policy import PolicyEngine
from credwatch.serve.range import RangeService
from credwatch.serve.settings import ServeSettings

__all__ = ["HeaderLimit", "RangeFastPath", "ServeDeps", "create_app", "create_server_app"]

MAX_BODY_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_PASSWORD_CHARS = 1024
MAX_EMAIL_CHARS = 320
_GET_HEAD = frozenset(("GET", "HEAD"))

_CHECK_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["password"],
                    "additionalProperties": False,
                    "properties": {
                        "email": {
                            "anyOf": [
                                {"type": "string", "maxLength": MAX_EMAIL_CHARS},
                                {"type": "null"},
                            ]
                        },
                        "password": {"type": "string", "maxLength": MAX_PASSWORD_CHARS},
                    },
                }
            }
        },
    }
}
_POLICY_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "Dovecot's auth_policy_request_attributes "
                    "(login, remote, protocol, pwhash, ...); report adds success and "
                    "policy_reject.",
                    "additionalProperties": True,
                }
            }
        },
    }
}
_FLAG_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["kind", "key"],
                    "additionalProperties": False,
                    "properties": {
                        "kind": {"type": "string", "enum": ["ip", "subnet", "user"]},
                        "key": {"type": "string", "maxLength": MAX_EMAIL_CHARS},
                        "ttl_seconds": {"type": "integer", "minimum": 1, "maximum": 2592000},
                        "rule": {"type": "string", "maxLength": 64},
                    },
                }
            }
        },
    }
}


_BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not valid JSON"},
    401: {"description": "Missing or wrong bearer token"},
    413: {"description": "The body is larger than 64 KiB"},
    422: {"description": "The JSON is not what the endpoint takes"},
    503: {"description": "Could not check (no corpus or index snapshot, or Redis failed)"},
}


@dataclass(slots=True)
class ServeDeps:
    """Everything the app needs, built by :func:`credwatch.serve.runner.build_deps`.

    Attributes:
        settings: the ``[serve]`` settings.
        provider: the served corpus.
        ranges: range rendering and cache.
        checks: the login-time check, or ``None`` without a workspace keyer.
        policy: the Dovecot policy engine.
        metrics: Prometheus metrics.
        clock: wall clock in epoch seconds.
    """

    settings: ServeSettings
    provider: CorpusProvider
    ranges: RangeService
    checks: CheckService | None
    policy: PolicyEngine
    metrics: Metrics = field(default_factory=Metrics)
    clock: Callable[[], float] = time.time


class _BadRequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _authorized(request: Request, token: str | None) -> bool:
    if token is None:
        return False
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), token.encode())


def _unauthorized() -> JSONResponse:
    return JSONResponse(
        {"detail": "missing or wrong bearer token"},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def _json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, bounded in size; never echoed in errors."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise _BadRequestError(413, "request body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BadRequestError(413, "request body too large")
        chunks.append(chunk)
    try:
        document = json.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError):
        raise _BadRequestError(400, "the body is not valid JSON") from None
    if not isinstance(document, dict):
        raise _BadRequestError(422, "the body must be a JSON object")
    return document


def _string_field(document: dict[str, Any], name: str, limit: int, *, required: bool) -> str | None:
    value = document.get(name)
    if value is None:
        if required:
            raise _BadRequestError(422, f"{name} is required")
        return None
    if not isinstance(value, str):
        raise _BadRequestError(422, f"{name} must be a string")
    if len(value) > limit:
        raise _BadRequestError(422, f"{name} is longer than {limit} characters")
    return value


def create_server_app(deps: ServeDeps, *, fast_range: bool = True) -> ASGIApp:
    """The ASGI application ``credwatch serve`` runs: the API behind its front door.

    Args:
        deps: the dependencies.
        fast_range: answer ``/range`` in plain ASGI (:class:`RangeFastPath`) before any
            framework code; ``False`` leaves it to the FastAPI route (same answers, slower;
            the tests compare them).

    Example:
        >>> app = create_server_app(build_deps(ws))                 # doctest: +SKIP
        >>> httpx.AsyncClient(transport=httpx.ASGITransport(app))   # doctest: +SKIP
    """
    api = create_app(deps)
    return HeaderLimit(RangeFastPath(api, deps) if fast_range else api)


def create_app(deps: ServeDeps) -> FastAPI:
    """Build the FastAPI application around its dependencies (nothing global).

    Example:
        >>> app = create_app(deps)                                  # doctest: +SKIP
        >>> httpx.Client(transport=httpx.ASGITransport(app))        # doctest: +SKIP
    """
    app = FastAPI(
        title="credwatch serve",
        version=__version__,
        description="Self-hosted Pwned Passwords range API, login-time exposure check and "
        "Dovecot auth-policy endpoint.",
        docs_url=None,
        redoc_url=None,
        # FastAPI's OpenTelemetry bridge costs a provider look-up per request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    metrics = deps.metrics

    @app.exception_handler(_BadRequestError)
    async def _bad_request(_request: Request, exc: _BadRequestError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default answer echoes the offending input: keep only where and what.
        detail = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
            for err in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(ExternalServiceError)
    async def _external(_request: Request, _exc: ExternalServiceError) -> JSONResponse:
        return JSONResponse({"detail": "a backing service failed"}, status_code=503)

    @app.get(
        "/range/{prefix}",
        response_class=Response,
        responses={
            200: {"content": {"text/plain": {}}, "description": "SUFFIX:COUNT lines"},
            304: {"description": "Not modified"},
            400: {"content": {"text/plain": {}}, "description": "Malformed prefix"},
            503: {"content": {"text/plain": {}}, "description": "No corpus to serve"},
        },
        summary="Pwned Passwords range search",
    )
    async def range_search(  # the documented route; RangeFastPath answers first
        # The schema states the formats; the answer (400, not 422) is RangeService's.
        prefix: str = Path(
            description="The first 5 hex characters of the hash (case-insensitive).",
            json_schema_extra={"pattern": "^[0-9A-Fa-f]{5}$"},
        ),
        mode: str | None = Query(
            None,
            description="sha1 (default) or ntlm",
            json_schema_extra={"enum": ["sha1", "ntlm"]},
        ),
        add_padding: str | None = Header(None, alias="Add-Padding"),
        if_none_match: str | None = Header(None, alias="If-None-Match"),
    ) -> Response:
        started = time.perf_counter()
        answer = deps.ranges.respond(deps.provider.get(), prefix, mode, add_padding, if_none_match)
        metrics.observe("range", answer.status, started)
        return Response(
            answer.body,
            status_code=answer.status,
            headers={k.decode(): v.decode() for k, v in answer.headers},
        )

    @app.post(
        "/v1/check",
        openapi_extra=_CHECK_SCHEMA,
        summary="Is this address, this pair, this password exposed?",
        responses=_BODY_ERRORS,
    )
    async def check(request: Request) -> JSONResponse:
        started = time.perf_counter()
        if not _authorized(request, deps.settings.token):
            metrics.observe("check", 401, started)
            return _unauthorized()
        document = await _json_object(request)
        unknown = set(document) - {"email", "password"}
        if unknown:
            raise _BadRequestError(422, "only email and password are accepted")
        password = _string_field(document, "password", MAX_PASSWORD_CHARS, required=True)
        email = _string_field(document, "email", MAX_EMAIL_CHARS, required=False)
        if deps.checks is None or password is None:
            metrics.observe("check", 503, started)
            return JSONResponse({"detail": "the check is not available"}, status_code=503)
        try:
            answer = deps.checks.check(deps.provider.get(), email=email, password=password)
        except InvalidEmailError:
            metrics.observe("check", 422, started)
            return JSONResponse({"detail": "email is not a valid address"}, status_code=422)
        except CheckUnavailableError as exc:
            metrics.observe("check", 503, started)
            return JSONResponse({"detail": f"could not check: {exc}"}, status_code=503)
        metrics.observe("check", 200, started)
        return JSONResponse(answer.to_json())

    @app.post(
        "/v1/policy",
        openapi_extra=_POLICY_SCHEMA,
        summary="Dovecot auth-policy endpoint (auth_policy_server_url)",
        responses=_BODY_ERRORS,
    )
    async def policy(
        request: Request, command: str = Query(pattern="^(allow|report)$")
    ) -> JSONResponse:
        started = time.perf_counter()
        if not _authorized(request, deps.settings.token):
            metrics.observe("policy", 401, started)
            return _unauthorized()
        attributes = await _json_object(request)
        now = deps.clock()
        if command == "report":
            deps.policy.report(attributes, now)
            metrics.observe("policy", 200, started)
            return JSONResponse({"status": 0, "msg": ""})
        decision = deps.policy.allow(attributes, now)
        result = "allow" if decision.status == 0 else "delay" if decision.status > 0 else "reject"
        metrics.policy_decisions.labels(result).inc()
        metrics.observe("policy", 200, started)
        return JSONResponse(decision.to_json())

    @app.post(
        "/v1/policy/flags",
        openapi_extra=_FLAG_SCHEMA,
        status_code=201,
        summary="Flag an IP, a /24 or /64 subnet, or a user for the policy endpoint",
        responses=_BODY_ERRORS,
    )
    async def set_flag(request: Request) -> JSONResponse:
        if not _authorized(request, deps.settings.token):
            return _unauthorized()
        document = await _json_object(request)
        if set(document) - {"kind", "key", "ttl_seconds", "rule"}:
            raise _BadRequestError(422, "only kind, key, ttl_seconds and rule are accepted")
        kind = document.get("kind")
        key = _string_field(document, "key", MAX_EMAIL_CHARS, required=True)
        rule = _string_field(document, "rule", 64, required=False) or "api"
        ttl = document.get("ttl_seconds", deps.settings.flag_ttl_seconds)
        if kind not in ("ip", "subnet", "user") or key is None:
            raise _BadRequestError(422, "kind must be ip, subnet or user")
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= 2_592_000:
            raise _BadRequestError(422, "ttl_seconds must be an integer from 1 to 2592000")
        try:
            flag = deps.policy.flag(kind, key, ttl, rule, deps.clock())
        except ValueError as exc:
            raise _BadRequestError(422, f"key: {exc}") from None
        shown = flag.key if flag.kind != "user" else "(keyed)"
        return JSONResponse({"kind": flag.kind, "key": shown, "until": flag.until}, 201)

    @app.get("/healthz", summary="Liveness and the served corpus")
    async def healthz() -> JSONResponse:
        corpus = deps.provider.get()
        if corpus is None:
            return JSONResponse({"status": "no_corpus", "generation": None}, status_code=503)
        records = {name: layer.records for name, layer in corpus.layers.items()}
        return JSONResponse(
            {
                "status": "ok",
                "generation": corpus.name,
                "created_at": corpus.created_at.isoformat(),
                "records": records,
            }
        )

    @app.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
        summary="Prometheus metrics",
    )
    async def prometheus() -> Response:
        body = metrics.render(deps.provider.get(), len(deps.provider.refused), deps.clock())
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return app


class HeaderLimit:
    """Refuses requests whose headers exceed :data:`MAX_HEADER_BYTES` with 431.

    uvicorn's httptools parser does not bound header size itself; this keeps oversized
    headers from reaching any handler (a proxy in front should bound them at the socket).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass requests with reasonable headers on; answer 431 to the others."""
        if scope["type"] == "http":
            size = 0
            for name, value in scope["headers"]:
                size += len(name) + len(value)
            if size > MAX_HEADER_BYTES:
                body = b"Request header fields too large"
                await send(
                    {
                        "type": "http.response.start",
                        "status": 431,
                        "headers": [
                            (b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class RangeFastPath:
    """Answers ``GET /range/...`` in plain ASGI, before any framework code.

    The range API is the hot path (thousands of requests per second per core); FastAPI's
    parameter handling costs more than the answer itself.  The answer is the same
    :meth:`RangeService.respond` the documented FastAPI route calls (tests run both).
    """

    def __init__(self, app: ASGIApp, deps: ServeDeps) -> None:
        self.app = app
        self.deps = deps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve range requests; pass everything else to the application."""
        if (
            scope["type"] != "http"
            or not scope["path"].startswith("/range/")
            or scope["method"] not in _GET_HEAD
        ):
            await self.app(scope, receive, send)
            return
        prefix = scope["path"][7:]
        if "/" in prefix:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        mode = None
        query = scope["query_string"]
        if query:
            for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
                if key == "mode":
                    mode = value
        padding = if_none_match = None
        for name, value in scope["headers"]:
            if name == b"add-padding":
                padding = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        deps = self.deps
        answer = deps.ranges.respond(deps.provider.get(), prefix, mode, padding, if_none_match)
        deps.metrics.observe("range", answer.status, started)
        body = answer.body
        headers = answer.headers
        headers.append((b"content-length", b"%d" % len(body)))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        if scope["method"] == "HEAD":
            body = b""
        await send({"type": "http.response.body", "body": body})
