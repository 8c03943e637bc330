"""Every paginator against a real local server, plus their stop rules and loop detection."""

from __future__ import annotations

import pytest
from werkzeug import Request, Response

from airflow_etl_provider.exceptions import PaginationError
from airflow_etl_provider.rest.client import RestClient
from airflow_etl_provider.rest.paginators import PAGINATORS, create_paginator
from airflow_etl_provider.rest.retry import RetryPolicy
from tests.rest.rest_fake_api import FakeApi, json_response, people

RECORDS = people(95)


def _client(api: FakeApi) -> RestClient:
    return RestClient(api.base_url, retry=RetryPolicy(max_retries=0))


def _ids(client: RestClient, path: str, settings: dict, **kwargs) -> list[int]:
    pages = client.pages(path, create_paginator(settings), **kwargs)
    return [record["id"] for page in pages for record in page]


def test_offset_stops_on_short_page(api: FakeApi) -> None:
    def handler(request: Request) -> Response:
        offset, limit = int(request.args["offset"]), int(request.args["limit"])
        return json_response({"data": RECORDS[offset : offset + limit]})

    api.route("offset", handler)
    assert _ids(_client(api), "offset", {"type": "offset", "page_size": 10}) == list(range(1, 96))
    assert api.calls["offset"] == 10  # nine full pages and one short one


def test_offset_stops_at_total_without_an_extra_request(api: FakeApi) -> None:
    def handler(request: Request) -> Response:
        offset, limit = int(request.args["offset"]), int(request.args["limit"])
        return json_response({"data": RECORDS[offset : offset + limit][: 90 - offset], "meta": {"total": 90}})

    api.route("offset", handler)
    settings = {"type": "offset", "page_size": 10, "total_path": "meta.total"}
    assert len(_ids(_client(api), "offset", settings)) == 90
    assert api.calls["offset"] == 9


def test_offset_stops_on_empty_page(api: FakeApi) -> None:
    def handler(request: Request) -> Response:
        offset = int(request.args["offset"])
        return json_response(RECORDS[offset : offset + 19][: (90 - offset)])

    api.route("offset", handler)
    # The server ignores `size` and sends 19 a page: never a short page, only the empty one ends it.
    ids = _ids(_client(api), "offset", {"type": "offset", "page_size": 5, "limit_param": "size"})
    assert ids == list(range(1, 91))


def test_page_number_with_total_pages(api: FakeApi) -> None:
    def handler(request: Request) -> Response:
        page = int(request.args["page"])
        return json_response({"results": RECORDS[(page - 1) * 20 : page * 20], "total_pages": 5})

    api.route("pages", handler)
    assert _ids(_client(api), "pages", {"type": "page_number", "total_path": "total_pages"}) == list(range(1, 96))
    assert api.calls["pages"] == 5


def test_page_number_without_total_stops_on_empty_page(api: FakeApi) -> None:
    def handler(request: Request) -> Response:
        page = int(request.args["p"])
        assert request.args["per_page"] == "40"
        return json_response({"items": RECORDS[page * 40 : (page + 1) * 40] if page < 2 else []})

    api.route("pages", handler)
    settings = {
        "type": "page_number",
        "page_param": "p",
        "base_page": 0,
        "page_size": 40,
        "page_size_param": "per_page",
    }
    assert _ids(_client(api), "pages", settings) == list(range(1, 81))
    assert api.calls["pages"] == 3


def test_cursor_from_body_path_sent_as_param(api: FakeApi) -> None:
    def handler(request: Request) -> Response:
        start = int(request.args.get("after", 0))
        page = RECORDS[start : start + 30]
        following = str(start + 30) if start + 30 < len(RECORDS) else None
        return json_response({"data": {"items": page}, "meta": {"next": following}})

    api.route("cursor", handler)
    settings = {"type": "cursor", "cursor_path": "meta.next", "cursor_param": "after"}
    assert _ids(_client(api), "cursor", settings, records_path="data.items") == list(range(1, 96))
    assert api.calls["cursor"] == 4


def test_header_link(api: FakeApi) -> None:
    def handler(request: Request) -> Response:
        page = int(request.args.get("page", 1))
        headers = (
            {"Link": f'</api/link?page={page + 1}>; rel="next", </api/link?page=1>; rel="first"'} if page < 4 else {}
        )
        return json_response(RECORDS[(page - 1) * 25 : page * 25], headers=headers)

    api.route("link", handler)
    assert _ids(_client(api), "link", {"type": "header_link"}) == list(range(1, 96))
    assert api.calls["link"] == 4


def test_next_url_in_body(api: FakeApi) -> None:
    def handler(request: Request) -> Response:
        page = int(request.args.get("page", 1))
        following = api.server.url_for(f"/api/next?page={page + 1}") if page < 3 else None
        return json_response({"results": RECORDS[(page - 1) * 40 : page * 40], "links": {"next": following}})

    api.route("next", handler)
    assert _ids(_client(api), "next", {"type": "json_link", "next_url_path": "links.next"}) == list(range(1, 96))
    assert api.calls["next"] == 3


def test_single_page(api: FakeApi) -> None:
    api.route("all", lambda request: json_response({"data": RECORDS, "next": "ignored"}))
    assert _ids(_client(api), "all", {"type": "single_page"}) == list(range(1, 96))
    assert api.calls["all"] == 1


def test_repeated_cursor_is_an_error_not_a_loop(api: FakeApi) -> None:
    api.route("loop", lambda request: json_response({"data": RECORDS[:5], "next_cursor": "same"}))
    with pytest.raises(PaginationError, match="same next-page reference twice"):
        _ids(_client(api), "loop", {"type": "cursor"})
    assert api.calls["loop"] == 2


def test_repeated_link_is_an_error_not_a_loop(api: FakeApi) -> None:
    api.route("loop", lambda request: json_response(RECORDS[:5], headers={"Link": '</api/loop?page=2>; rel="next"'}))
    with pytest.raises(PaginationError, match="twice"):
        _ids(_client(api), "loop", {"type": "header_link"})
    assert api.calls["loop"] == 2


def test_max_pages_guard(api: FakeApi) -> None:
    def handler(request: Request) -> Response:
        return json_response({"data": RECORDS[:5], "next_cursor": str(int(request.args.get("cursor", 0)) + 1)})

    api.route("endless", handler)
    with pytest.raises(PaginationError, match="max_pages=7"):
        _ids(_client(api), "endless", {"type": "cursor"}, max_pages=7)
    assert api.calls["endless"] == 7


def test_unknown_paginator_lists_known_names() -> None:
    with pytest.raises(ValueError) as error:
        create_paginator({"type": "sideways"})
    for name in PAGINATORS:
        assert name in str(error.value)


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"type": "offset", "page_size": 0}, "page_size must be >= 1"),
        ({"type": "page_number", "page_size_param": "size"}, "page_size_param is set but page_size is not"),
        ({"type": "cursor", "cursor_path": ""}, "cursor_path and cursor_param"),
        ({"type": "json_link", "next_url_path": ""}, "next_url_path"),
    ],
)
def test_constructors_say_what_is_wrong(settings: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        create_paginator(settings)


def test_settings_of_other_paginators_are_ignored() -> None:
    paginator = create_paginator({"type": "cursor", "page_size": 10, "cursor_param": "c", "next_url_path": "x"})
    assert paginator.cursor_param == "c"


def _stripe_handler(records: list[dict], page_size: int = 20):
    """Stripe's list shape: `{"object": "list", "data": [...], "has_more": ...}`, paged by `starting_after=<id>`."""

    def handler(request: Request) -> Response:
        after = request.args.get("starting_after")
        start = 0 if after is None else next(i for i, r in enumerate(records) if r["id"] == after) + 1
        page = records[start : start + page_size]
        return json_response({"object": "list", "data": page, "has_more": start + page_size < len(records)})

    return handler


STRIPE = {
    "type": "cursor",
    "cursor_from": "last_record",
    "cursor_path": "id",
    "cursor_param": "starting_after",
    "has_more_path": "has_more",
}


def test_cursor_from_the_last_record_until_has_more_is_false(api: FakeApi) -> None:
    records = [{"id": f"ch_{i:03d}", "amount": i} for i in range(57)]
    api.route("charges", _stripe_handler(records))
    pages = list(_client(api).pages("charges", create_paginator(STRIPE), records_path="data"))
    assert [len(page) for page in pages] == [20, 20, 17]
    assert [r["id"] for page in pages for r in page] == [r["id"] for r in records]
    assert api.calls["charges"] == 3


def test_has_more_false_stops_a_body_cursor_even_when_a_cursor_is_given(api: FakeApi) -> None:
    api.route("c", lambda request: json_response({"data": RECORDS[:5], "next_cursor": "x", "has_more": False}))
    assert len(_ids(_client(api), "c", {"type": "cursor", "has_more_path": "has_more"})) == 5
    assert api.calls["c"] == 1


def test_has_more_that_is_not_a_boolean_is_an_error(api: FakeApi) -> None:
    api.route("c", lambda request: json_response({"data": RECORDS[:5], "has_more": "yes"}))
    with pytest.raises(PaginationError, match="has_more_path 'has_more' holds str"):
        _ids(_client(api), "c", {**STRIPE, "cursor_path": "id"})


@pytest.mark.parametrize(
    ("settings", "body", "path"),
    [
        # Stripe's list tried with a body cursor: the path never resolves, and only page 1 was read.
        (
            {"type": "cursor", "cursor_path": "next_cursor"},
            {"object": "list", "data": RECORDS[:20], "has_more": True},
            "next_cursor",
        ),
        ({"type": "cursor", "cursor_path": "meta.next"}, {"data": RECORDS[:20], "meta": {}}, "meta.next"),
        ({**STRIPE, "cursor_path": "object_id"}, {"data": RECORDS[:20], "has_more": True}, "object_id"),
        ({**STRIPE, "has_more_path": "more"}, {"data": RECORDS[:20], "has_more": True}, "more"),
        ({"type": "json_link", "next_url_path": "links.next"}, {"data": RECORDS[:20], "next": "/api/p2"}, "links.next"),
        ({"type": "offset", "page_size": 20, "total_path": "meta.total"}, {"data": RECORDS[:20]}, "meta.total"),
        ({"type": "page_number", "total_path": "total_pages"}, {"data": RECORDS[:20]}, "total_pages"),
    ],
)
def test_a_configured_path_missing_from_a_page_with_records_is_an_error(
    api: FakeApi, settings: dict, body: dict, path: str
) -> None:
    api.route("p", lambda request: json_response(body))
    client = RestClient(api.base_url, retry=RetryPolicy(max_retries=0), name="stripe")
    with pytest.raises(PaginationError) as error:
        _ids(client, "p", settings, records_path="data", params={"api_key": "s3cr3t-key"}, max_pages=3)
    message = str(error.value)
    assert f"{path!r}" in message and "connection 'stripe'" in message and "page 1" in message
    assert "/api/p" in message and "s3cr3t-key" not in message
    assert api.calls["p"] == 1


def test_an_explicit_null_still_ends_paging(api: FakeApi) -> None:
    api.route("c", lambda request: json_response({"data": RECORDS[:5], "meta": {"next": None}}))
    assert len(_ids(_client(api), "c", {"type": "cursor", "cursor_path": "meta.next"})) == 5


def test_a_link_left_out_of_the_last_page_is_fine_when_a_done_flag_says_so(api: FakeApi) -> None:
    """Salesforce: `done: true` on the last page, which has no nextRecordsUrl at all."""

    def handler(request: Request) -> Response:
        page = int(request.args.get("page", 1))
        body = {"records": RECORDS[(page - 1) * 40 : page * 40], "done": page == 3}
        if page < 3:
            body["nextRecordsUrl"] = f"/api/sf?page={page + 1}"
        return json_response(body)

    api.route("sf", handler)
    settings = {"type": "json_link", "next_url_path": "nextRecordsUrl", "done_path": "done"}
    assert _ids(_client(api), "sf", settings, records_path="records") == list(range(1, 96))
    with pytest.raises(PaginationError, match="next_url_path 'nextRecordsUrl' is not in the response body"):
        _ids(_client(api), "sf", {**settings, "done_path": ""}, records_path="records")


def test_a_setting_no_paginator_takes_is_refused() -> None:
    with pytest.raises(ValueError, match="offset pagination: unknown setting.*page_sise.*takes: limit_param"):
        create_paginator({"type": "offset", "page_sise": 5})
