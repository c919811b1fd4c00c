"""The REST source and sink without Spark: dotted paths, the pagination styles, authentication and token refresh,
retries, the rate limiter (with an injected clock) and 429 handling, incremental filtering, batches and refusals.

HTTP goes to the test's own server (tests/resthelp.py) on loopback; expected records come from its ``ITEMS``.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from etl_cli.model.resilience import RetryPolicy
from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.rest.auth import OAuth2ClientCredentials
from etl_cli.plugins.rest.client import (
    HttpClient,
    HttpError,
    RateLimit,
    Response,
    TokenBucket,
    retry_after,
    urllib_transport,
)
from etl_cli.plugins.rest.options import build_client
from etl_cli.plugins.rest.paging import next_link, parse_path, select
from etl_cli.plugins.sinks.rest import BatchSender, RestSink
from etl_cli.plugins.sources.rest import RestSource, newest_value
from etl_cli.runtime.safeguards.resilience import classify, unavailable
from tests.resthelp import ITEMS, ApiState, serve

IDS = [item["id"] for item in ITEMS]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def stage(kind: str = "source", **options: Any) -> StageSpec:
    return StageSpec("api", kind, "rest", () if kind == "source" else ("src",), options)  # type: ignore[arg-type]


def no_wait_client(options: dict[str, Any], clock: FakeClock | None = None, **extra: Any) -> HttpClient:
    clock = clock or FakeClock()
    bucket = TokenBucket(RateLimit.of(options.get("rate_limit")).requests_per_second, 1, clock=clock, sleep=clock.sleep)
    return build_client(options, lambda v: v, sleep=clock.sleep, rand=lambda: 0.0, bucket=lambda host: bucket, **extra)


def fetch(options: dict[str, Any], previous: Any = None, **extra: Any) -> list[dict[str, Any]]:
    return RestSource().fetch_records(no_wait_client(options, **extra), stage(**options), previous)


# ---------------------------------------------------------------------------- paths and links


def test_dotted_paths_name_keys_list_indexes_and_bracketed_keys():
    doc = {"data": {"items": [{"id": 7}, {"id": 8}]}, "meta": {"next.page": "p2"}}
    assert select(doc, "data.items.1.id") == 8
    assert select(doc, '$.meta["next.page"]') == "p2"
    assert select(doc, "$") is doc
    assert select(doc, "data.missing.deeper") is None
    assert select(doc, "data.items.5") is None
    assert parse_path("a['b.c'].d") == ("a", "b.c", "d")
    for bad in ("a..b", "a.", "a[b]"):
        with pytest.raises(ValueError):
            parse_path(bad)


def test_the_next_link_of_a_link_header():
    header = '<https://api/x?page=1>; rel="prev", <https://api/x?page=3>; rel="next last"'
    assert next_link(header) == "https://api/x?page=3"
    assert next_link('<https://api/x?page=1>; rel="prev"') is None
    assert next_link(None) is None


def test_retry_after_in_seconds_or_as_an_http_date():
    assert retry_after(Response(429, {"retry-after": "7"}, b"", "u")) == 7.0
    dated = Response(429, {"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, b"", "u")
    assert retry_after(dated, clock=lambda: 1445412500.0) == 10.0
    assert retry_after(Response(429, {}, b"", "u")) is None


def test_the_client_retries_with_the_policy_the_run_gives_the_stage_or_the_stage_s_own():
    given = RetryPolicy(attempts=7, initial_delay=0.25)
    assert build_client({"retry": {"attempts": 2}}, lambda v: v, given).retry == given
    assert build_client({"retry": {"attempts": 5, "other": 1}}, lambda v: v).retry == RetryPolicy(attempts=5)
    assert build_client({}, lambda v: v).retry == RetryPolicy()


# ---------------------------------------------------------------------------- the rate limiter


def test_the_token_bucket_paces_requests_after_the_burst():
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits == [0.0, 0.0, 0.0, 0.5, 0.5]
    clock.now += 10  # idle: the bucket refills up to the burst, no more
    assert [bucket.acquire() for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]


def test_a_pause_holds_every_request_to_the_host_then_starts_with_an_empty_bucket():
    clock = FakeClock()
    bucket = TokenBucket(rate=4.0, burst=4, clock=clock, sleep=clock.sleep)
    bucket.pause(3.0)
    assert bucket.acquire() == pytest.approx(3.25)
    unlimited = TokenBucket(rate=None, clock=clock, sleep=clock.sleep)
    assert unlimited.acquire() == 0.0
    unlimited.pause(2.0)
    assert unlimited.acquire() == 2.0


def test_two_stages_on_one_host_share_the_strictest_pace():
    bucket = TokenBucket(rate=10.0, burst=5)
    bucket.tighten(2.0, 2)
    bucket.tighten(None, 9)
    assert (bucket.rate, bucket.burst) == (2.0, 2)


def test_the_client_paces_requests_so_a_rate_limited_server_never_answers_429():
    with serve(ApiState(min_interval=0.08)) as api:
        options = {
            "url": f"{api.url}/pages",
            "paginate": {"type": "page_number", "page_size": 10},
            "records_path": "data.items",
        }
        client = build_client({**options, "rate_limit": {"requests_per_second": 10}}, lambda v: v)
        records = RestSource().fetch_records(client, stage(**options))
        statuses = [r.status for r in api.state.requests]
    assert [r["id"] for r in records] == IDS
    assert statuses == [200, 200, 200]  # the third page is short: the last
    assert client.counters.waited_s >= 0.15


def test_429_pauses_for_retry_after_then_sends_the_request_again():
    state = ApiState(retry_after="3", throttle_next={"/offset": 2})
    clock = FakeClock()
    with serve(state) as api:
        options = {"url": f"{api.url}/offset", "paginate": {"type": "offset", "limit": 10}, "records_path": "results"}
        client = no_wait_client(options, clock)
        records = RestSource().fetch_records(client, stage(**options))
    assert [r["id"] for r in records] == IDS
    assert clock.slept == [3.0, 3.0]
    assert client.counters.throttled == 2
    assert [r.status for r in state.requests][:3] == [429, 429, 200]


def test_too_many_429s_or_a_too_long_retry_after_fail_the_stage():
    with serve(ApiState(retry_after="5", throttle_next={"/offset": 9})) as api:
        options = {"url": f"{api.url}/offset", "records_path": "results", "rate_limit": {"max_retries": 2}}
        with pytest.raises(HttpError, match="429 Too Many Requests 3 time"):
            fetch(options)
        with pytest.raises(HttpError, match=r"exceeds rate_limit\.max_retry_after"):
            fetch({**options, "rate_limit": {"max_retry_after": 4}})


# ---------------------------------------------------------------------------- pagination


@pytest.mark.parametrize(
    "route, paginate, records_path",
    [
        ("/pages", {"type": "page_number", "page_size": 5}, "data.items"),
        ("/pages", {"type": "page_number", "page_size": 5, "total_path": "meta.total_pages"}, "data.items"),
        ("/pages", {"type": "page_number", "page_size": 4, "total_items_path": "meta.total"}, "data.items"),
        ("/offset", {"type": "offset", "limit": 6}, "results"),
        ("/offset", {"type": "offset", "limit": 6, "total_path": "count"}, "results"),
        ("/cursor", {"type": "cursor", "cursor_path": "next_cursor"}, "items"),
        ("/link", {"type": "link_header"}, None),
        ("/next", {"type": "next_url", "next_url_path": "links.next"}, "records"),
    ],
)
def test_every_pagination_style_reads_every_record_once_in_order(route, paginate, records_path):
    with serve() as api:
        options = {"url": f"{api.url}{route}", "paginate": paginate, "params": {"limit": 5, "per_page": 5}}
        if records_path:
            options["records_path"] = records_path
        records = fetch(options)
    assert [r["id"] for r in records] == IDS
    assert records[0] == ITEMS[0]


def test_pages_with_a_known_total_are_fetched_in_parallel_and_kept_in_order():
    with serve() as api:
        options = {
            "url": f"{api.url}/pages",
            "paginate": {"type": "page_number", "page_size": 2, "total_path": "meta.total_pages"},
            "records_path": "data.items",
            "parallelism": 4,
        }
        records = RestSource().fetch_records(build_client(options, lambda v: v), stage(**options))
        pages = sorted(int(r.query["page"]) for r in api.state.listing_requests("/pages"))
    assert [r["id"] for r in records] == IDS
    assert pages == list(range(1, 13))  # each page once, none after the last


def test_max_pages_stops_the_listing():
    with serve() as api:
        options = {"url": f"{api.url}/cursor", "paginate": {"type": "cursor", "cursor_path": "next_cursor"}}
        records = fetch({**options, "records_path": "items", "params": {"limit": 4}, "max_pages": 2})
    assert [r["id"] for r in records] == IDS[:8]


def test_a_records_path_that_leads_nowhere_is_an_error_naming_it():
    with serve() as api, pytest.raises(Exception, match=r"nothing at records_path 'data\.rows'"):
        fetch({"url": f"{api.url}/pages", "records_path": "data.rows"})


# ---------------------------------------------------------------------------- retries


def test_transient_503s_are_retried_with_the_stage_retry_settings():
    state = ApiState(fail_next={"/offset": 2})
    clock = FakeClock()
    with serve(state) as api:
        options = {
            "url": f"{api.url}/offset",
            "paginate": {"type": "offset", "limit": 10},
            "records_path": "results",
            "retry": {"attempts": 3, "initial_delay": 0.5, "multiplier": 4, "jitter": 0},
        }
        client = no_wait_client(options, clock)
        records = RestSource().fetch_records(client, stage(**options))
    assert [r["id"] for r in records] == IDS
    assert clock.slept == [0.5, 2.0]
    assert client.counters.retries == 2


def test_retries_used_up_fail_without_the_run_starting_the_stage_over_but_count_for_the_breaker():
    with serve(ApiState(fail_next={"/offset": 5})) as api:
        options = {"url": f"{api.url}/offset", "records_path": "results", "retry": {"attempts": 2}}
        with pytest.raises(HttpError) as failed:
            fetch(options)
    assert "failed 2 time(s); last error: 503 Service Unavailable" in failed.value.message
    assert "?" not in failed.value.message
    assert classify(failed.value) == "permanent"
    assert unavailable(failed.value)


def test_a_refused_connection_is_retried_then_reported():
    clock = FakeClock()
    client = HttpClient(retry=RetryPolicy(attempts=3, jitter=0), sleep=clock.sleep, bucket=lambda h: TokenBucket(None))
    with serve() as api:
        url = f"{api.url}/offset"
    with pytest.raises(HttpError, match="failed 3 time"):
        client.get(url)  # the server is gone: connection refused
    assert clock.slept == [1.0, 2.0]


def test_client_errors_are_not_retried_and_name_the_url_without_its_query():
    with serve(ApiState(auth=("query", "key", "s3cr3t"))) as api:
        options = {"url": f"{api.url}/offset?key=wrong", "records_path": "results"}
        with pytest.raises(HttpError) as failed:
            fetch(options)
        assert len(api.state.requests) == 1
    assert failed.value.status == 401
    assert "wrong" not in failed.value.message


# ---------------------------------------------------------------------------- authentication


@pytest.mark.parametrize(
    "server_auth, auth",
    [
        (("bearer", "tok-1"), {"type": "bearer", "token": "tok-1"}),
        (("basic", "ann", "pw:1"), {"type": "basic", "username": "ann", "password": "pw:1"}),
        (("header", "X-Api-Key", "k1"), {"type": "api_key", "name": "X-Api-Key", "api_key": "k1"}),
        (("query", "api_key", "k2"), {"type": "api_key", "name": "api_key", "api_key": "k2", "location": "query"}),
        (
            ("oauth2", "cid", "csecret"),
            {"type": "oauth2_client_credentials", "client_id": "cid", "client_secret": "csecret"},
        ),
        (
            ("oauth2", "cid", "csecret"),
            {
                "type": "oauth2_client_credentials",
                "client_id": "cid",
                "client_secret": "csecret",
                "client_auth": "basic",
            },
        ),
    ],
)
def test_each_auth_type_is_accepted_by_the_server_and_a_wrong_credential_is_not(server_auth, auth):
    with serve(ApiState(auth=server_auth)) as api:
        if auth["type"].startswith("oauth2"):
            auth = {**auth, "token_url": f"{api.url}/token"}
        options = {"url": f"{api.url}/offset", "records_path": "results", "paginate": {"type": "offset", "limit": 50}}
        assert [r["id"] for r in fetch({**options, "auth": auth})] == IDS
        secret_key = {"bearer": "token", "basic": "password", "api_key": "api_key"}.get(auth["type"], "client_secret")
        with pytest.raises(HttpError) as refused:
            fetch({**options, "auth": {**auth, secret_key: "wrong"}})
    assert refused.value.status == 401


def test_secrets_in_auth_and_headers_are_resolved_when_the_client_is_built():
    resolved = {"${secret:env:T}": "tok-9"}
    with serve(ApiState(auth=("bearer", "tok-9"))) as api:
        options = {
            "url": f"{api.url}/offset",
            "records_path": "results",
            "auth": {"type": "bearer", "token": "${secret:env:T}"},
        }
        client = build_client(options, lambda v: resolved.get(v, v))
        assert RestSource().fetch_records(client, stage(**options)) == ITEMS[:10]  # one request, one page
    assert "tok-9" not in repr(client.auth)


def test_an_oauth2_token_the_server_expired_is_fetched_again_on_401_and_the_request_repeated():
    state = ApiState(auth=("oauth2", "cid", "cs"))
    sent: list[str] = []

    def expiring(request: urllib.request.Request, timeout: float) -> Response:
        sent.append(request.full_url)
        if "page=2" in request.full_url and state.tokens_issued == 1:
            state.expire_tokens()  # the token dies while the listing runs
        return urllib_transport(request, timeout)

    with serve(state) as api:
        options = {
            "url": f"{api.url}/pages",
            "records_path": "data.items",
            "paginate": {"type": "page_number", "page_size": 10, "total_path": "meta.total_pages"},
            "auth": {
                "type": "oauth2_client_credentials",
                "token_url": f"{api.url}/token",
                "client_id": "cid",
                "client_secret": "cs",
            },
        }
        client = no_wait_client(options, transport=expiring)
        records = RestSource().fetch_records(client, stage(**options))
        statuses = [(r.path, r.status) for r in state.requests]
    assert [r["id"] for r in records] == IDS
    assert state.tokens_issued == 2
    assert client.counters.token_refreshes == 1
    assert statuses == [
        ("/token", 200),
        ("/pages", 200),
        ("/pages", 401),
        ("/token", 200),
        ("/pages", 200),
        ("/pages", 200),
    ]


def test_an_oauth2_token_is_renewed_before_it_expires():
    clock = FakeClock()
    state = ApiState(auth=("oauth2", "cid", "cs"), token_ttl=100)
    with serve(state) as api:
        auth = OAuth2ClientCredentials(f"{api.url}/token", "cid", "cs", refresh_margin=30, clock=clock)
        first = auth.token()
        clock.now += 60
        assert auth.token() == first
        clock.now += 15  # 25 s left: within the margin
        assert auth.token() != first
    assert auth.fetched == 2


# ---------------------------------------------------------------------------- incremental


def test_an_incremental_read_sends_the_last_value_and_keeps_only_newer_records():
    with serve() as api:
        options = {
            "url": f"{api.url}/offset",
            "records_path": "results",
            "paginate": {"type": "offset", "limit": 10},
            "incremental": {"cursor_path": "updated_at", "param": "since", "initial_value": "2024-03-20T00:00:00Z"},
        }
        first = fetch(options)
        later = fetch(options, previous="2024-03-21T10:00:00Z")
        sent = [r.query.get("since") for r in api.state.requests]
        unfiltered = fetch({**options, "incremental": {"cursor_path": "updated_at"}}, previous="2024-03-22T10:00:00Z")
    assert [r["id"] for r in first] == [20, 21, 22, 23]
    assert [r["id"] for r in later] == [22, 23]
    assert sent == ["2024-03-20T00:00:00Z", "2024-03-21T10:00:00Z"]
    assert [r["id"] for r in unfiltered] == [23]  # no param: every page read, filtered here
    assert newest_value(first, "updated_at", None) == "2024-03-23T10:00:00Z"
    assert newest_value([], "updated_at", "x") == "x"
    assert newest_value([{"n": 9}, {"n": 10}], "n", 2) == 10  # numbers as numbers, not as text


# ---------------------------------------------------------------------------- the sink


def sender(options: dict[str, Any]) -> BatchSender:
    return BatchSender(stage("sink", **options), no_wait_client(options))


def test_the_sink_posts_batches_and_sets_aside_only_the_refused_records():
    rows = [{"id": n, "qty": -1 if n in (4, 9) else n} for n in range(1, 12)]
    with serve() as api:
        batches = sender({"url": f"{api.url}/ingest", "batch_size": 5, "on_reject": "dead_letter"})
        refused = batches.send(iter(rows))
        posted = [len(r.body) for r in api.state.requests]
        ingested = [r["id"] for r in api.state.ingested]
    assert ingested == [n for n in range(1, 12) if n not in (4, 9)]
    assert [(row, reason.split(" answered ")[1][:3]) for row, reason in refused] == [
        ('{"id": 4, "qty": -1}', "422"),
        ('{"id": 9, "qty": -1}', "422"),
    ]
    assert posted == [5, 1, 1, 1, 1, 1, 5, 1, 1, 1, 1, 1, 1]  # each refused batch is sent again record by record
    assert batches.sent == 9


def test_by_default_a_refused_record_fails_the_sink():
    with serve() as api, pytest.raises(Exception, match="the server refused a record"):
        sender({"url": f"{api.url}/ingest", "batch_size": 2}).send(iter([{"id": 1, "qty": 1}, {"id": 2, "qty": -5}]))


def test_the_body_template_wraps_the_batch_and_url_placeholders_put_each_record_at_its_own_url():
    with serve() as api:
        sender(
            {"url": f"{api.url}/ingest", "batch_size": 3, "body_template": {"records": "$records", "source": "etl"}}
        ).send(iter([{"id": n, "qty": n} for n in range(4)]))
        sender({"url": f"{api.url}/things/{{name}}", "method": "PUT", "batch_size": 1}).send(
            iter([{"name": "a b/c", "qty": 1}, {"name": "x", "qty": 2}])
        )
        bodies = [r.body for r in api.state.requests]
        things = api.state.things
    assert bodies[0] == {"records": [{"id": 0, "qty": 0}, {"id": 1, "qty": 1}, {"id": 2, "qty": 2}], "source": "etl"}
    assert things == {"a b/c": {"name": "a b/c", "qty": 1}, "x": {"name": "x", "qty": 2}}


def test_a_send_tried_again_resumes_after_the_records_it_handled():
    records = [{"id": n, "qty": -1 if n == 1 else n} for n in range(7)]
    with serve() as api:
        batches = sender(
            {"url": f"{api.url}/ingest", "batch_size": 2, "on_reject": "dead_letter", "retry": {"attempts": 1}}
        )

        def failing_after_two_batches() -> Iterator[dict[str, Any]]:
            for record in records:
                if record["id"] == 4:
                    api.state.fail_next["/ingest"] = 1  # the third batch is answered 503, with one attempt
                yield record

        with pytest.raises(HttpError, match="503"):
            batches.send(failing_after_two_batches())
        refused = batches.send(iter(records))
        ingested = [r["id"] for r in api.state.ingested]
    assert ingested == [0, 2, 3, 4, 5, 6]  # each accepted record once: the second send began with the third batch
    assert [json.loads(row)["id"] for row, _reason in refused] == [1]
    assert batches.handled == 7


def test_the_sink_retries_a_503_per_batch_without_sending_the_other_batches_again():
    with serve(ApiState(fail_next={"/ingest": 1})) as api:
        batches = sender({"url": f"{api.url}/ingest", "batch_size": 2, "retry": {"jitter": 0}})
        batches.send(iter([{"id": n, "qty": 1} for n in range(5)]))
        statuses = [r.status for r in api.state.requests]
        ingested = [r["id"] for r in api.state.ingested]
    assert statuses == [503, 201, 201, 201]
    assert ingested == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------------------- option checks


def messages(plugin: Any, **options: Any) -> list[str]:
    return [p.message for p in plugin.check_options(options)]


def test_option_checks():
    url = "http://127.0.0.1:1/x"
    assert messages(RestSource, url=url) == []
    assert messages(RestSource, url="ftp://h/x") == ["'ftp://h/x' is not an http:// or https:// URL"]
    assert "credentials in the URL would be logged" in messages(RestSource, url="http://u:p@h/x")
    assert messages(RestSource, url=url, paginate={"type": "cursor"}) == ["pagination cursor needs cursor_path"]
    assert messages(RestSource, url=url, paginate={"type": "offset", "limit": 5, "page_param": "p"}) == [
        "page_param does not apply to pagination offset"
    ]
    assert messages(RestSource, url=url, paginate={"type": "page_number", "total_items_path": "n"}) == [
        "total_items_path needs page_size"
    ]
    assert messages(RestSource, url=url, records_path="a..b") == ["'a..b' is not a dotted path (at character 3)"]
    assert messages(RestSource, url=url, auth={"type": "basic", "username": "u", "token": "t"}) == [
        "auth type basic needs password",
        "token does not apply to auth type basic",
    ]
    assert messages(RestSource, url=url, incremental={"cursor_path": "u"}) == [
        "without a declared schema, a run that finds no new records reads no columns"
    ]
    assert messages(RestSink, url=f"{url}/{{id}}") == ["a url with {column} placeholders needs batch_size: 1"]
    assert messages(RestSink, url=url, body_template={"a": 1}) == [
        'the template holds neither "$records" nor "$record"'
    ]
    assert messages(RestSink, url=url, body_template={"a": "$record"}) == [
        '"$record" needs batch_size: 1; use "$records"'
    ]
