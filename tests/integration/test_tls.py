# HTTPS on the REST listener: with server.tls set, jitsudod speaks TLS (HTTP/1.1 and HTTP/2
# over ALPN) and nothing else on that port.
import subprocess

import pytest
import requests

from harness import Server


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("tls")
    cert, key = root / "server.crt", root / "server.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
         "-days", "1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    server = Server(root / "srv", settings={"server.tls.cert_file": str(cert),
                                            "server.tls.key_file": str(key)})
    server.url = f"https://127.0.0.1:{server.port}"
    server.session.verify = str(cert)
    server.start()
    yield server, cert
    server.stop()


def test_https_serves_the_api(tls_server):
    server, _ = tls_server
    assert server.call("GET", "/healthz").text == "ok\n"
    alice = server.client(("alice@example.com", ("sre",)))
    assert alice.create_ok()["state"] == "REQUEST_STATE_PENDING"


def test_http2_is_negotiated(tls_server):
    server, cert = tls_server
    out = subprocess.run(
        ["curl", "-s", "--http2", "--cacert", str(cert), "-o", "/dev/null", "-w",
         "%{http_version}", server.url + "/version"],
        check=True, capture_output=True, text=True).stdout
    assert out == "2"


def test_plain_http_is_refused(tls_server):
    server, _ = tls_server
    with pytest.raises(requests.RequestException):
        requests.get(f"http://127.0.0.1:{server.port}/healthz", timeout=2).raise_for_status()
