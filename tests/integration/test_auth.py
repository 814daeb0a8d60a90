# Bearer tokens: the built-in issuer's tokens and correctly forged ones are accepted (the
# controls), and every kind of bad token is 401 before any handler runs.
import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from harness import ADMIN, b64url, expect, hs256_signer, new_ec_key, show


def list_with(server, token, **kw):
    return server.call("GET", "requests", token=token, **kw)


def test_cli_token_accepted(server):
    body = expect(list_with(server, server.token(("alice@example.com", ("sre",)))), 200)
    assert "requests" in body and body["next_page_token"] == ""


def test_forged_control_token_accepted(server):
    # The forging below is right in every other respect: a good forged token passes.
    expect(list_with(server, server.forge()), 200)


def test_forged_admin_token_is_admin(server):
    # The groups of a verified token count: this one may reload policies.
    token = server.forge({"email": "root@example.com", "sub": "root@example.com",
                          "groups": ["jitsudo-admins"]})
    expect(server.call("POST", "admin/reload-policies", token=token, json_body={}), 200)


def test_missing_authorization(server):
    expect(list_with(server, None), 401, "unauthenticated")


@pytest.mark.parametrize("value", [
    "Basic YWxpY2U6c2VjcmV0",
    "Bearer",
    "Bearer ",
    "Bearer notatoken",
    "Bearer a.b.c",
    "Bearer ...",
    "Bearer eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
])
def test_garbage_authorization(server, value):
    r = server.call("GET", "requests", headers={"Authorization": value})
    expect(r, 401, "unauthenticated")


def test_long_tokens(server):
    expect(list_with(server, "x" * 7000), 401, "unauthenticated")
    # past the HTTP layer's header limit: refused one way or another, never served
    r = list_with(server, "x" * 20000)
    assert r.status_code in (400, 401, 413, 431), show(r)
    assert server.call("GET", "/healthz").status_code == 200


def test_expired_token(server):
    now = int(time.time())
    token = server.forge({"iat": now - 7200, "nbf": now - 7200, "exp": now - 3600})
    expect(list_with(server, token), 401, "unauthenticated", contains="expired")


def test_not_yet_valid_token(server):
    now = int(time.time())
    token = server.forge({"nbf": now + 3600, "exp": now + 7200})
    expect(list_with(server, token), 401, "unauthenticated")


def test_missing_exp(server):
    expect(list_with(server, server.forge(drop=("exp",))), 401, "unauthenticated")


def test_wrong_audience(server):
    token = server.forge({"aud": "someone-else"})
    expect(list_with(server, token), 401, "unauthenticated", contains="audience")


def test_wrong_issuer(server):
    token = server.forge({"iss": "http://evil.example.com"})
    expect(list_with(server, token), 401, "unauthenticated")


def test_missing_email(server):
    expect(list_with(server, server.forge(drop=("email",))), 401, "unauthenticated")


def test_email_not_verified(server):
    expect(list_with(server, server.forge({"email_verified": False})), 401, "unauthenticated")


def test_alg_none(server):
    now = int(time.time())
    claims = {"iss": server.url, "aud": "jitsudo", "sub": "x@example.com",
              "email": "x@example.com", "groups": ["jitsudo-admins"], "iat": now,
              "exp": now + 3600}
    header = {"alg": "none", "typ": "JWT", "kid": server.jwks_kid()}
    token = server.forge_raw(header, claims, lambda data: b"")
    expect(list_with(server, token), 401, "unauthenticated")
    # not even with a trailing signature, nor for a write
    expect(server.call("POST", "admin/reload-policies", token=token + "AAAA", json_body={}),
           401, "unauthenticated")


def test_hs256_with_public_key_as_secret(server):
    public_pem = server.issuer_key().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    claims = {"iss": server.url, "aud": "jitsudo", "sub": "x@example.com",
              "email": "x@example.com", "groups": ["jitsudo-admins"], "iat": now,
              "exp": now + 3600}
    header = {"alg": "HS256", "typ": "JWT", "kid": server.jwks_kid()}
    token = server.forge_raw(header, claims, hs256_signer(public_pem))
    expect(list_with(server, token), 401, "unauthenticated")
    # and the JWK form of the public key as the secret
    jwk = json.dumps(expect(server.call("GET", "/.well-known/jwks.json"), 200)["keys"][0])
    token = server.forge_raw(header, claims, hs256_signer(jwk.encode()))
    expect(list_with(server, token), 401, "unauthenticated")


def test_unknown_kid(server):
    # the real key, but a kid nobody published
    expect(list_with(server, server.forge(headers={"kid": "not-a-published-kid"})), 401,
           "unauthenticated")
    # a stranger's key under its own kid
    expect(list_with(server, server.forge(key=new_ec_key(), headers={"kid": "stranger"})), 401,
           "unauthenticated")


def test_missing_kid(server):
    token = server.forge()
    head, rest = token.split(".", 1)
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    del header["kid"]
    forged_head = b64url(json.dumps(header, separators=(",", ":")).encode())
    expect(list_with(server, forged_head + "." + rest), 401, "unauthenticated")


def test_published_kid_other_key(server):
    # a stranger's key claiming the issuer's kid: the signature does not verify
    expect(list_with(server, server.forge(key=new_ec_key())), 401, "unauthenticated")


def test_rs256_under_ec_kid(server):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    expect(list_with(server, server.forge(key=key, algorithm="RS256")), 401, "unauthenticated")


def test_tampered_payload(server):
    token = server.token(("alice@example.com", ("sre",)))
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["groups"] = ["jitsudo-admins"]
    forged = b64url(json.dumps(claims, separators=(",", ":")).encode())
    bad = f"{head}.{forged}.{sig}"
    r = server.call("POST", "admin/reload-policies", token=bad, json_body={})
    expect(r, 401, "unauthenticated")
    # the untouched token is not an admin's
    r = server.call("POST", "admin/reload-policies", token=token, json_body={})
    assert r.status_code == 403, show(r)


def test_token_of_other_server_refused(server, make_server):
    # a token of another jitsudod's built-in issuer (its own key and URL)
    other = make_server(start=False)
    p = other.run_cli("token", "--config", str(other.config_path), "--user",
                      ADMIN[0], "--groups", "jitsudo-admins", check=True)
    expect(list_with(server, p.stdout.strip()), 401, "unauthenticated")
