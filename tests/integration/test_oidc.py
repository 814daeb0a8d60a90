# jitsudod trusting a real external OpenID Connect provider (glewlwyd, through its discovery
# document and JWKS): its ID tokens identify the caller by the email claim and carry groups;
# expired, tampered, foreign-audience and foreign-issuer tokens are refused; and a whole
# request -> approve -> credentials cycle runs on glewlwyd's tokens alone.
import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import harness
import oidc_support
from harness import expect, show
from oidc_support import ALICE, BOB, glewlwyd, make_glewlwyd, provider  # noqa: F401 (fixtures)

SPEC = {"provider": "aws", "role": "prod-infra-admin", "resource_scope": "123456789012",
        "duration_seconds": 600, "reason": "glewlwyd login test"}


@pytest.fixture(scope="module")
def jitsudod(glewlwyd, tmp_path_factory):  # noqa: F811
    """A jitsudod trusting glewlwyd (audience jitsudo-cli), the built-in issuer off."""
    yield from oidc_support.serve_jitsudod(glewlwyd, tmp_path_factory.mktemp("jitsudod-oidc"))


@pytest.fixture(scope="module")
def tokens(glewlwyd):  # noqa: F811
    """ID tokens of alice and bob, each from a whole device grant."""
    return {"alice": glewlwyd.device_token(ALICE)["id_token"],
            "bob": glewlwyd.device_token(BOB)["id_token"]}


def claims_of(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def resign(provider, token, **changes):  # noqa: F811
    """The token's claims changed and signed again with glewlwyd's own key and kid."""
    header = jwt.get_unverified_header(token)
    body = claims_of(token)
    body.update(changes)
    return jwt.encode(body, provider.key, algorithm="RS256", headers={"kid": header["kid"]})


def create(server, token, **spec):
    body = dict(SPEC)
    body.update(spec)
    return server.call("POST", "requests", token=token, json_body=body)


def test_glewlwyd_token_shape(glewlwyd, tokens):  # noqa: F811
    """What the rest relies on: RS256 with a kid from the JWKS, email and groups claims."""
    header = jwt.get_unverified_header(tokens["alice"])
    assert header["alg"] == "RS256"
    jwks = oidc_support.session().get(glewlwyd.discovery()["jwks_uri"], timeout=10).json()
    assert header["kid"] in [k.get("kid") for k in jwks["keys"]]
    c = claims_of(tokens["alice"])
    assert c["iss"] == glewlwyd.issuer
    assert c["aud"] == oidc_support.CLIENT_ID
    assert c["email"] == "alice@example.test"
    assert c["groups"] == ["sre"]
    assert claims_of(tokens["bob"])["groups"] == ["sre-leads"]


def test_identity_and_groups_from_glewlwyd(jitsudod, tokens):
    req = expect(create(jitsudod, tokens["alice"]), 200)["request"]
    assert req["requester_identity"] == "alice@example.test"
    # bob's groups (sre-leads) are not eligible under the test policy: the groups claim counts
    expect(create(jitsudod, tokens["bob"]), 403, contains="only sre may request")


def test_request_approve_credentials_cycle(jitsudod, tokens):
    alice, bob = tokens["alice"], tokens["bob"]
    req = expect(create(jitsudod, alice), 200)["request"]
    assert req["state"] == "REQUEST_STATE_PENDING"
    # the requester cannot approve; bob (sre-leads) can
    r = jitsudod.call("POST", f"requests/{req['id']}/approve", token=alice, json_body={})
    assert r.status_code == 403, show(r)
    r = jitsudod.call("POST", f"requests/{req['id']}/approve", token=bob,
                      json_body={"comment": "ok"})
    approved = expect(r, 200)["request"]
    assert approved["state"] == "REQUEST_STATE_APPROVED"
    grant = expect(jitsudod.call("GET", f"requests/{req['id']}/credentials", token=alice),
                   200)["grant"]
    names = {c["name"] for c in grant["credentials"]}
    assert "AWS_ACCESS_KEY_ID" in names, grant
    # bob may not fetch alice's credentials
    r = jitsudod.call("GET", f"requests/{req['id']}/credentials", token=bob)
    assert r.status_code == 403, show(r)
    audit = expect(jitsudod.call("GET", "audit", token=alice,
                                 params={"request_id": req["id"]}), 200)["events"]
    actors = {e["actor_identity"] for e in audit}
    assert {"alice@example.test", "bob@example.test"} <= actors, audit


def test_expired_token_refused(jitsudod, provider, tokens):  # noqa: F811
    now = int(time.time())
    old = resign(provider, tokens["alice"], iat=now - 7200, auth_time=now - 7200,
                 exp=now - 3600)
    expect(create(jitsudod, old), 401, "unauthenticated", contains="expired")


def test_resigned_unchanged_token_accepted(jitsudod, provider, tokens):  # noqa: F811
    """Control for the forgeries: the same claims signed again with glewlwyd's key pass."""
    expect(create(jitsudod, resign(provider, tokens["alice"])), 200)


def test_tampered_token_refused(jitsudod, tokens):
    head, payload, sig = tokens["bob"].split(".")
    c = claims_of(tokens["bob"])
    c["groups"] = ["sre"]
    forged = base64.urlsafe_b64encode(json.dumps(c).encode()).rstrip(b"=").decode()
    expect(create(jitsudod, f"{head}.{forged}.{sig}"), 401, "unauthenticated")
    # a flipped bit in the signature
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    expect(create(jitsudod, f"{head}.{payload}.{flipped}"), 401, "unauthenticated")


def test_other_client_audience_refused(jitsudod, glewlwyd):  # noqa: F811
    token = glewlwyd.device_token(ALICE, client_id=oidc_support.OTHER_CLIENT_ID)["id_token"]
    assert claims_of(token)["aud"] == oidc_support.OTHER_CLIENT_ID
    expect(create(jitsudod, token), 401, "unauthenticated", contains="audience")


def test_other_issuer_refused(jitsudod, make_glewlwyd):  # noqa: F811
    """Another glewlwyd (same key, other URL, not configured) is not trusted."""
    other = make_glewlwyd()
    token = other.device_token(ALICE)["id_token"]
    assert claims_of(token)["iss"] == other.issuer
    expect(create(jitsudod, token), 401, "unauthenticated")


def test_glewlwyd_access_token_refused(jitsudod, glewlwyd):  # noqa: F811
    """The access token (aud = the scope, no email) is not an ID token for jitsudo."""
    access = glewlwyd.device_token(ALICE)["access_token"]
    expect(create(jitsudod, access), 401, "unauthenticated")


def test_builtin_and_glewlwyd_together(glewlwyd, tokens, make_server):  # noqa: F811
    """Both issuers enabled: each is verified with its own keys."""
    import tempfile
    policies = oidc_support.write_policies(tempfile.mkdtemp(prefix="jit-pol-"))
    s = make_server(oidc_support.jitsudod_settings(glewlwyd), policies_dir=policies)
    expect(create(s, tokens["alice"]), 200)
    expect(create(s, s.token(("carol@example.com", ("sre",)))), 200)
    # a built-in-issuer token claiming glewlwyd's iss is checked against glewlwyd's keys
    forged = s.forge({"iss": glewlwyd.issuer, "aud": oidc_support.CLIENT_ID})
    expect(create(s, forged), 401, "unauthenticated")


def test_glewlwyd_unreachable_at_first_use(make_glewlwyd, make_server, provider):  # noqa: F811
    """jitsudod started while glewlwyd is down refuses its tokens (fail closed) and accepts
    them once glewlwyd's keys can be fetched."""
    import tempfile
    g = make_glewlwyd()
    token = g.device_token(ALICE)["id_token"]
    g.stop()
    policies = oidc_support.write_policies(tempfile.mkdtemp(prefix="jit-pol-"))
    s = make_server(oidc_support.jitsudod_settings(g), policies_dir=policies)
    body = expect(create(s, token), 503, "unavailable", contains="issuer's keys")
    assert token not in body["message"]
    g.start()
    harness.wait_for(lambda: create(s, token).status_code == 200, 15,
                     interval=0.5, what="jitsudod to fetch glewlwyd's keys")


def test_key_rotation(make_glewlwyd, make_server, provider, tmp_path):  # noqa: F811
    """glewlwyd changes its signing key: tokens under the new key are accepted once jitsudod
    fetches the JWKS again (an unknown kid triggers it, at most once per 30 s), and a token
    under the withdrawn key that jitsudod has not seen before is refused from then on."""
    g = make_glewlwyd()
    s = make_server(oidc_support.jitsudod_settings(g),
                    policies_dir=oidc_support.write_policies(tmp_path / "policies"))
    old = g.device_token(ALICE)["id_token"]
    expect(create(s, old), 200)

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    g.set_plugin(
        key=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode(),
        cert=key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo).decode())
    new = g.device_token(ALICE)["id_token"]
    assert jwt.get_unverified_header(new)["kid"] != jwt.get_unverified_header(old)["kid"]
    t0 = time.monotonic()
    harness.wait_for(lambda: create(s, new).status_code == 200, 40, interval=1,
                     what="jitsudod to accept a token under glewlwyd's new key")
    assert time.monotonic() - t0 < 35
    # never seen before, signed with the withdrawn key: refused
    unseen = resign(provider, old, iat=int(time.time()))
    expect(create(s, unseen), 401, "unauthenticated")
