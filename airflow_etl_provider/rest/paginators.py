"""Paginators: one contract, one small class per pagination style, chosen by name.

The client drives every paginator the same way (the dlt contract):

    paginator.init_request(request)            # before the first page
    while True:
        response = send(request); data = records(response)
        paginator.update_state(response, data)
        yield data
        if not paginator.has_next_page: break
        paginator.update_request(request)

A paginator stops on an empty page, a short page (fewer records than the page size), a
false `has_more`, or when the next token/link is null or empty. A path it was configured
with (`cursor_path`, `has_more_path`, `done_path`, `next_url_path`, `total_path`) that is not in a page
with records raises `PaginationError`: a wrong path would otherwise end paging after page
one, quietly short of the data. A token or link seen twice raises `PaginationError` instead
of looping forever. The client adds the connection, the page number and the URL.

Each class declares the connection settings it reads (`settings`, JSON Schema fragments);
the `rest_api` connection form is assembled from them. A plugin adds a style with
`@register_paginator` on a `BasePaginator` subclass (see docs/rest_api.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, cast
from urllib.parse import urljoin

import requests

from airflow_etl_provider.exceptions import PaginationError
from airflow_etl_provider.rest.records import MISSING, lookup
from airflow_etl_provider.rest.strategies import SettingSpec, StrategyRegistry, constructor_parameters


def _params(request: requests.Request) -> dict[str, Any]:
    """The request's query parameters: the client always builds requests with a dict of them."""
    return cast("dict[str, Any]", request.params)


class BasePaginator(ABC):
    """Contract shared by every paginator."""

    name: ClassVar[str]
    #: The connection settings this paginator reads: name -> JSON Schema; each must be a
    #: constructor keyword. Shared names must be declared alike (see `StrategyRegistry`).
    settings: ClassVar[dict[str, SettingSpec]] = {}

    @classmethod
    def from_config(cls, settings: dict[str, Any]) -> BasePaginator:
        """Build from plain settings: the constructor keywords among them, unset (None) ones left out."""
        accepted = constructor_parameters(cls)
        return cls(**{k: v for k, v in settings.items() if k in accepted and v is not None})

    def __init__(self) -> None:
        self._has_next_page = True
        self._seen_tokens: set[str] = set()

    @property
    def has_next_page(self) -> bool:
        return self._has_next_page

    def init_request(self, request: requests.Request) -> None:  # noqa: B027 (optional hook, not abstract)
        """Prepare the first request (e.g. add `limit`); most paginators leave it as is."""

    @abstractmethod
    def update_state(self, response: requests.Response, data: list[Any] | None = None) -> None:
        """Read the next-page reference from a response (and its records) or decide to stop."""

    @abstractmethod
    def update_request(self, request: requests.Request) -> None:
        """Turn `request` into the request for the next page."""

    def _stop(self) -> None:
        self._has_next_page = False

    def _require(self, document: Any, path: str, setting: str, where: str = "the response body") -> Any:
        """The value at `path` in a page that had records; its absence is a setting that does not fit."""
        value = lookup(document, path)
        if value is MISSING:
            raise PaginationError(
                f"{self.name} pagination: {setting} {path!r} is not in {where}, though the page had records; "
                f"fix {setting} (paging cannot tell whether more pages follow)"
            )
        return value

    def _flag(self, body: Any, path: str, setting: str) -> bool:
        flag = self._require(body, path, setting)
        if not isinstance(flag, bool):
            raise PaginationError(
                f"{self.name} pagination: {setting} {path!r} holds {type(flag).__name__} {flag!r}, not true/false"
            )
        return flag

    def _more_follow(self, body: Any, has_more_path: str, done_path: str) -> bool | None:
        """What the body's own flag says: `has_more_path` true (Stripe's has_more) or `done_path`
        false (Salesforce's done) means more pages; None when neither is configured."""
        if has_more_path:
            return self._flag(body, has_more_path, "has_more_path")
        if done_path:
            return not self._flag(body, done_path, "done_path")
        return None

    def _remember(self, token: str) -> None:
        """Refuse a token or link already followed: the API is sending us round in circles."""
        if token in self._seen_tokens:
            raise PaginationError(
                f"{self.name} pagination received the same next-page reference twice "
                f"(after {len(self._seen_tokens)} pages); stopping instead of looping forever. "
                "Check the paginator settings (cursor_path / next_url_path) for this endpoint."
            )
        self._seen_tokens.add(token)


class SinglePagePaginator(BasePaginator):
    """The endpoint returns everything at once."""

    name = "single_page"

    def update_state(self, response: requests.Response, data: list[Any] | None = None) -> None:
        self._stop()

    def update_request(self, request: requests.Request) -> None:
        """Never called: there is no next page."""


_PAGE_SIZE: SettingSpec = {
    "type": "integer",
    "minimum": 1,
    "title": "Page size",
    "description": "Records per page (the offset limit, the page-number page size); a shorter page ends paging.",
}
_TOTAL_PATH: SettingSpec = {
    "type": "string",
    "default": "",
    "title": "Total path",
    "description": "Body path of the total record count (offset) or total pages (page number).",
}
_MORE_FLAGS: dict[str, SettingSpec] = {
    "has_more_path": {
        "type": "string",
        "default": "",
        "title": "Has-more path",
        "description": "Body path of a true/false flag that is true while more pages follow, e.g. has_more.",
    },
    "done_path": {
        "type": "string",
        "default": "",
        "title": "Done path",
        "description": "Body path of a true/false flag that is true on the last page, e.g. done.",
    },
}


class _CountingPaginator(BasePaginator):
    """Shared stop rules of offset and page-number paging: empty page, short page, total."""

    def __init__(self, page_size: int | None, total_path: str) -> None:
        super().__init__()
        if page_size is not None and page_size < 1:
            raise ValueError(f"{self.name}: page_size must be >= 1, not {page_size}")
        self.page_size = page_size
        self.total_path = total_path

    def _total(self, response: requests.Response, data: list[Any] | None) -> int | None:
        if not self.total_path or not data:
            return None
        value = self._require(response.json(), self.total_path, "total_path")
        if value is None:
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise PaginationError(
                f"{self.name}: total_path {self.total_path!r} holds {type(value).__name__}, not a number"
            ) from None

    def _page_says_stop(self, data: list[Any] | None) -> bool:
        if not data:
            return True
        return self.page_size is not None and len(data) < self.page_size


class OffsetPaginator(_CountingPaginator):
    """`?offset=N&limit=M`; optional total count in the body (`total_path`)."""

    name = "offset"
    settings: ClassVar[dict[str, SettingSpec]] = {
        "page_size": _PAGE_SIZE,
        "offset_param": {"type": "string", "default": "offset", "title": "Offset parameter"},
        "limit_param": {"type": "string", "default": "limit", "title": "Limit parameter"},
        "total_path": _TOTAL_PATH,
    }

    def __init__(
        self,
        page_size: int = 100,
        offset_param: str = "offset",
        limit_param: str = "limit",
        total_path: str = "",
        start_offset: int = 0,
    ) -> None:
        super().__init__(page_size, total_path)
        if not offset_param or not limit_param:
            raise ValueError("offset: offset_param and limit_param must be non-empty")
        self.offset_param = offset_param
        self.limit_param = limit_param
        self.offset = start_offset

    def init_request(self, request: requests.Request) -> None:  # noqa: B027 (optional hook, not abstract)
        _params(request)[self.offset_param] = self.offset
        _params(request)[self.limit_param] = self.page_size

    def update_state(self, response: requests.Response, data: list[Any] | None = None) -> None:
        total = self._total(response, data)
        self.offset += len(data or [])
        if self._page_says_stop(data) or (total is not None and self.offset >= total):
            self._stop()

    def update_request(self, request: requests.Request) -> None:
        _params(request)[self.offset_param] = self.offset


class PageNumberPaginator(_CountingPaginator):
    """`?page=N` (optionally with a page size); optional total pages in the body."""

    name = "page_number"
    settings: ClassVar[dict[str, SettingSpec]] = {
        "page_size": _PAGE_SIZE,
        "page_param": {"type": "string", "default": "page", "title": "Page parameter"},
        "page_size_param": {
            "type": "string",
            "default": "",
            "title": "Page size parameter",
            "description": "Query parameter carrying page_size for page-number paging (empty: not sent).",
        },
        "base_page": {"type": "integer", "default": 1, "title": "First page number"},
        "total_path": _TOTAL_PATH,
    }

    def __init__(
        self,
        page_param: str = "page",
        base_page: int = 1,
        page_size: int | None = None,
        page_size_param: str = "",
        total_path: str = "",
    ) -> None:
        super().__init__(page_size, total_path)
        if page_size_param and page_size is None:
            raise ValueError("page_number: page_size_param is set but page_size is not")
        self.page_param = page_param
        self.page_size_param = page_size_param
        self.base_page = base_page
        self.page = base_page

    def init_request(self, request: requests.Request) -> None:  # noqa: B027 (optional hook, not abstract)
        _params(request)[self.page_param] = self.page
        if self.page_size_param:
            _params(request)[self.page_size_param] = self.page_size

    def update_state(self, response: requests.Response, data: list[Any] | None = None) -> None:
        total_pages = self._total(response, data)
        self.page += 1
        if self._page_says_stop(data) or (total_pages is not None and self.page - self.base_page >= total_pages):
            self._stop()

    def update_request(self, request: requests.Request) -> None:
        _params(request)[self.page_param] = self.page


class CursorPaginator(BasePaginator):
    """A cursor sent back as a query parameter, read from the body or from the page's last record.

    `cursor_from="body"`: `cursor_path` is a body path (`meta.next_cursor`); a null or empty
    cursor ends paging. `cursor_from="last_record"`: `cursor_path` is a field of the page's
    last record (Stripe's `starting_after=<id>`). `has_more_path` (a body path holding
    true/false, Stripe's `has_more`) decides whether another page follows; without it the
    last-record cursor pages until an empty page.
    """

    name = "cursor"
    CURSOR_SOURCES = ("body", "last_record")
    settings: ClassVar[dict[str, SettingSpec]] = {
        "cursor_from": {
            "type": "string",
            "enum": list(CURSOR_SOURCES),
            "default": "body",
            "title": "Cursor taken from",
            "description": "body: the cursor path is a path in the response body; last_record: it is a field of "
            "the page's last record, e.g. id for Stripe's starting_after.",
        },
        "cursor_path": {
            "type": "string",
            "default": "next_cursor",
            "title": "Cursor path",
            "description": "Where the next cursor is: a body path such as meta.next_cursor, or a record field "
            "such as id when the cursor is taken from the last record.",
        },
        "cursor_param": {"type": "string", "default": "cursor", "title": "Cursor parameter"},
        **_MORE_FLAGS,
    }

    def __init__(
        self,
        cursor_path: str = "next_cursor",
        cursor_param: str = "cursor",
        cursor_from: str = "body",
        has_more_path: str = "",
        done_path: str = "",
    ) -> None:
        super().__init__()
        if not cursor_path or not cursor_param:
            raise ValueError("cursor: cursor_path and cursor_param must be non-empty")
        if cursor_from not in self.CURSOR_SOURCES:
            known = ", ".join(self.CURSOR_SOURCES)
            raise ValueError(f"cursor: cursor_from must be one of {known}, not {cursor_from!r}")
        self.cursor_path = cursor_path
        self.cursor_param = cursor_param
        self.cursor_from = cursor_from
        self.has_more_path = has_more_path
        self.done_path = done_path
        self.cursor: str | None = None

    def update_state(self, response: requests.Response, data: list[Any] | None = None) -> None:
        if not data:
            self._stop()
            return
        body = response.json()
        more = self._more_follow(body, self.has_more_path, self.done_path)
        if self.cursor_from == "last_record":
            cursor = self._require(data[-1], self.cursor_path, "cursor_path", "the last record of the page")
        else:
            cursor = self._require(body, self.cursor_path, "cursor_path")
        if more is False:
            self._stop()
            return
        if cursor in (None, ""):
            if more or self.cursor_from == "last_record":
                raise PaginationError(
                    f"cursor pagination: more pages follow but cursor_path {self.cursor_path!r} holds "
                    f"{cursor!r}, so the next page cannot be requested"
                )
            self._stop()
            return
        self.cursor = str(cursor)
        self._remember(self.cursor)

    def update_request(self, request: requests.Request) -> None:
        _params(request)[self.cursor_param] = self.cursor


class _LinkPaginator(BasePaginator):
    """Follows a full next-page URL; the URL carries every query parameter itself."""

    def __init__(self) -> None:
        super().__init__()
        self.next_url: str | None = None

    @abstractmethod
    def _next_link(self, response: requests.Response) -> str | None:
        """The next page's URL as the API gives it (possibly relative), or None."""

    def update_state(self, response: requests.Response, data: list[Any] | None = None) -> None:
        link = self._next_link(response) if data else None
        if not link:
            self._stop()
            return
        self.next_url = urljoin(response.url, link)
        self._remember(self.next_url)

    def update_request(self, request: requests.Request) -> None:
        request.url = self.next_url
        request.params = {}


class HeaderLinkPaginator(_LinkPaginator):
    """RFC 8288 `Link: <...>; rel="next"` header (GitHub style)."""

    name = "header_link"

    def __init__(self, links_next_key: str = "next") -> None:
        super().__init__()
        self.links_next_key = links_next_key

    def _next_link(self, response: requests.Response) -> str | None:
        return response.links.get(self.links_next_key, {}).get("url")


class JSONLinkPaginator(_LinkPaginator):
    """The next page's URL in the body (`next_url_path`, e.g. `links.next` or `next`).

    An API that leaves the link out of its last page says so with a flag: `has_more_path`
    or `done_path` (Salesforce's `done`); the link is then only required when more follow.
    """

    name = "json_link"
    settings: ClassVar[dict[str, SettingSpec]] = {
        "next_url_path": {
            "type": "string",
            "default": "next",
            "title": "Next URL path",
            "description": "Body path of the next page's URL, e.g. links.next.",
        },
        **_MORE_FLAGS,
    }

    def __init__(self, next_url_path: str = "next", has_more_path: str = "", done_path: str = "") -> None:
        super().__init__()
        if not next_url_path:
            raise ValueError("json_link: next_url_path must be non-empty")
        self.next_url_path = next_url_path
        self.has_more_path = has_more_path
        self.done_path = done_path

    def _next_link(self, response: requests.Response) -> str | None:
        body = response.json()
        more = self._more_follow(body, self.has_more_path, self.done_path)
        if more is False:
            return None
        link = self._require(body, self.next_url_path, "next_url_path")
        if more and not link:
            raise PaginationError(
                f"json_link pagination: more pages follow but next_url_path {self.next_url_path!r} holds {link!r}"
            )
        return str(link) if link else None


_REGISTRY: StrategyRegistry[type[BasePaginator]] = StrategyRegistry(
    "paginator", BasePaginator, accepts=constructor_parameters, known_label="known paginators"
)
#: The registered paginators by name (live: plugins registered later appear here too).
PAGINATORS: dict[str, type[BasePaginator]] = _REGISTRY.classes


def register_paginator(cls: type[BasePaginator]) -> type[BasePaginator]:
    """Make a paginator usable by name (`paginator` in a connection or an extract option).

    A class decorator; refused with the reason when the name is taken or a setting clashes
    with another paginator's declaration of it.
    """
    return _REGISTRY.register(cls)


def unregister_paginator(name: str) -> None:
    """Forget the paginator called `name` (for a plugin's tests)."""
    _REGISTRY.unregister(name)


for _builtin in (
    SinglePagePaginator,
    OffsetPaginator,
    PageNumberPaginator,
    CursorPaginator,
    HeaderLinkPaginator,
    JSONLinkPaginator,
):
    register_paginator(_builtin)


def paginator_settings_schema() -> dict[str, SettingSpec]:
    """The settings of every registered paginator, for the flat connection form."""
    return _REGISTRY.settings_schema()


def paginator_parameters(name: str) -> set[str]:
    """The settings the paginator called `name` accepts (its constructor's keyword names)."""
    return constructor_parameters(_REGISTRY.get(name))


def create_paginator(settings: dict[str, Any]) -> BasePaginator:
    """Build a paginator from plain settings: `{"type": name, **its settings}`.

    Settings meant for other paginators are ignored, so one flat connection form can carry
    the settings of every style; a setting no registered paginator takes is refused (a typo
    would otherwise be ignored quietly). A wrong value raises ValueError naming the paginator.
    """
    name = settings.get("type") or "single_page"
    cls = _REGISTRY.get(name)
    known = set().union(*(constructor_parameters(c) for c in PAGINATORS.values()))
    unknown = sorted(set(settings) - known - {"type"})
    if unknown:
        raise ValueError(
            f"{name} pagination: unknown setting(s) {', '.join(unknown)}; "
            f"{name} takes: {', '.join(sorted(constructor_parameters(cls))) or 'no settings'}"
        )
    return cls.from_config(settings)
