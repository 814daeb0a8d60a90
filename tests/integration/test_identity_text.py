# Identities are normalised where a token is verified (an email in another case is the same
# person, so never-the-requester holds), identity and group claims that could pass for
# another name are refused, and free text (reasons, comments) must say something visible.
# Tokens are strict too: one encoding of a signature, not several.
import pytest

from harness import DEFAULT_SPEC, expect


def test_requester_in_other_case_cannot_approve(server, alice, bob):
    rid = alice.create_ok()["id"]
    # alice's own identity provider spelling her address with capitals, in a group that
    # may approve: still alice.
    token = server.forge({"email": "Alice@Example.COM", "sub": "alice",
                          "groups": ["approvers"]})
    r = server.call("POST", f"requests/{rid}/approve", token=token, json_body={})
    expect(r, 403, "permission_denied", "your own request")
    assert alice.state(rid) == "REQUEST_STATE_PENDING"
    refused = [e for e in bob.audit_all(request_id=rid)
               if e["action"] == "request.approve_refused"]
    assert refused and refused[-1]["actor_identity"] == "alice@example.com", refused


def test_identity_is_folded_to_lower_case(server, alice):
    token = server.forge({"email": "ALICE@EXAMPLE.COM"})
    r = server.call("POST", "requests", token=token, json_body=dict(DEFAULT_SPEC))
    req = expect(r, 200)["request"]
    assert req["requester_identity"] == "alice@example.com"
    # the same person under her usual spelling sees it as hers and may fetch its grant
    mine = expect(alice.list(mine="true"), 200)["requests"]
    assert req["id"] in [m["id"] for m in mine]
    # a filter in another case finds it too
    listed = expect(alice.list(requester_identity="Alice@example.com"), 200)["requests"]
    assert req["id"] in [m["id"] for m in listed]


def test_second_approval_in_other_case_is_not_a_second_approver(server, alice, bob):
    rid = alice.create_ok(role="two-person-role")["id"]
    expect(bob.approve(rid), 200)
    token = server.forge({"email": "BOB@example.com", "sub": "bob", "groups": ["approvers"]})
    r = server.call("POST", f"requests/{rid}/approve", token=token, json_body={})
    expect(r, 409, "failed_precondition", "already approved")
    assert alice.state(rid) == "REQUEST_STATE_PENDING"


BAD_NAMES = [
    ("\x1b[31malice@example.com", "control"),
    ("alice@example.com\r\nx", "control"),
    ("alice@example.com\x00", None),  # a NUL: refused before the text rules
    ("alice@example.com\u202e", "bidirectional"),
    ("\u2066alice@example.com", "bidirectional"),
    (" alice@example.com", "white space"),
    ("alice@example.com\u00a0", "white space"),
    ("\u200b", None),
]


@pytest.mark.parametrize("value,why", BAD_NAMES)
def test_bad_email_claim_refused(server, value, why):
    token = server.forge({"email": value})
    body = expect(server.call("GET", "requests", token=token), 401, "unauthenticated")
    if why:
        assert "email claim" in body["message"] and why in body["message"], body


@pytest.mark.parametrize("value,why", [v for v in BAD_NAMES if v[1]])
def test_bad_group_claim_refused(server, value, why):
    token = server.forge({"groups": ["sre", value.replace("alice@example.com", "sre")]})
    body = expect(server.call("GET", "requests", token=token), 401, "unauthenticated")
    assert "groups claim" in body["message"] and why in body["message"], body


def test_bad_sub_claim_refused(server):
    token = server.forge({"sub": "alice\u202e"})
    body = expect(server.call("GET", "requests", token=token), 401, "unauthenticated")
    assert "sub claim" in body["message"], body


def test_unicode_names_that_are_plain_are_accepted(server):
    # the control: letters beyond ASCII are not refused
    token = server.forge({"email": "zoë@example.com", "groups": ["sre", "équipe"]})
    expect(server.call("GET", "requests", token=token), 200)


@pytest.mark.parametrize("reason,why", [
    ("   ", "only white space"),
    ("\t", "control"),
    ("\u00a0\u3000\u200b", "only white space"),
    ("INC-1 \x1b[2J", "control"),
    ("INC-1\nrm", "control"),
    ("INC-1 \u202egnp.exe", "bidirectional"),
    ("ok\u2069", "bidirectional"),
    ("x\u0085", "control"),
])
def test_bad_reason_refused(server, alice, bob, reason, why):
    r = alice.create(reason=reason)
    body = expect(r, 400, "invalid_argument", "reason")
    assert why in body["message"], body
    rid = alice.create_ok()["id"]
    expect(bob.deny(rid, reason=reason), 400, "invalid_argument", why)
    expect(bob.approve(rid, comment=reason), 400, "invalid_argument", "comment")
    assert alice.state(rid) == "REQUEST_STATE_PENDING"


def test_plain_unicode_reason_accepted(alice):
    req = alice.create_ok(reason="Störung INC-4421 — 数据库")
    assert req["reason"] == "Störung INC-4421 — 数据库"


def _variants(token):
    head, claims, sig = token.split(".")
    # an ES256 signature is 64 bytes: 86 characters whose last holds 4 unused bits
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(sig[-1])
    other = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last ^ 1]
    return {
        "padding": f"{head}.{claims}.{sig}==",
        "one pad": f"{head}.{claims}.{sig}=",
        "stray bits": f"{head}.{claims}.{sig[:-1]}{other}",
        "standard alphabet": f"{head}.{claims}.{sig.replace('-', '+').replace('_', '/')}",
    }


def test_signature_must_be_strict_base64url(server):
    token = server.forge()
    expect(server.call("GET", "requests", token=token), 200)  # the control
    assert len(token.split(".")[2]) == 86
    for name, variant in _variants(token).items():
        if variant == token:
            continue
        r = server.call("GET", "requests", token=variant)
        assert r.status_code == 401, f"{name}: {r.status_code} {r.text}"
