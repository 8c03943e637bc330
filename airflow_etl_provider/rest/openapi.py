"""Endpoints and their record columns from an OpenAPI 3 / Swagger 2 document."""

from __future__ import annotations

from typing import Any

from airflow_etl_provider.rest.records import FALLBACK_PATHS, FLATTEN_SEPARATOR, get_path
from airflow_etl_provider.types import ColumnInfo, TableInfo

#: Where APIs usually publish their document, relative to the base URL.
USUAL_DOCUMENT_PATHS = ("openapi.json", "swagger.json", "v3/api-docs")
JSON_TEXT = "string"

_SCALARS = {"integer": "int64", "number": "double", "boolean": "bool"}
_STRING_FORMATS = {"date-time": "timestamp[us, tz=UTC]", "date": "date32[day]"}


class OpenApiDocument:
    """Reads list endpoints (GET, no path parameters) and the columns of their records."""

    def __init__(self, document: dict[str, Any], *, nested: str = "flatten", records_path: str = "") -> None:
        if not isinstance(document, dict) or not ("openapi" in document or "swagger" in document):
            raise ValueError("not an OpenAPI or Swagger document (no `openapi` / `swagger` key)")
        self.document = document
        self.nested = nested
        self.records_path = records_path

    def tables(self) -> list[TableInfo]:
        tables = []
        for path, operations in sorted(self.document.get("paths", {}).items()):
            get = operations.get("get") if isinstance(operations, dict) else None
            if not get or "{" in path:
                continue
            record = self._record_schema(self._response_schema(get))
            columns = self._columns(record) if record else ()
            tables.append(TableInfo(name=path.lstrip("/"), columns=tuple(columns), kind="endpoint"))
        return tables

    def _resolve(self, schema: Any) -> dict[str, Any]:
        seen: set[str] = set()
        while isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/") or ref in seen:
                return {}
            seen.add(ref)
            schema = get_path(self.document, ref[2:].replace("/", "."))
        if isinstance(schema, dict) and "allOf" in schema:
            merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
            for part in map(self._resolve, schema["allOf"]):
                merged["properties"].update(part.get("properties", {}))
                merged["required"] += part.get("required", [])
            return merged
        return schema if isinstance(schema, dict) else {}

    def _response_schema(self, operation: dict[str, Any]) -> dict[str, Any]:
        responses = operation.get("responses", {})
        for status in ("200", 200, "2XX", "default"):
            response = self._resolve(responses.get(status))
            if not response:
                continue
            if "schema" in response:  # Swagger 2
                return self._resolve(response["schema"])
            for media, content in response.get("content", {}).items():
                if "json" in media:
                    return self._resolve(content.get("schema"))
        return {}

    def _record_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The schema of one record: array items, or the list property of a wrapper object."""
        if schema.get("type") == "array":
            return self._resolve(schema.get("items"))
        properties = schema.get("properties", {})
        names = self.records_path.split(".") if self.records_path else None
        if names:
            for name in names:
                schema = self._resolve(schema.get("properties", {}).get(name))
            return self._resolve(schema.get("items")) if schema.get("type") == "array" else schema
        for name in FALLBACK_PATHS:
            candidate = self._resolve(properties.get(name))
            if candidate.get("type") == "array":
                return self._resolve(candidate.get("items"))
        return schema

    def _columns(self, schema: dict[str, Any], prefix: str = "", parent_nullable: bool = False) -> list[ColumnInfo]:
        required = set(schema.get("required", []))
        columns: list[ColumnInfo] = []
        for name, raw in schema.get("properties", {}).items():
            prop = self._resolve(raw)
            full = f"{prefix}{FLATTEN_SEPARATOR}{name}" if prefix else name
            nullable = parent_nullable or name not in required or bool(prop.get("nullable"))
            if prop.get("type") == "object" and prop.get("properties") and self.nested == "flatten":
                columns += self._columns(prop, full, nullable)
                continue
            columns.append(ColumnInfo(name=full, type=self._type(prop), nullable=nullable))
        return columns

    @staticmethod
    def _type(prop: dict[str, Any]) -> str:
        kind = prop.get("type")
        if isinstance(kind, list):  # OpenAPI 3.1: ["string", "null"]
            kind = next((k for k in kind if k != "null"), "string")
        if kind == "string":
            return _STRING_FORMATS.get(str(prop.get("format") or ""), "string")
        return _SCALARS.get(str(kind), JSON_TEXT)
