# One jitsudod per database and per address: a second start fails at once with a message
# naming the holder, and never shares the port or the data with the first.
import subprocess
import time

import yaml

from harness import BIN, REPO, expect


def start_second(config_path, timeout=10):
    t0 = time.monotonic()
    p = subprocess.run([str(BIN), "--config", str(config_path)], capture_output=True,
                       text=True, timeout=timeout, cwd=REPO)
    return p, time.monotonic() - t0


def test_second_server_on_same_database_fails_at_once(make_server):
    s = make_server()
    alice = s.client(("alice@example.com", ("sre",)))
    rid = alice.create_ok()["id"]
    p, took = start_second(s.config_path)
    assert p.returncode != 0, p.stderr
    assert took < 5, took
    assert "in use by another jitsudod" in p.stderr, p.stderr
    assert f"pid {s.proc.pid}" in p.stderr, p.stderr
    assert ": listening on" not in p.stderr, p.stderr  # it never served
    # the first one is untouched and the only one answering
    for _ in range(20):
        assert alice.state(rid) == "REQUEST_STATE_PENDING"


def test_second_server_on_same_address_fails(make_server, tmp_path):
    s = make_server()
    other = make_server(start=False)
    config = yaml.safe_load(other.config_path.read_text())
    config["server"]["http_addr"] = f"127.0.0.1:{s.port}"
    other.config_path.write_text(yaml.safe_dump(config))
    p, took = start_second(other.config_path)
    assert p.returncode != 0 and took < 5, (p.returncode, took, p.stderr)
    assert "address is in use" in p.stderr, p.stderr
    expect(s.call("GET", "requests", token=s.token(("alice@example.com", ("sre",)))), 200)


def test_lock_released_after_stop_and_after_kill(make_server):
    s = make_server()
    s.stop()
    s.start()
    s.kill9()
    s.start()  # the kernel dropped the dead process's lock
    assert s.call("GET", "/healthz").status_code == 200
    lock = s.db_path.parent / (s.db_path.name + ".lock")
    assert lock.exists() and (lock.stat().st_mode & 0o077) == 0
    assert f"pid {s.proc.pid}" in lock.read_text()
