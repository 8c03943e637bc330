"""REST API connector: JSON APIs as sources (paged extract) and destinations (batched POST/PUT).

`RestApiConnectorHook` serves connections of type `rest_api` (its form comes from
`config_schema`); `HttpConnectorHook` serves the `http` connections people already have
(form owned by apache-airflow-providers-http): their extra holds headers, which we honour.
The HTTP mechanics live in `airflow_etl_provider.rest`; this module maps a connection to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit, urlunsplit

import pyarrow as pa
import requests

from airflow_etl_provider.config import COMMON_CONFIG_PROPERTIES, validate_config
from airflow_etl_provider.exceptions import (
    ConnectorConfigError,
    LoadError,
    RestApiError,
    UnsupportedOperationError,
    UntrustedOriginError,
)
from airflow_etl_provider.formats.arrow_types import parse_column_types
from airflow_etl_provider.hooks.base import DEFAULT_CHUNK_SIZE, ConnectorHook
from airflow_etl_provider.lineage.datasets import LineageDataset, http_endpoint
from airflow_etl_provider.rest.auth import AUTH_TYPES, auth_settings_schema, create_auth
from airflow_etl_provider.rest.batching import ArrowBatcher
from airflow_etl_provider.rest.client import RestClient
from airflow_etl_provider.rest.encode import DECIMAL_MODES, encode_records, record_batches
from airflow_etl_provider.rest.openapi import USUAL_DOCUMENT_PATHS, OpenApiDocument
from airflow_etl_provider.rest.origins import ORIGIN_PATTERN, Origin
from airflow_etl_provider.rest.paginators import (
    PAGINATORS,
    BasePaginator,
    create_paginator,
    paginator_settings_schema,
)
from airflow_etl_provider.rest.ratelimit import RateLimiter
from airflow_etl_provider.rest.records import FLATTEN_SEPARATOR, NESTED_MODES, nest_record, shape_record
from airflow_etl_provider.rest.redact import Redactor
from airflow_etl_provider.rest.retry import RetryPolicy
from airflow_etl_provider.types import ColumnInfo, LoadMode, LoadResult, Operation, SchemaInfo, TableInfo

#: Extra keys renamed because Airflow's secret masker hides (and the UI form then saves as
#: `***`) every key whose name contains a sensitive word (token, api_key, ...), secret or
#: not. Old connections keep working: the old key is read as the new one, with a warning.
RENAMED_KEYS: dict[str, str] = {
    "token_url": "oauth2_url",
    "api_key_name": "key_name",
    "api_key_in": "key_location",
}
#: What Airflow's masker shows, and its form saved, in place of a masked value.
MASKED_VALUE = "***"

#: The fields after the paginator settings: records, transport, schema discovery, loading.
_TRANSFER_FIELDS: dict[str, dict[str, Any]] = {
    "max_pages": {
        "type": "integer",
        "minimum": 1,
        "default": 100_000,
        "title": "Max pages",
        "description": "Guard against endless paging: more pages than this is an error.",
    },
    "records_path": {
        "type": "string",
        "default": "",
        "title": "Records path",
        "description": "Body path of the record list, e.g. data.items; empty tries a top-level "
        "list, then data, results, items, records.",
    },
    "nested": {
        "type": "string",
        "enum": list(NESTED_MODES),
        "default": "flatten",
        "title": "Nested objects",
        "description": "flatten: nested objects are parent__child columns when reading, and such columns "
        "are nested objects again when loading; json: nested values are JSON text columns.",
    },
    "detect_timestamps": {
        "type": "boolean",
        "default": True,
        "title": "Detect ISO 8601 timestamps",
        "description": "Text columns holding only ISO 8601 date-times in their first values become timestamps "
        "(UTC when they carry an offset); off: they stay text unless column_types declares them.",
    },
    "allowed_hosts": {
        "type": "array",
        "items": {
            "type": "string",
            "pattern": ORIGIN_PATTERN,
            "description": "an origin: https://host, https://host:port, or host[:port] "
            "(which takes the base URL's scheme); no path",
        },
        "default": [],
        "title": "Other origins trusted with the credentials",
        "description": 'JSON list of origins besides the base URL\'s, e.g. ["https://files.example.com"], '
        "that next-page links, full-URL sources and redirects may reach with the credentials. "
        "Requests for any other origin are refused; redirects to one lose the credentials.",
    },
    "verify_ssl": {"type": "boolean", "default": True, "title": "Verify TLS certificates"},
    "timeout": COMMON_CONFIG_PROPERTIES["timeout"],
    "rate_limit": {
        "type": "number",
        "minimum": 0,
        "default": 0,
        "title": "Rate limit (requests per minute)",
        "description": "Shared by every call of one task; 0 means no limit.",
    },
    "retry_count": COMMON_CONFIG_PROPERTIES["retry_count"],
    "max_retries": {
        "type": "integer",
        "minimum": 0,
        "maximum": 20,
        "title": "Max retries",
        "description": "Retries on 429/500/502/503/504 and dropped connections (Retry-After is honoured). "
        "Empty: the common Retries (retry_count).",
    },
    "backoff_factor": {
        "type": "number",
        "minimum": 0,
        "default": 1.0,
        "title": "Backoff factor (seconds)",
        "description": "Wait factor * 2^(attempt-1) seconds between retries when no Retry-After is given.",
    },
    "health_check_endpoint": {
        "type": "string",
        "default": "",
        "title": "Health-check endpoint",
        "description": "Path the Test button GETs; empty GETs the base URL.",
    },
    "openapi_url": {
        "type": "string",
        "default": "",
        "title": "OpenAPI document URL",
        "description": "Empty tries openapi.json, swagger.json and v3/api-docs.",
    },
    "endpoints": {
        "type": "string",
        "default": "",
        "title": "Endpoints",
        "description": "Comma-separated endpoint paths listed by get_schema when there is no OpenAPI document.",
    },
    "batch_size": {
        "type": "integer",
        "minimum": 1,
        "default": 500,
        "title": "Load batch size",
        "description": "Records per POST/PUT request when loading.",
    },
    "load_method": {
        "type": "string",
        "enum": ["POST", "PUT", "PATCH"],
        "default": "POST",
        "title": "Load method (append)",
    },
    "upsert_method": {
        "type": "string",
        "enum": ["", "POST", "PUT", "PATCH"],
        "default": "",
        "title": "Upsert method",
        "description": "Set only if the endpoint upserts; empty: upsert unsupported.",
    },
    "replace_method": {
        "type": "string",
        "enum": ["", "POST", "PUT"],
        "default": "",
        "title": "Replace method",
        "description": "Set only if the endpoint replaces the whole set.",
    },
    "retry_unsafe_load": {
        "type": "boolean",
        "default": False,
        "title": "Retry POST/PATCH loads",
        "description": "Only when the API de-duplicates (idempotency keys). PUT is always retried, and so is "
        "any batch answered 429, or 503 with Retry-After (the server did not process it).",
    },
    "decimals": {
        "type": "string",
        "enum": list(DECIMAL_MODES),
        "default": "string",
        "title": "Send decimals as",
    },
}


def connection_schema() -> dict[str, Any]:
    """The extra's JSON Schema, from the auth schemes and paginators registered now (plugins too).

    In the order a person fills the form: auth, then each auth's fields, then paging, records,
    transport, schema discovery, loading. A strategy setting whose name the form already uses
    is refused, naming it: one flat extra cannot hold two meanings of one key.
    """
    auth = {
        "auth_type": {
            "type": "string",
            "enum": sorted(AUTH_TYPES),
            "default": "none",
            "title": "Auth type",
            "description": "basic uses login and password; bearer the bearer token; api_key the API key; "
            "oauth2 the client-credentials grant.",
        }
    }
    paging = {
        "headers": {
            "type": "object",
            "default": {},
            "title": "Default headers",
            "description": "JSON object of headers sent with every request.",
        },
        "paginator": {"type": "string", "enum": sorted(PAGINATORS), "default": "single_page", "title": "Pagination"},
    }
    properties: dict[str, Any] = {}
    for part in (auth, auth_settings_schema(), paging, paginator_settings_schema(), _TRANSFER_FIELDS):
        clash = sorted(set(part) & set(properties))
        if clash:
            raise ValueError(f"REST strategy setting(s) {', '.join(clash)} clash with rest_api connection fields")
        properties.update(part)
    return {"type": "object", "properties": properties}


CONFIG_SCHEMA: dict[str, Any] = connection_schema()


class RestApiConnectorHook(ConnectorHook):
    """JSON REST APIs: paged extract into Arrow chunks, batched POST/PUT load."""

    conn_type = "rest_api"
    hook_name = "REST API"
    default_conn_name = "rest_api_default"
    description = "JSON REST API: paged extract, batched POST/PUT load, OpenAPI schema."
    config_schema = CONFIG_SCHEMA
    extract_options: ClassVar[Mapping[str, str]] = {
        "params": "query parameters added to every page's request",
        "records_path": "where the records are in a response (overrides the connection's)",
        "paginator": 'a paginator name or {"type": name, ...settings} (overrides the connection\'s)',
        "nested": "flatten or json: how nested objects become columns (overrides the connection's)",
        "max_pages": "stop with an error after this many pages (overrides the connection's)",
        "detect_timestamps": "read ISO 8601 strings as timestamps (overrides the connection's)",
        "column_types": 'Arrow types of columns, e.g. {"created": "timestamp[us, tz=UTC]"}',
    }
    load_options: ClassVar[Mapping[str, str]] = {
        "batch_size": "records per request (overrides the connection's)",
        "method": "HTTP method of every request (overrides the mode's method of the connection)",
        "decimals": "send decimals as string or number (overrides the connection's)",
        "retry_unsafe": "retry POST/PATCH batches too (overrides the connection's retry_unsafe_load)",
        "nested": "flatten: send parent__child columns as nested objects; json: keys as they are",
    }
    ui_field_behaviour: ClassVar[dict[str, Any]] = {
        "hidden-fields": ["schema", "port"],
        "relabeling": {"host": "Base URL", "login": "Login / client id", "password": "Password / secret"},
        "placeholders": {"host": "https://api.example.com/v1"},
    }
    operations = frozenset(Operation)
    #: What every REST connection can do; `upsert_method` / `replace_method` add more per connection.
    load_modes: ClassVar[tuple[LoadMode, ...]] = (LoadMode.APPEND,)
    #: Scheme used when the host field has none.
    default_scheme: ClassVar[str] = "https"

    def __init__(self, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(conn_id, **kwargs)
        self._client: RestClient | None = None
        self.rate_limiter: RateLimiter | None = None

    # -- connection ------------------------------------------------------------------

    @classmethod
    def full_config_schema(cls) -> dict[str, Any]:
        """`config_schema` plus the paginators and auth schemes registered since import (plugins').

        A subclass's own fields, defaults and choices stay; only names and settings that were
        not registered when `CONFIG_SCHEMA` was assembled are added.
        """
        schema = super().full_config_schema()
        properties = schema["properties"]
        current = connection_schema()["properties"]
        for choice in ("auth_type", "paginator"):
            added = set(current[choice]["enum"]) - set(CONFIG_SCHEMA["properties"][choice]["enum"])
            if choice in properties and added:
                properties[choice]["enum"] = sorted({*properties[choice]["enum"], *added})
        for name, spec in current.items():
            properties.setdefault(name, spec)
        return schema

    @cached_property
    def config(self) -> dict[str, Any]:
        """The extra (renamed keys read under their new names), validated, defaults filled in."""
        return validate_config(self.conn_id, self.full_config_schema(), self.current_extra())

    def current_extra(self) -> dict[str, Any]:
        """The connection's extra with each key of `RENAMED_KEYS` under its new name.

        A renamed key still in use is logged as deprecated; one that holds `***` (what the form
        saved for it while Airflow masked its name) is an error: its value is lost.
        """
        extra = dict(self.connection.extra_dejson)
        for old, new in RENAMED_KEYS.items():
            if old not in extra:
                continue
            value = extra.pop(old)
            if new in extra:
                self.log.warning(
                    "Connection %r: extra key %r is deprecated and ignored, since %r is set too; remove %r.",
                    self.conn_id,
                    old,
                    new,
                    old,
                )
                continue
            if value == MASKED_VALUE:
                raise ConnectorConfigError(
                    self.conn_id,
                    old,
                    f"holds {MASKED_VALUE!r}, which the Airflow form saved in place of its value (Airflow masks "
                    f"keys whose name contains a sensitive word). Set {new!r} to the real value and remove {old!r}.",
                )
            self.log.warning(
                "Connection %r: extra key %r is deprecated; rename it to %r (Airflow masks and the form "
                "overwrites keys whose name contains a sensitive word).",
                self.conn_id,
                old,
                new,
            )
            extra[new] = value
        return extra

    @cached_property
    def base_url(self) -> str:
        """The host field as a URL: scheme added when missing, port field applied."""
        host = (self.connection.host or "").strip()
        if not host:
            raise ConnectorConfigError(self.conn_id, "host", "set the API's base URL, e.g. https://api.example.com/v1")
        if "://" not in host:
            schema = (self.connection.schema or "").lower()
            host = f"{schema if schema in ('http', 'https') else self.default_scheme}://{host}"
        parts = urlsplit(host)
        netloc = parts.netloc
        if self.connection.port and ":" not in netloc.rsplit("@", 1)[-1]:
            netloc = f"{netloc}:{self.connection.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))

    def lineage_dataset(self, target: str) -> LineageDataset:
        """The endpoint `target` names (a path under the base URL, or a full URL)."""
        url = target if "://" in target else urljoin(self.base_url.rstrip("/") + "/", target.lstrip("/"))
        return http_endpoint(url)

    @property
    def max_retries(self) -> int:
        """HTTP retries: `max_retries` when set, else the common `retry_count` every connector honours."""
        return int(self.config.get("max_retries", self.retry_count))

    @cached_property
    def allowed_origins(self) -> tuple[Origin, ...]:
        """`allowed_hosts` as origins; a bare `host[:port]` takes the base URL's scheme."""
        scheme = urlsplit(self.base_url).scheme
        try:
            return tuple(Origin.parse(entry, scheme) for entry in self.config["allowed_hosts"])
        except ValueError as error:
            raise ConnectorConfigError(
                self.conn_id, "allowed_hosts", f"{error}; list origins like https://files.example.com or host[:port]."
            ) from error

    @property
    def client(self) -> RestClient:
        if self._client is None:
            raise RuntimeError("open the hook first: `with hook:`")
        return self._client

    def open(self) -> None:
        config = self.config
        redactor = Redactor(query_params=[config["key_name"]] if config["key_location"] == "query" else [])
        headers = {str(name): str(value) for name, value in config["headers"].items()}
        # One limiter per hook instance, kept across open/close so re-opening cannot burst.
        if self.rate_limiter is None:
            self.rate_limiter = RateLimiter(float(config["rate_limit"]))
        client = RestClient(
            self.base_url,
            headers=headers,
            allowed_origins=self.allowed_origins,
            name=self.conn_id,
            timeout=self.timeout,
            retry=RetryPolicy(self.max_retries, float(config["backoff_factor"])),
            rate_limiter=self.rate_limiter,
            redactor=redactor,
            verify=config["verify_ssl"],
            log=self.log,
        )
        try:
            # The auth sends its own requests (an OAuth2 token) through the client's retries.
            client.auth = create_auth(
                config,
                self.connection.login or "",
                self.connection.password or "",
                send=client.send,
                redactor=redactor,
            )
        except ValueError as error:
            client.session.close()
            raise ConnectorConfigError(self.conn_id, "auth_type", f"{error}.") from error
        self._client = client

    def close(self) -> None:
        if self._client is not None:
            self._client.session.close()
            self._client = None

    # -- test_connection ---------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        try:
            with self:
                path = self.config["health_check_endpoint"]
                url = self.client.redactor.url(self.client.url(path))
                response = self.client.send(requests.Request("GET", self.client.url(path)), max_retries=0)
                return True, f"Connected: GET {url} answered HTTP {response.status_code}."
        except ConnectorConfigError as error:
            return False, str(error)
        except RestApiError as error:
            return False, self._explain(error)

    @staticmethod
    def _explain(error: RestApiError) -> str:
        if isinstance(error, UntrustedOriginError):
            return str(error)
        if error.status is None:
            return f"Cannot reach the API at {error.url}: check the base URL and the network. ({error})"
        if error.status in (401, 403):
            return (
                f"The API at {error.url} refused the credentials (HTTP {error.status}): "
                "check auth_type and the login, password, token or key."
            )
        if error.status == 404:
            return (
                f"The server answered but {error.url} was not found (HTTP 404): "
                "check the base URL and health_check_endpoint."
            )
        return f"The API answered HTTP {error.status} at {error.url}."

    # -- schema ------------------------------------------------------------------------

    def get_schema(self, source: str | None = None) -> SchemaInfo:
        """Endpoints from the OpenAPI document when there is one, else from the configured endpoints."""
        self.require(Operation.GET_SCHEMA)
        with self:
            tables = self._openapi_tables()
            if tables is None:
                names = [e.strip().lstrip("/") for e in self.config["endpoints"].split(",") if e.strip()]
                if source and source.lstrip("/") not in names:
                    names.append(source.lstrip("/"))
                tables = [self._sampled_table(name) for name in names]
        if source:
            tables = [t for t in tables if t.name == source.lstrip("/")]
        return SchemaInfo(tables=tuple(tables))

    def _openapi_tables(self) -> list[TableInfo] | None:
        configured = self.config["openapi_url"]
        root = urlunsplit((*urlsplit(self.base_url)[:2], "/", "", ""))
        candidates = (
            [configured]
            if configured
            else [
                *(self.client.url(p) for p in USUAL_DOCUMENT_PATHS),
                *(root + p for p in USUAL_DOCUMENT_PATHS),
            ]
        )
        for url in dict.fromkeys(candidates):
            try:
                response = self.client.send(requests.Request("GET", self.client.url(url)), max_retries=0)
                document = OpenApiDocument(
                    response.json(), nested=self.config["nested"], records_path=self.config["records_path"]
                )
            except (RestApiError, ValueError) as error:
                if configured:
                    raise ConnectorConfigError(self.conn_id, "openapi_url", f"cannot use it: {error}") from error
                continue
            self.log.info("Read the API's endpoints from %s", self.client.redactor.url(response.url))
            return document.tables()
        return None

    def _sampled_table(self, endpoint: str) -> TableInfo:
        """Columns of an endpoint inferred from its first page (all nullable: JSON promises nothing).

        Fields holding only nulls in the sample are listed with type `null`, except a null
        parent object whose flattened children (`Owner__Name`) have columns.
        """
        page = next(
            self.client.pages(
                endpoint, create_paginator({"type": "single_page"}), records_path=self.config["records_path"]
            )
        )
        batcher = ArrowBatcher(
            chunk_size=max(1, len(page)), log=self.log, detect_timestamps=self.config["detect_timestamps"]
        )
        for _ in batcher.add(shape_record(r, self.config["nested"]) for r in page):
            pass
        columns = [ColumnInfo(field.name, str(field.type), True) for field in batcher.schema]
        columns += [
            ColumnInfo(name, str(pa.null()), True)
            for name in batcher.untyped
            if not any(typed.startswith(name + FLATTEN_SEPARATOR) for typed in batcher.fields)
        ]
        return TableInfo(name=endpoint, columns=tuple(columns), kind="endpoint")

    # -- extract -----------------------------------------------------------------------

    def extract(self, source: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE, **options: Any) -> Iterator[pa.RecordBatch]:
        """Stream the records of endpoint `source` (a path under the base URL, or a full URL).

        Options override the connection's settings for this call: `params` (query
        parameters), `records_path`, `paginator` (a name or `{"type": name, ...settings}`),
        `nested`, `max_pages`, `detect_timestamps`; `column_types` declares the Arrow types of
        columns, as the file formats' option does (`{"created": "timestamp[us, tz=UTC]"}`).
        """
        self.require(Operation.EXTRACT)
        paginator = self._paginator(options.get("paginator"))
        names = ("records_path", "nested", "max_pages", "detect_timestamps")
        settings = {name: options.get(name, self.config[name]) for name in names}
        if settings["nested"] not in NESTED_MODES:
            raise ConnectorConfigError(self.conn_id, "nested", f"use one of {', '.join(NESTED_MODES)}.")
        try:
            settings["column_types"] = parse_column_types(options.get("column_types"))
        except ValueError as error:
            raise ConnectorConfigError(self.conn_id, "column_types", str(error)) from error
        return self._extract(source, chunk_size, paginator, dict(options.get("params") or {}), settings)

    def _extract(
        self,
        source: str,
        chunk_size: int,
        paginator: BasePaginator,
        params: dict[str, Any],
        settings: dict[str, Any],
    ) -> Iterator[pa.RecordBatch]:
        with self:
            batcher = ArrowBatcher(
                chunk_size,
                log=self.log,
                column_types=settings["column_types"],
                detect_timestamps=bool(settings["detect_timestamps"]),
                name=f"Connection {self.conn_id!r}, {self.client.redactor.url(self.client.url(source))}",
            )
            records = pages = 0
            for page in self.client.pages(
                source,
                paginator,
                params=params,
                records_path=settings["records_path"],
                max_pages=settings["max_pages"],
            ):
                pages += 1
                records += len(page)
                yield from batcher.add(shape_record(r, settings["nested"]) for r in page)
            yield from batcher.flush()
            self.log.info(
                "Read %d records in %d pages from %s",
                records,
                pages,
                self.client.redactor.url(self.client.url(source)),
            )

    def _paginator(self, option: str | dict[str, Any] | None) -> BasePaginator:
        settings = {name: self.config.get(name) for name in paginator_settings_schema()}
        settings["type"] = self.config["paginator"]
        if isinstance(option, str):
            settings["type"] = option
        elif isinstance(option, dict):
            settings.update(option)
        try:
            return create_paginator(settings)
        except (ValueError, TypeError) as error:
            raise ConnectorConfigError(self.conn_id, "paginator", f"{error}.") from error

    # -- load --------------------------------------------------------------------------

    def load(
        self,
        chunks: Iterable[pa.RecordBatch],
        destination: str,
        *,
        mode: LoadMode | str = LoadMode.APPEND,
        keys: Sequence[str] | None = None,
        **options: Any,
    ) -> LoadResult:
        """Send every record to endpoint `destination` as JSON arrays of `batch_size` records.

        With `nested` flatten (the connection's default; a load option overrides it) columns
        named `parent__child` are sent as nested objects; with json, keys are sent as they are.

        REST APIs have no transactions: when a batch fails, the error names the records
        (index range) that did not land; earlier batches stay written.
        """
        self.require(Operation.LOAD)
        mode = self.require_load_mode(mode)
        method = (options.get("method") or self._method_for(mode)).upper()
        batch_size = int(options.get("batch_size", self.config["batch_size"]))
        decimals = options.get("decimals", self.config["decimals"])
        retry_unsafe = bool(options.get("retry_unsafe", self.config["retry_unsafe_load"]))
        nested = options.get("nested", self.config["nested"])
        if decimals not in DECIMAL_MODES:
            raise ConnectorConfigError(self.conn_id, "decimals", f"use one of {', '.join(DECIMAL_MODES)}.")
        if nested not in NESTED_MODES:
            raise ConnectorConfigError(self.conn_id, "nested", f"use one of {', '.join(NESTED_MODES)}.")
        result = LoadResult(
            destination=destination,
            mode=mode.value,
            details={"method": method, "batch_size": batch_size, "requests": 0},
        )
        counted = _counting(chunks, result)
        with self:
            url = self.client.url(destination)
            for start, records in record_batches(counted, batch_size):
                if nested == "flatten":
                    records = self._nested(records, start)
                body = encode_records(records, decimals)
                request = requests.Request(method, url, data=body, headers={"Content-Type": "application/json"})
                try:
                    self.client.send(request, retry_unsafe=retry_unsafe)
                except RestApiError as error:
                    raise LoadError(
                        f"Connection {self.conn_id!r}: records {start} to {start + len(records) - 1} did not land "
                        f"at {error.url} ({error}). Records 0 to {start - 1} were accepted before and stay "
                        "(a REST API has no transaction to roll back)."
                        if start
                        else f"Connection {self.conn_id!r}: records 0 to {len(records) - 1} did not land at "
                        f"{error.url} ({error}); nothing was written."
                    ) from error
                result.rows += len(records)
                result.bytes += len(body)
                result.details["requests"] += 1
            self.log.info(
                "Sent %d records in %d %s requests to %s",
                result.rows,
                result.details["requests"],
                method,
                self.client.redactor.url(url),
            )
        return result

    def _nested(self, records: list[dict[str, Any]], start: int) -> list[dict[str, Any]]:
        """`parent__child` columns as nested objects again: what flattening made of them on extract."""
        try:
            return [nest_record(record) for record in records]
        except ValueError as error:
            raise LoadError(f"Connection {self.conn_id!r}, records {start} on: {error}.") from error

    def _method_for(self, mode: LoadMode) -> str:
        return {
            LoadMode.APPEND: self.config["load_method"],
            LoadMode.UPSERT: self.config["upsert_method"],
            LoadMode.REPLACE: self.config["replace_method"],
        }[mode]

    def require_load_mode(self, mode: LoadMode | str) -> LoadMode:
        """Append always; upsert and replace only where the connection names a method for them."""
        parsed = LoadMode.parse(mode)
        supported = [m for m in LoadMode if self._method_for(m)]
        if parsed not in supported:
            raise UnsupportedOperationError(
                self.conn_type,
                f"load mode {parsed.value}",
                [m.value for m in supported],
                f"If the endpoint really does {parsed.value}, set `{parsed.value}_method` (POST, PUT, ...) in the "
                "connection's extra.",
            )
        return parsed


def _counting(chunks: Iterable[pa.RecordBatch], result: LoadResult) -> Iterator[pa.RecordBatch]:
    for chunk in chunks:
        result.chunks += 1
        yield chunk


class HttpConnectorHook(RestApiConnectorHook):
    """Existing Airflow `http` connections: extra keys are headers, login/password mean basic auth."""

    conn_type = "http"
    hook_name = "HTTP (ETL)"
    default_conn_name = "http_default"
    description = "An Airflow http connection used as a REST API source or destination."
    form_owner_distribution = "apache-airflow-providers-http"
    default_scheme = "http"
    #: Extra keys the http provider reads as request options rather than headers.
    HTTP_PROVIDER_OPTIONS = frozenset(
        {
            "stream",
            "proxies",
            "cert",
            "allow_redirects",
            "max_redirects",
            "trust_env",
            "check_response",
            "auth_kwargs",
            "auth_type",
            "verify",
        }
    )

    @cached_property
    def config(self) -> dict[str, Any]:
        """The http extra mapped onto our settings: known keys kept, scalar others sent as headers."""
        extra = self.current_extra()
        schema = self.full_config_schema()  # the common extras (timeout, retry_count) are settings too
        ours = {k: v for k, v in extra.items() if k in schema["properties"]}
        ours.pop("auth_type", None)
        headers = {
            k: str(v)
            for k, v in extra.items()
            if k not in ours
            and k not in self.HTTP_PROVIDER_OPTIONS
            and isinstance(v, (str, int, float))
            and not isinstance(v, bool)
        }
        if headers:
            ours["headers"] = {**headers, **ours.get("headers", {})}
        if extra.get("auth_type") in AUTH_TYPES:
            ours["auth_type"] = extra["auth_type"]
        elif self.connection.login:
            ours["auth_type"] = "basic"
        if "verify" in extra:
            ours["verify_ssl"] = str(extra["verify"]).lower() not in ("false", "0", "no")
        return validate_config(self.conn_id, schema, ours)
