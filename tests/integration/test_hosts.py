# Host authentication: a jump host's agent signs short-lived ES256 tokens with its host key and
# acts for a user. Checks the identity globs, the groups a host may assert, the refusals (unknown
# host, wrong key, expiry, lifetime, algorithm tricks), the host in audit events and in the
# policy input, and that a host never acts with admin rights.
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

import harness
from harness import expect, details


def public_pem(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def keys():
    return {"jump1": harness.new_ec_key(), "jump2": harness.new_ec_key()}


@pytest.fixture(scope="module")
def hosted(tmp_path_factory, keys):
    root = tmp_path_factory.mktemp("hosts")
    for name, key in keys.items():
        (root / f"{name}.pub").write_bytes(public_pem(key))
    settings = {
        "hosts": [
            {"name": "jump1", "public_key_file": str(root / "jump1.pub"),
             "identities": "*@example.com", "groups": ["sre", "dev", "approvers"]},
            {"name": "jump2", "public_key_file": str(root / "jump2.pub"),
             "identities": ["alice@example.com"]},
        ],
    }
    s = harness.Server(root / "srv", settings)
    s.start()
    yield s
    assert s.stop() in (0, None)


def host_token(key, host, sub, groups=(), ttl=60, claims=None, headers=None, algorithm="ES256",
               drop=()):
    now = int(time.time())
    body = {"iss": f"jitsudo-host:{host}", "aud": "jitsudo", "sub": sub, "groups": list(groups),
            "iat": now, "exp": now + ttl, "jti": uuid.uuid4().hex}
    body.update(claims or {})
    for name in drop:
        body.pop(name, None)
    return jwt.encode(body, key, algorithm=algorithm, headers=headers)


def create(server, token, **spec):
    body = dict(harness.DEFAULT_SPEC)
    body.update(spec)
    return server.call("POST", "requests", token=token, json_body=body)


def test_host_acts_for_an_allowed_identity(hosted, keys):
    t = host_token(keys["jump1"], "jump1", "alice@example.com", ["sre"])
    req = expect(create(hosted, t), 200)["request"]
    assert req["requester_identity"] == "alice@example.com"
    assert req["host"] == "jump1"
    # The same user, directly, sees the request made through the host.
    alice = hosted.client(harness.ALICE)
    assert alice.get(req["id"]).status_code == 200
    # The host acting for bob cannot see alice's request.
    tb = host_token(keys["jump1"], "jump1", "bob@example.com", [])
    assert hosted.call("GET", f"requests/{req['id']}", token=tb).status_code == 404


def test_identity_outside_the_glob_is_refused(hosted, keys):
    for host, sub in (("jump1", "alice@evil.example"), ("jump1", "alice@example.com.evil"),
                      ("jump2", "bob@example.com")):
        r = create(hosted, host_token(keys[host], host, sub, ["sre"]))
        expect(r, 401, contains="identity not allowed")


def test_groups_the_host_may_not_assert_are_dropped(hosted, keys):
    # jump2 may assert no group: alice's sre membership does not count, so she is not
    # eligible through it.
    r = create(hosted, host_token(keys["jump2"], "jump2", "alice@example.com", ["sre"]))
    expect(r, 403, contains="not eligible")
    # jump1 may assert sre.
    expect(create(hosted, host_token(keys["jump1"], "jump1", "alice@example.com", ["sre"])),
           200)


def test_a_host_never_acts_as_admin(hosted, keys):
    t = host_token(keys["jump1"], "jump1", "admin@example.com", ["jitsudo-admins"])
    expect(hosted.call("POST", "admin/reload-policies", token=t, json_body={}), 403)
    # Even with the admin group allowed for the host, the rights stay a user's: jump1 may
    # not assert jitsudo-admins anyway, and host calls are never admin.
    admin = hosted.client(harness.ADMIN)
    expect(admin.reload(), 200)


@pytest.mark.parametrize("case", [
    "unknown host", "wrong key", "expired", "too long lived", "no jti", "wrong audience",
    "hs256 with the public key", "alg none", "no exp", "future iat", "es384 header",
])
def test_bad_host_tokens_are_refused(hosted, keys, case):
    alice = "alice@example.com"
    k = keys["jump1"]
    now = int(time.time())
    if case == "unknown host":
        t = host_token(k, "jump9", alice, ["sre"])
    elif case == "wrong key":
        t = host_token(keys["jump2"], "jump1", alice, ["sre"])
    elif case == "expired":
        t = host_token(k, "jump1", alice, ["sre"], claims={"iat": now - 400, "exp": now - 100})
    elif case == "too long lived":
        t = host_token(k, "jump1", alice, ["sre"], ttl=3600)
    elif case == "no jti":
        t = host_token(k, "jump1", alice, ["sre"], drop=("jti",))
    elif case == "wrong audience":
        t = host_token(k, "jump1", alice, ["sre"], claims={"aud": "other"})
    elif case == "hs256 with the public key":
        claims = {"iss": "jitsudo-host:jump1", "aud": "jitsudo", "sub": alice,
                  "groups": ["sre"], "iat": now, "exp": now + 60, "jti": "x"}
        t = hosted.forge_raw({"alg": "HS256", "typ": "JWT"}, claims,
                             harness.hs256_signer(public_pem(k)))
    elif case == "alg none":
        claims = {"iss": "jitsudo-host:jump1", "aud": "jitsudo", "sub": alice,
                  "iat": now, "exp": now + 60, "jti": "x"}
        t = hosted.forge_raw({"alg": "none"}, claims, lambda data: b"")
        t = t.rstrip(".") + "."
    elif case == "no exp":
        t = host_token(k, "jump1", alice, ["sre"], drop=("exp",))
    elif case == "future iat":
        t = host_token(k, "jump1", alice, ["sre"], claims={"iat": now + 600, "exp": now + 700})
    elif case == "es384 header":
        # A valid ES256 signature under a header that claims another algorithm.
        claims = {"iss": "jitsudo-host:jump1", "aud": "jitsudo", "sub": alice,
                  "iat": now, "exp": now + 60, "jti": "x"}
        good = host_token(k, "jump1", alice, claims=claims)
        sig = good.split(".")[2]
        t = hosted.forge_raw({"alg": "ES384"}, claims, lambda data: b"")
        t = t.rsplit(".", 1)[0] + "." + sig
    r = create(hosted, t)
    expect(r, 401)
    assert "token" in r.text or "host" in r.text


def test_a_host_token_is_accepted_once(hosted, keys):
    t = host_token(keys["jump1"], "jump1", "alice@example.com", ["sre"])
    req = expect(create(hosted, t, reason="replay"), 200)["request"]
    # The same token again, on any endpoint: refused, with a clear reason.
    for method, path in (("POST", "requests"), ("GET", f"requests/{req['id']}"),
                         ("GET", "requests?mine=true")):
        body = dict(harness.DEFAULT_SPEC) if method == "POST" else None
        r = hosted.call(method, path, token=t, json_body=body)
        expect(r, 401, contains="already used")
    # Fresh tokens (new jti) for the same user keep working, also the same jti from another
    # host's key is that host's own.
    for _ in range(3):
        tf = host_token(keys["jump1"], "jump1", "alice@example.com", ["sre"])
        expect(hosted.call("GET", f"requests/{req['id']}", token=tf), 200)
    jti = uuid.uuid4().hex
    t1 = host_token(keys["jump1"], "jump1", "alice@example.com", claims={"jti": jti})
    t2 = host_token(keys["jump2"], "jump2", "alice@example.com", claims={"jti": jti})
    expect(hosted.call("GET", f"requests/{req['id']}", token=t1), 200)
    expect(hosted.call("GET", f"requests/{req['id']}", token=t2), 200)
    # A token refused for another reason takes no place: the good one with its jti passes.
    jti = uuid.uuid4().hex
    bad = host_token(keys["jump2"], "jump1", "alice@example.com", claims={"jti": jti})
    expect(hosted.call("GET", f"requests/{req['id']}", token=bad), 401, contains="signature")
    good = host_token(keys["jump1"], "jump1", "alice@example.com", claims={"jti": jti})
    expect(hosted.call("GET", f"requests/{req['id']}", token=good), 200)


def test_audit_events_carry_the_host(hosted, keys):
    t = host_token(keys["jump1"], "jump1", "alice@example.com", ["sre"])
    req = expect(create(hosted, t, reason="audit host"), 200)["request"]
    bob = hosted.client(harness.BOB)
    expect(bob.approve(req["id"]), 200)
    t = host_token(keys["jump1"], "jump1", "alice@example.com", ["sre"])
    expect(hosted.call("GET", f"requests/{req['id']}/credentials", token=t), 200)
    admin = hosted.client(harness.ADMIN)
    events = admin.audit_all(request_id=req["id"])
    by_action = {e["action"]: details(e) for e in events}
    assert by_action["request.created"].get("host") == "jump1"
    assert by_action["grant.fetched"].get("host") == "jump1"
    assert by_action["request.activated"].get("host") == "jump1"
    # bob approved directly: no host on that event.
    assert "host" not in by_action["request.approved"]
    # A refusal caused through the host is recorded with the host too.
    t2 = host_token(keys["jump1"], "jump1", "mallory@example.com", [])
    expect(create(hosted, t2, role="some-role"), 403)
    refused = [e for e in admin.audit_all(actor_identity="mallory@example.com")
               if e["action"] == "request.refused"]
    assert refused and details(refused[-1]).get("host") == "jump1"
    assert hosted.audit_verify().returncode == 0


def test_a_policy_can_use_the_host(hosted, keys):
    admin = hosted.client(harness.ADMIN)
    rego = """package jitsudo.eligibility
import rego.v1
allow if {
	input.context.host == "jump1"
	input.request.role == "jump-only-role"
}
"""
    expect(admin.apply_policy("jump-only", "POLICY_TYPE_ELIGIBILITY", rego, enabled=True), 200)
    mallory = hosted.client(harness.MALLORY)
    expect(mallory.create(role="jump-only-role"), 403)
    t = host_token(keys["jump1"], "jump1", "mallory@example.com", [])
    req = expect(create(hosted, t, role="jump-only-role"), 200)["request"]
    assert req["host"] == "jump1"
