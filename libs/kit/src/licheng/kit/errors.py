"""Typed errors that carry their HTTP status, and the one handler that renders them.

Every error body is `{"error": code, "message": zh-TW text, "detail": ...}`; `error` is a
stable code clients may branch on, `message` is for people.
"""

from __future__ import annotations

import traceback
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from licheng.kit.safe_errors import constraint_of, safe_message, safe_traceback

log = structlog.get_logger("licheng.errors")


class AppError(Exception):
    """Base of every error a service raises on purpose."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    default_message: ClassVar[str] = "請求無法處理"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        detail: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.error_code = code or self.code
        self.detail = detail
        self.headers = headers
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        """The JSON body clients receive."""
        return {"error": self.error_code, "message": self.message, "detail": self.detail}


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"
    default_message = "請求內容有誤"


class InvalidRows(AppError):
    """An import with problems; `detail` lists every one as {sheet, row, column, code, message}."""

    status_code = 422
    code = "invalid_rows"
    default_message = "匯入資料有誤，未寫入任何資料"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"
    default_message = "請先登入"

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    default_message = "您沒有執行此操作的權限"


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    default_message = "找不到指定的資料"


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    default_message = "資料已被變更，請重新整理後再試"


class WindowClosed(Conflict):
    code = "window_closed"
    default_message = "目前不在開放期間內"


class QuotaExceeded(Conflict):
    code = "quota_exceeded"
    default_message = "已超過可提交的數量上限"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    default_message = "上傳內容超過大小上限"


class FileTooLarge(PayloadTooLarge):
    code = "file_too_large"
    default_message = "檔案超過大小上限"


class UnsupportedFileType(AppError):
    status_code = 415
    code = "file_type_not_allowed"
    default_message = "不接受此檔案類型"


class FileTypeMismatch(UnsupportedFileType):
    code = "file_type_mismatch"
    default_message = "檔案內容與副檔名不符"


class Locked(AppError):
    status_code = 423
    code = "locked"
    default_message = "資料已鎖定，無法再修改"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    default_message = "服務暫時無法使用，請稍後再試"


# How long a client should wait before trying a 503 again, in seconds (`Retry-After`).
RETRY_AFTER_BUSY = "2"
RETRY_AFTER_DOWN = "5"


class DatabaseUnavailable(ServiceUnavailable):
    """The database could not be reached (refused, dropped, timed out) while answering."""

    code = "database_unavailable"
    default_message = "資料庫暫時無法連線，請稍後再試"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": RETRY_AFTER_DOWN})


class StorageUnavailable(ServiceUnavailable):
    """The object store did not take an upload (unreachable, timed out, or refused it)."""

    code = "storage_unavailable"
    default_message = "檔案儲存服務暫時無法使用，請稍後再試"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": RETRY_AFTER_DOWN})


_HTTP_CODES: dict[int, tuple[str, str]] = {
    401: ("unauthorized", "請先登入"),
    403: ("forbidden", "您沒有執行此操作的權限"),
    404: ("not_found", "找不到指定的資源"),
    405: ("method_not_allowed", "不支援此請求方法"),
    413: ("payload_too_large", "上傳內容超過大小上限"),
    429: ("rate_limited", "請求過於頻繁，請稍後再試"),
}


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    if exc.status_code >= 500:
        log.warning("request.failed", error=exc.error_code, path=request.url.path)
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)


# zh-TW wording of pydantic's error types that people meet; others fall back to a generic text.
_FIELD_PROBLEMS: dict[str, str] = {
    "missing": "為必填",
    "timezone_aware": "須包含時區（例如 2026-09-01T08:00:00+08:00）",
    "datetime_parsing": "不是有效的日期時間（ISO 8601，須含時區）",
    "datetime_from_date_parsing": "不是有效的日期時間（ISO 8601，須含時區）",
    "date_parsing": "不是有效的日期",
    "date_from_datetime_parsing": "不是有效的日期",
    "int_parsing": "須為整數",
    "uuid_parsing": "不是有效的識別碼",
    "string_too_long": "過長",
    "string_too_short": "過短",
    "greater_than_equal": "數值過小",
    "less_than_equal": "數值過大",
    "enum": "不是允許的選項",
    "json_invalid": "不是有效的 JSON",
    "extra_forbidden": "不是可接受的欄位",
}


def _field_name(loc: tuple[Any, ...]) -> str:
    # ("body", "publish_from") -> "publish_from"; ("query", "since") -> "since"
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts) or "請求內容"


# The prefixes pydantic puts before the text of a ValueError / AssertionError a validator raised.
_RAISED_PREFIXES = ("Value error, ", "Assertion failed, ")


def _own_message(kind: str, msg: object) -> str | None:
    """A validator's own zh-TW text for an error type we have no wording of, else None.

    Our validators raise `PydanticCustomError("<code>", "<zh-TW text>")` (or a ValueError with
    zh-TW text); pydantic's own messages and any other plain-English text stay behind the
    generic wording.
    """
    if kind in _FIELD_PROBLEMS or not isinstance(msg, str):
        return None
    text = msg
    for prefix in _RAISED_PREFIXES:
        text = text.removeprefix(prefix)
    text = text.strip()
    if not text or text.isascii():
        return None
    return text


def _problem_of(loc: tuple[Any, ...], kind: str, msg: object) -> tuple[str, str]:
    """The field an error is about, and the zh-TW sentence naming it."""
    field = _field_name(loc)
    own = _own_message(kind, msg)
    if own is None:
        return field, f"{field} {_FIELD_PROBLEMS.get(kind, '格式不正確')}"
    # A model-level error has no field: its own text is the whole sentence.
    return field, (f"{own}（{field}）" if len(loc) > 1 else own)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = []
    problems = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        kind = str(err.get("type"))
        field, problem = _problem_of(loc, kind, err.get("msg"))
        detail.append(
            {
                "loc": list(loc),
                "field": field,
                "type": kind,
                "msg": err.get("msg"),
                "message": problem,
            }
        )
        problems.append(problem)
    message = "請求格式不正確"
    if problems:
        message += "：" + "；".join(dict.fromkeys(problems))
    body = {"error": "request_invalid", "message": message, "detail": detail}
    return JSONResponse(body, status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, message = _HTTP_CODES.get(exc.status_code, ("http_error", "請求無法處理"))
    body = {"error": code, "message": message, "detail": None}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


# Where a bare OSError / TimeoutError was raised tells whether the database is what failed: a
# refused or timed-out connect surfaces from asyncpg (or aiosqlite) unwrapped by SQLAlchemy.
_DATABASE_MODULES = ("asyncpg", "aiosqlite", "sqlalchemy")


def _raised_by_database_driver(exc: BaseException) -> bool:
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        module = str(frame.f_globals.get("__name__", ""))
        if module.split(".", 1)[0] in _DATABASE_MODULES:
            return True
    return False


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database could not be reached (not a bug in a statement)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated)
    return isinstance(exc, OSError | TimeoutError) and _raised_by_database_driver(exc)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # A unique or foreign-key violation that a service did not check for first is a race
    # (two identical writes at once) or a clash with existing data: a conflict, never a crash.
    log.warning(
        "request.conflict",
        path=request.url.path,
        exc_type=type(exc).__name__,
        constraint=constraint_of(exc),
    )
    body = {
        "error": "conflict",
        "message": "資料與現有資料衝突（可能是同時送出的重複要求），請重新整理後再試",
        "detail": None,
    }
    return JSONResponse(body, status_code=409)


async def _stale_data(request: Request, exc: Exception) -> JSONResponse:
    # A versioned row changed between our read and our conditional UPDATE: the other writer won.
    log.info("request.version_conflict", path=request.url.path)
    body = {
        "error": "version_conflict",
        "message": "資料已被其他人修改，請重新整理後再試",
        "detail": None,
    }
    return JSONResponse(body, status_code=409)


async def _pool_timeout(request: Request, exc: Exception) -> JSONResponse:
    # Every pooled connection stayed busy for the whole pool timeout: a rush, not an outage.
    log.warning("request.database_busy", path=request.url.path)
    busy = ServiceUnavailable("目前使用人數眾多，請稍候幾秒再試", code="database_busy")
    return JSONResponse(busy.body(), status_code=503, headers={"Retry-After": RETRY_AFTER_BUSY})


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    # The database (or another dependency's connection) went away mid-request: expected
    # weather during an outage, answered 503 with Retry-After and logged as a warning. Handled
    # here, by class, so it never reaches the server-error middleware (which would log it as a
    # crash and re-raise it).
    if database_unavailable(exc):
        log.warning("request.database_unavailable", path=request.url.path,
                    exc_type=type(exc).__name__)  # fmt: skip
        unavailable: AppError = DatabaseUnavailable()
    elif isinstance(exc, OSError | TimeoutError):
        log.warning("request.unavailable", path=request.url.path, error=safe_message(exc))
        unavailable = ServiceUnavailable(headers={"Retry-After": RETRY_AFTER_DOWN})
    else:  # any other database error is a bug
        return await _unexpected_error(request, exc)
    return JSONResponse(unavailable.body(), status_code=503, headers=unavailable.headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    if database_unavailable(exc) or isinstance(exc, OSError | TimeoutError):
        return await _unavailable(request, exc)
    # The traceback goes to the log only, without a database error's message (it may hold
    # the failed statement's values: names, 學號).
    log.error(
        "request.crashed",
        path=request.url.path,
        exc_type=type(exc).__name__,
        exception=safe_traceback(exc),
    )
    body = {"error": "internal_error", "message": "系統發生錯誤，請稍後再試", "detail": None}
    return JSONResponse(body, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Render every error as the one JSON body."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(StaleDataError, _stale_data)
    app.add_exception_handler(PoolTimeout, _pool_timeout)
    for unavailable in (DBAPIError, OSError, TimeoutError):
        app.add_exception_handler(unavailable, _unavailable)
    app.add_exception_handler(Exception, _unexpected_error)


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: str
    message: str
    detail: Any = None


# The error answers API endpoints give, with the stable codes clients meet under each status.
_ERRORS: dict[int, str] = {
    400: "請求內容有誤（bad_request, if_match_invalid, file_unreadable, too_many_rows, …）",
    401: "未登入或權杖無效（unauthorized）",
    403: "沒有權限（forbidden 與各功能的 *_only）",
    404: "找不到資料或學校（not_found, school_not_found, …）",
    409: "與現有資料衝突（conflict, version_conflict, window_closed, quota_exceeded, …）",
    413: "檔案或活頁簿過大（file_too_large, workbook_too_large）",
    415: "檔案類型不符（file_type_not_allowed, file_type_mismatch）",
    422: "請求格式不正確（request_invalid）或匯入資料有誤（invalid_rows）",
    423: "資料已提交鎖定（term_locked）",
    503: "服務、資料庫或檔案儲存暫時無法使用（service_unavailable, database_busy,"
    " database_unavailable, storage_unavailable；附 Retry-After）",
}
COMMON_ERRORS = (400, 401, 403, 404, 409, 422, 503)


def error_responses(*extra: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for a router or route: the common errors plus `extra` statuses."""
    return {
        status: {"model": ErrorBody, "description": _ERRORS[status]}
        for status in sorted({*COMMON_ERRORS, *extra})
    }
