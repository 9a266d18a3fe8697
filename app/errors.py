"""One error type carrying its HTTP status, rendered by one handler."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Self, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException
from starlette.routing import Match


class Term(str):
    """A word of a vocabulary (a status, a role, a step state...) inside a message: the
    console shows it through its `label`, in the reader's language."""


@dataclass(frozen=True)
class Text:
    """A message with its parameters: the msgid (with `%(name)s` placeholders) is what the
    console's catalog translates; `str()` is the English the API answers."""

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return english(self.msgid, self.params)


def english(msgid: str, params: Mapping[str, object]) -> str:
    if not params:
        return msgid
    return msgid % {name: _plain(value) for name, value in params.items()}


def separator(items: Sequence[object]) -> str:
    """Messages in a list are parted by semicolons, words by commas."""
    return "; " if any(isinstance(item, Text) for item in items) else ", "


def _plain(value: object) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return separator(value).join(_plain(item) for item in value)
    return str(value)


class AppError(Exception):
    """A refusal in words. The message is a msgid of the console catalog (never an
    f-string: the values go in `params`, named by its `%(name)s` placeholders), so the
    console can show it in the reader's language while the API's `detail` stays English."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, code: str | None = None, status: int | None = None, **params: object
    ):
        self.msgid = message
        self.params = params
        self.message = english(message, params)
        super().__init__(self.message)
        if code is not None:
            self.code = code
        if status is not None:
            self.status_code = status

    @classmethod
    def saying(cls, text: Text) -> Self:
        """The refusal that says `text` (a message built before it was known to be one)."""
        error = cls(text.msgid)
        error.params = dict(text.params)
        error.message = str(text)
        error.args = (error.message,)
        return error


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class TooManyRequests(AppError):
    status_code = 429
    code = "too_many_requests"


class ErrorBody(BaseModel):
    """Every error the API answers (other than a refused request's field list)."""

    error: str = Field(description="a stable code, e.g. not_found, conflict, too_large")
    detail: str = Field(description="what went wrong, in words")


class Problem(BaseModel):
    field: str = Field(description="the field at fault (dotted path; empty for the body)")
    problem: str


class InvalidBody(ErrorBody):
    """422: the request does not have the shape or values the operation takes."""

    problems: list[Problem] | None = Field(
        None, description="the fields at fault, when the body or a parameter has the wrong shape"
    )


_MEANINGS: dict[int, str] = {
    400: "Bad request: a value the schema cannot express a rule for (a range with one end, "
    "a password too short...) or a body that is not JSON",
    401: "No API token, or an unknown or revoked one",
    403: "The caller's role may not do this to a case it can see (webhooks: the signature "
    "is missing or wrong)",
    404: "No such thing, or one the caller may not see (the same answer)",
    409: "Conflicts with the current state (already linked, stale version, steps unanswered...)",
    413: "The body is over this path's limit; it was not read",
    422: "The request does not have the operation's shape (`problems` names the fields), or a "
    "value breaks a rule of the case it is for (a worker text too long for one SMS...)",
    429: "Too many requests from this client or for this account; wait and try again",
    500: "Some entries of the batch could not be stored; the provider delivers it again",
    503: "The provider's credentials are not configured on this service",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for these error codes, with the bodies really answered."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {
            "model": InvalidBody if code == 422 else ErrorBody,
            "description": _MEANINGS[code],
        }
        if code == 401:
            entry["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        out[code] = entry
    return out


# What any /api/v1 operation can answer besides its own success: the token check (401),
# the scoped lookups (404), the role checks (403), the body limit (413), validation (422),
# and the rules of the services (400, 409, 429).
API_ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 429)
# A provider webhook: a malformed request (400), a missing or wrong signature (403), a body
# over the provider's limit (413), credentials not configured (503).
WEBHOOK_ERRORS = error_responses(400, 403, 413, 503)


# Starlette's own refusals (no route, a method the path does not take, a body that does not
# parse) get the same body as ours, under a code named for the status.
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route takes at this path: Starlette's own answer names only the
    first route that matches the path, while several routes can share it. Each method is
    tried against the routes as the router itself would (routers nest)."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    )


def http_problem(request: Request, exc: HTTPException) -> JSONResponse:
    """Starlette's own refusal (no route, a method the path does not take...) as our body."""
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    code = _HTTP_CODES.get(exc.status_code, "error")
    return JSONResponse(
        {"error": code, "detail": str(exc.detail)},
        status_code=exc.status_code,
        headers=headers or None,
    )


def install_error_handler(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def _render_http(request: Request, exc: HTTPException) -> JSONResponse:
        return http_problem(request, exc)

    @app.exception_handler(DataError)
    async def _unstorable(_request: Request, _exc: DataError) -> JSONResponse:
        # The database refused a value the schema let through: a NUL character (PostgreSQL
        # text cannot hold one), a number out of the column's range. Bad input, so a 422,
        # and the request's transaction is rolled back; the message could quote the value,
        # so it is not repeated.
        return JSONResponse(
            {
                "error": "invalid_value",
                "detail": "a value cannot be stored or searched for (a NUL character, a "
                "number out of range...)",
            },
            status_code=422,
        )

    @app.exception_handler(AppError)
    async def _render(_request: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(
            {"error": exc.code, "detail": exc.message},
            status_code=exc.status_code,
            headers=headers,
        )


# The words a console form's fields are called by in a refusal (a field not named here is
# called by its own name).
FIELD_NAMES: dict[str, Text] = {
    "body": Text("message"),
    "reason": Text("reason"),
    "summary": Text("summary"),
    "worker_text": Text("text for the worker"),
    "detail": Text("details"),
    "explanation": Text("explanation"),
    "closure_reason": Text("closing reason"),
    "ack_days": Text("days to acknowledge"),
    "feedback_days": Text("days to give feedback"),
    "reassign_after_days": Text("days before reassignment"),
    "reopen_days": Text("days to reopen"),
    "retention_days": Text("days to keep"),
    "name": Text("name"),
    "email": Text("e-mail"),
}


def invalid_input(exc: ValidationError) -> AppError:
    """A command a form could not fill (the API answers the same refusal as its 422 field
    list): the first problem, in the words of the form."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "the form"
    label = where.replace("_", " ")
    ctx = err.get("ctx") or {}
    kind = err["type"]
    field: Term | Text = FIELD_NAMES.get(where) or Term(label)
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return AppError("fill in the %(field)s", status=422, code="invalid_request", field=field)
    if kind == "string_too_long":
        return AppError(
            "the %(field)s is longer than %(limit)s characters",
            status=422,
            code="invalid_request",
            field=field,
            limit=ctx.get("max_length"),
        )
    if kind == "greater_than_equal":
        return AppError(
            "the %(field)s must be at least %(limit)s",
            status=422,
            code="invalid_request",
            field=field,
            limit=ctx.get("ge"),
        )
    if kind == "less_than_equal":
        return AppError(
            "the %(field)s must be at most %(limit)s",
            status=422,
            code="invalid_request",
            field=field,
            limit=ctx.get("le"),
        )
    if kind == "literal_error":
        return AppError(
            "choose the %(field)s: %(choices)s",
            status=422,
            code="invalid_request",
            field=field,
            choices=ctx.get("expected"),
        )
    return AppError(
        "the %(field)s is not valid: %(reason)s",
        status=422,
        code="invalid_request",
        field=field,
        reason=err["msg"],
    )


M = TypeVar("M", bound=BaseModel)


def command(model: type[M], **fields: object) -> M:
    """The API's command built from a form's fields; refused as the API refuses it."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise invalid_input(exc) from None
