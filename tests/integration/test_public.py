# The endpoints that need no token (health, readiness, version, the built-in issuer's
# discovery and keys) and the answers to unknown paths and wrong methods.
import json

import pytest

from harness import expect, rfc7638_thumbprint, show


def test_healthz(server):
    r = server.call("GET", "/healthz")
    assert r.status_code == 200, show(r)
    assert r.text.strip() == "ok"


def test_readyz(server):
    r = server.call("GET", "/readyz")
    assert r.status_code == 200, show(r)
    assert r.text.strip() == "ok"


def test_version(server):
    r = server.call("GET", "/version")
    body = expect(r, 200)
    assert r.headers["Content-Type"].startswith("application/json")
    assert isinstance(body["version"], str) and body["version"]
    assert body["api_versions"] == ["v1alpha1"]


def test_openid_configuration(server):
    body = expect(server.call("GET", "/.well-known/openid-configuration"), 200)
    assert body["issuer"] == server.url
    assert body["jwks_uri"].startswith(server.url)
    assert body["jwks_uri"].endswith("/.well-known/jwks.json")
    assert "ES256" in body["id_token_signing_alg_values_supported"]


def test_jwks_kid_is_rfc7638_thumbprint(server):
    body = expect(server.call("GET", "/.well-known/jwks.json"), 200)
    assert len(body["keys"]) == 1, body
    key = body["keys"][0]
    assert key["kty"] == "EC" and key["crv"] == "P-256"
    assert "d" not in key, "the private key must never be published"
    public = server.issuer_key().public_key()
    assert key["kid"] == rfc7638_thumbprint(public)


def test_unknown_paths_are_404(server, alice):
    for path in ("/", "/nothing", "/api/v1alpha1", "/api/v2/requests"):
        expect(server.call("GET", path), 404, "not_found")
    expect(alice.call("GET", "nothing"), 404, "not_found")
    expect(alice.call("GET", "requests/a/b/c/d"), 404, "not_found")
    expect(alice.call("POST", "requests/req_01J8KZ4F2EMNQZ3V7XKQYBD4WX/explode",
                      json_body={}), 404, "not_found")


@pytest.mark.parametrize("method,path,allow", [
    ("DELETE", "requests", "GET, POST"),
    ("PUT", "requests", "GET, POST"),
    ("DELETE", "requests/req_01J8KZ4F2EMNQZ3V7XKQYBD4WX", "GET"),
    ("POST", "requests/req_01J8KZ4F2EMNQZ3V7XKQYBD4WX", "GET"),
    ("GET", "requests/req_01J8KZ4F2EMNQZ3V7XKQYBD4WX/approve", "POST"),
    ("GET", "requests/req_01J8KZ4F2EMNQZ3V7XKQYBD4WX/deny", "POST"),
    ("GET", "requests/req_01J8KZ4F2EMNQZ3V7XKQYBD4WX/revoke", "POST"),
    ("POST", "requests/req_01J8KZ4F2EMNQZ3V7XKQYBD4WX/credentials", "GET"),
    ("PUT", "policies", "GET, POST"),
    ("POST", "policies/pol_x", "GET, DELETE"),
    ("GET", "policies:eval", "POST"),
    ("POST", "audit", "GET"),
    ("GET", "admin/reload-policies", "POST"),
])
def test_wrong_method_is_405_with_allow(alice, method, path, allow):
    r = alice.call(method, path)
    expect(r, 405, "method_not_allowed")
    assert r.headers.get("Allow") == allow, show(r)


def test_error_bodies_are_json(alice):
    r = alice.call("GET", "requests/req_01J8KZ4F2EMNQZ3V7XKQYBD4WX")
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    body = json.loads(r.text)
    assert set(body) == {"code", "message"}, body
