# Creating, reading and listing requests: the request object, strict input checking (types,
# unknown fields, durations, scopes per provider, body size), the list filters and paging.
import time

import pytest

from harness import DEFAULT_SPEC, expect, parse_time, show

UNKNOWN_ID = "req_01J8KZ4F2EMNQZ3V7XKQYBD4WX"


def test_create_returns_the_request(alice):
    before = time.time()
    body = expect(alice.create(metadata={"ticket": "INC-1"}, reason="P1 ECS crash"), 200)
    after = time.time()
    req = body["request"]
    assert req["id"].startswith("req_") and len(req["id"]) == 30
    assert req["state"] == "REQUEST_STATE_PENDING"
    assert req["requester_identity"] == "alice@example.com"
    assert req["provider"] == "aws"
    assert req["role"] == "prod-infra-admin"
    assert req["resource_scope"] == "123456789012"
    assert int(req["duration_seconds"]) == 3600
    assert req["reason"] == "P1 ECS crash"
    assert req["break_glass"] is False
    assert req["metadata"] == {"ticket": "INC-1"}
    assert req["approver_tier"] == "human"
    assert req["required_approvals"] == 1
    created = parse_time(req["created_at"])
    assert before - 1 <= created <= after + 1
    assert parse_time(req["updated_at"]) >= created - 1
    # the default pending timeout is 24h
    assert abs(parse_time(req["pending_expires_at"]) - (created + 86400)) <= 2
    for unset in ("issued_at", "expires_at"):
        assert not req.get(unset), f"{unset} must not be set on a PENDING request: {req}"
    assert not req.get("revocation_pending")


def test_get_returns_the_same_request(alice):
    req = alice.create_ok()
    got = expect(alice.get(req["id"]), 200)["request"]
    assert got == req


def test_get_unknown_is_404(alice, admin):
    expect(alice.get(UNKNOWN_ID), 404, "not_found")
    expect(admin.get(UNKNOWN_ID), 404, "not_found")
    for verb, body in (("approve", {"comment": "x"}), ("deny", {"reason": "x"}),
                       ("revoke", {"reason": "x"})):
        r = admin.call("POST", f"requests/{UNKNOWN_ID}/{verb}", json_body=body)
        expect(r, 404, "not_found")
    expect(alice.credentials(UNKNOWN_ID), 404, "not_found")


def test_malformed_id_refused(alice):
    r = alice.get("not-an-id")
    assert r.status_code in (400, 404), show(r)


def test_duration_as_string_of_digits(alice):
    req = alice.create_ok(duration_seconds="1800")
    assert int(req["duration_seconds"]) == 1800


def test_duration_bounds_accepted(alice):
    # min_duration 1s, max_duration 2h in the test config
    alice.create_ok(duration_seconds=1)
    alice.create_ok(duration_seconds=7200)


@pytest.mark.parametrize("raw", [
    "{",
    '{"provider": "aws",',
    "not json",
    "[]",
    '"a string"',
    "42",
    "null",
    '{"provider": "aws"} trailing',
    '{"provider": "aws", "provider": "gcp", "role": "r", "resource_scope": "123456789012", '
    '"duration_seconds": 60, "reason": "dup"}',
])
def test_malformed_json(alice, raw):
    r = alice.call("POST", "requests", data=raw, headers={"Content-Type": "application/json"})
    expect(r, 400, "invalid_argument")


def test_empty_body(alice):
    expect(alice.call("POST", "requests", data=""), 400, "invalid_argument")


@pytest.mark.parametrize("field,value", [
    ("provider", 5),
    ("provider", None),
    ("role", ["admin"]),
    ("resource_scope", 123456789012),
    ("duration_seconds", "abc"),
    ("duration_seconds", "12h"),
    ("duration_seconds", 1.5),
    ("duration_seconds", True),
    ("duration_seconds", ""),
    ("reason", {"text": "x"}),
    ("break_glass", "yes"),
    ("break_glass", 1),
    ("metadata", []),
    ("metadata", "k=v"),
    ("metadata", {"k": 1}),
    ("metadata", {"k": {"nested": "x"}}),
])
def test_wrong_types_name_the_field(alice, field, value):
    expect(alice.create(**{field: value}), 400, "invalid_argument", contains=field)


@pytest.mark.parametrize("field", ["provider", "role", "resource_scope", "duration_seconds",
                                   "reason"])
def test_missing_required_field(alice, field):
    body = dict(DEFAULT_SPEC)
    del body[field]
    r = alice.call("POST", "requests", json_body=body)
    expect(r, 400, "invalid_argument", contains=field)


@pytest.mark.parametrize("field", ["provider", "role", "resource_scope", "reason"])
def test_empty_required_field(alice, field):
    expect(alice.create(**{field: ""}), 400, "invalid_argument", contains=field)


def test_unknown_field_named(alice):
    expect(alice.create(colour="blue"), 400, "invalid_argument", contains="colour")
    expect(alice.create(state="REQUEST_STATE_APPROVED"), 400, "invalid_argument",
           contains="state")


@pytest.mark.parametrize("duration", [0, -1, -3600, 7201, 86400, 2**53])
def test_bad_duration(alice, duration):
    expect(alice.create(duration_seconds=duration), 400, "invalid_argument",
           contains="duration_seconds")


def test_reason_with_control_characters(alice):
    expect(alice.create(reason="line\nbreak\x01"), 400, "invalid_argument", contains="reason")


def test_reason_too_long(alice):
    expect(alice.create(reason="x" * 1025), 400, "invalid_argument", contains="reason")


def test_too_much_metadata(alice):
    many = {f"k{i}": "v" for i in range(33)}
    expect(alice.create(metadata=many), 400, "invalid_argument", contains="metadata")
    expect(alice.create(metadata={"k": "v" * 1025}), 400, "invalid_argument",
           contains="metadata")


def test_unknown_provider(alice):
    expect(alice.create(provider="oracle"), 400, "invalid_argument", contains="provider")


@pytest.mark.parametrize("provider,scope", [
    ("aws", "12345678901"),  # 11 digits
    ("aws", "1234567890123"),  # 13 digits
    ("aws", "12345678901a"),
    ("aws", "*"),
    ("azure", "not-a-uuid"),
    ("azure", "12345678-1234-1234-1234-12345678901"),
    ("azure", "1234567812341234123412345678901z"),
    ("gcp", "My-Project"),
    ("gcp", "UPPERCASE"),
    ("gcp", "1project"),
    ("gcp", "*"),
    ("kubernetes", "Bad_Name"),
    ("kubernetes", "-leading-dash"),
    ("kubernetes", "has space"),
    ("kubernetes", "a" * 64),
    ("kubernetes", "**"),
])
def test_bad_scope_per_provider(alice, provider, scope):
    expect(alice.create(provider=provider, resource_scope=scope), 400, "invalid_argument",
           contains="resource_scope")


@pytest.mark.parametrize("provider,scope", [
    ("aws", "123456789012"),
    ("azure", "0b1f6471-1bf0-4dda-aec3-cb9272f09590"),
    ("gcp", "my-gcp-project"),
    ("kubernetes", "*"),
    ("kubernetes", "kube-system"),
])
def test_good_scope_per_provider(alice, provider, scope):
    req = alice.create_ok(provider=provider, resource_scope=scope)
    assert req["provider"] == provider and req["resource_scope"] == scope


def test_body_over_limit_is_413(alice):
    r = alice.call("POST", "requests", data=b'{"reason": "' + b"x" * (2 * 1024 * 1024) + b'"}',
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 413, show(r)


def test_body_just_over_limit_is_413_json(alice):
    r = alice.call("POST", "requests",
                   data=b'{"reason": "' + b"x" * (1024 * 1024) + b'"}',
                   headers={"Content-Type": "application/json"})
    expect(r, 413, "payload_too_large")


def test_ineligible_is_403_with_policy_reason(mallory, alice):
    expect(mallory.create(), 403, "permission_denied", contains="only sre and dev may request")
    expect(alice.create(role="forbidden-role"), 403, "permission_denied",
           contains="only sre and dev")


# ---- listing ---------------------------------------------------------------------------


def ids(body):
    return [r["id"] for r in body["requests"]]


@pytest.fixture(scope="module")
def listing(people):
    """A few requests in known states, by alice and eve."""
    alice, bob, eve = people["alice"], people["bob"], people["eve"]
    made = {}
    made["a_pending"] = alice.create_ok(reason="list pending")["id"]
    made["a_rejected"] = alice.create_ok(reason="list rejected")["id"]
    expect(bob.deny(made["a_rejected"], "no"), 200)
    made["a_approved"] = alice.create_ok(reason="list approved")["id"]
    expect(bob.approve(made["a_approved"]), 200)
    made["e_pending"] = eve.create_ok(reason="list eve", provider="gcp",
                                      resource_scope="eve-project")["id"]
    return made


def test_list_mine(alice, listing):
    body = expect(alice.list(mine="true", page_size=1000), 200)
    assert all(r["requester_identity"] == "alice@example.com" for r in body["requests"])
    got = set(ids(body))
    assert {listing["a_pending"], listing["a_rejected"], listing["a_approved"]} <= got
    assert listing["e_pending"] not in got


def test_list_newest_first(alice, listing):
    body = expect(alice.list(mine="true", page_size=1000), 200)
    created = [parse_time(r["created_at"]) for r in body["requests"]]
    assert created == sorted(created, reverse=True)
    assert ids(body) == sorted(ids(body), reverse=True)


def test_list_without_filters_shows_only_visible(alice, eve, listing):
    got = set(ids(expect(alice.list(page_size=1000), 200)))
    assert listing["a_pending"] in got and listing["e_pending"] not in got
    got = set(ids(expect(eve.list(page_size=1000), 200)))
    assert listing["e_pending"] in got and listing["a_pending"] not in got


def test_list_pending(bob, listing):
    body = expect(bob.list(pending="true", page_size=1000), 200)
    assert body["requests"], "the approver sees pending requests"
    assert all(r["state"] == "REQUEST_STATE_PENDING" for r in body["requests"])
    got = set(ids(body))
    assert listing["a_pending"] in got and listing["e_pending"] in got
    assert listing["a_rejected"] not in got and listing["a_approved"] not in got


@pytest.mark.parametrize("state", ["REJECTED", "REQUEST_STATE_REJECTED"])
def test_list_state(alice, listing, state):
    body = expect(alice.list(state=state, page_size=1000), 200)
    assert all(r["state"] == "REQUEST_STATE_REJECTED" for r in body["requests"])
    assert listing["a_rejected"] in ids(body)


def test_list_state_approved(alice, listing):
    body = expect(alice.list(state="APPROVED", mine="true", page_size=1000), 200)
    assert listing["a_approved"] in ids(body)
    assert all(r["state"] == "REQUEST_STATE_APPROVED" for r in body["requests"])


def test_list_requester_identity(admin, eve, listing):
    body = expect(admin.list(requester_identity="eve@example.com", page_size=1000), 200)
    assert ids(body) and all(r["requester_identity"] == "eve@example.com"
                             for r in body["requests"])
    assert listing["e_pending"] in ids(body)
    # eve may not see alice's requests through the filter
    body = expect(eve.list(requester_identity="alice@example.com", page_size=1000), 200)
    assert body["requests"] == []


def test_list_mine_with_other_requester_is_empty(alice, listing):
    body = expect(alice.list(mine="true", requester_identity="eve@example.com"), 200)
    assert body["requests"] == []


def test_list_admin_sees_everyone(admin, listing):
    got = set(ids(expect(admin.list(page_size=1000), 200)))
    assert set(listing.values()) <= got


@pytest.mark.parametrize("params,field", [
    ({"state": "BOGUS"}, "state"),
    ({"state": "pending"}, "state"),
    ({"state": "REQUEST_STATE_UNSPECIFIED"}, "state"),
    ({"pending": "true", "state": "APPROVED"}, "state"),
    ({"mine": "maybe"}, "mine"),
    ({"pending": "yes"}, "pending"),
    ({"page_size": "abc"}, "page_size"),
    ({"page_size": "-1"}, "page_size"),
    ({"page_size": "1001"}, "page_size"),
    ({"page_token": "garbage!"}, "page_token"),
    ({"page_token": "YTox"}, "page_token"),  # base64url of "a:1", an audit token
    ({"colour": "blue"}, "colour"),
])
def test_list_bad_query(alice, params, field):
    expect(alice.list(**params), 400, "invalid_argument", contains=field)


def test_list_repeated_parameter(alice):
    r = alice.call("GET", "requests?mine=true&mine=false")
    expect(r, 400, "invalid_argument", contains="mine")


def test_list_pagination_chains(server):
    pager = server.client(("pager@example.com", ("dev",)))
    made = [pager.create_ok(reason=f"page {i}")["id"] for i in range(7)]
    seen, token, pages = [], "", 0
    while True:
        params = {"mine": "true", "page_size": 2}
        if token:
            params["page_token"] = token
        body = expect(pager.list(**params), 200)
        assert len(body["requests"]) <= 2
        seen += ids(body)
        token = body["next_page_token"]
        pages += 1
        assert pages <= 10, "page tokens do not end"
        if not token:
            break
    assert len(seen) == len(set(seen)), f"duplicates across pages: {seen}"
    assert seen == sorted(made, reverse=True)
    assert pages in (4, 5)  # 2+2+2+1 (a last empty page is allowed)


def test_list_default_page_size_100(server):
    bulk = server.client(("bulk@example.com", ("dev",)))
    for i in range(101):
        expect(bulk.create(reason=f"bulk {i}"), 200)
    body = expect(bulk.list(mine="true"), 200)
    assert len(body["requests"]) == 100
    assert body["next_page_token"]
    rest = expect(bulk.list(mine="true", page_token=body["next_page_token"]), 200)
    assert len(rest["requests"]) == 1 and rest["next_page_token"] == ""
    assert not set(ids(body)) & set(ids(rest))
    big = expect(bulk.list(mine="true", page_size=1000), 200)
    assert len(big["requests"]) == 101 and big["next_page_token"] == ""
