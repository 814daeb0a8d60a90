# The `jitsudo` CLI against a real jitsudod: every command in every output format (the json
# and yaml outputs parsed and compared with the API's objects fetched directly), the seed
# outputs, --wait, exit codes (usage 2 naming the flag, refused 1, server down or failing 75),
# settings precedence and help. The helpers here are shared by the other test_cli_*.py files.
import http.server
import json
import os
import pty
import re
import select
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

import harness
from harness import ALICE, BOB, ADMIN, EVE, MALLORY, expect

# The CLI next to the jitsudod under test (build/bin/jitsudo; build-asan/bin/jitsudo in
# `make asan`), unless JITSUDO_CLI_BIN names another.
JITSUDO = Path(os.environ.get("JITSUDO_CLI_BIN")
               or harness.BIN.parent / "bin" / "jitsudo").resolve()
SPEC = ["--provider", "aws", "--role", "prod-infra-admin", "--scope", "123456789012",
        "--duration", "1h", "--reason", "cli test"]


class Cli:
    """Runs jitsudo with a clean environment: a private HOME, the server's URL, a token."""

    def __init__(self, server, home):
        self.server = server
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)

    def env(self, who=None, extra=None):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "NO_PROXY": "*",
        }
        if self.server is not None:
            env["JITSUDO_SERVER"] = self.server.url
        if who is not None:
            env["JITSUDO_TOKEN"] = self.server.token(who)
        env.update(extra or {})
        return {k: v for k, v in env.items() if v is not None}

    def run(self, *args, who=None, env=None, input=None, timeout=30):
        return subprocess.run([str(JITSUDO), *args], capture_output=True, text=True,
                              input=input, timeout=timeout, env=self.env(who, env),
                              cwd=str(self.home))

    def popen(self, *args, who=None, env=None, **kw):
        return subprocess.Popen([str(JITSUDO), *args], env=self.env(who, env),
                                cwd=str(self.home), **kw)

    def ok(self, *args, **kw):
        p = self.run(*args, **kw)
        assert p.returncode == 0, f"jitsudo {' '.join(args)} -> {p.returncode}\n{p.stderr}"
        return p.stdout

    def json(self, *args, **kw):
        return json.loads(self.ok("-o", "json", *args, **kw))

    def yaml(self, *args, **kw):
        return yaml.safe_load(self.ok("-o", "yaml", *args, **kw))

    def fails(self, code, *args, contains=(), **kw):
        p = self.run(*args, **kw)
        assert p.returncode == code, (
            f"jitsudo {' '.join(args)} -> {p.returncode}, wanted {code}\n"
            f"stdout: {p.stdout}\nstderr: {p.stderr}")
        assert p.stdout == "" or code == 1, p.stdout
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("jitsudo: "), p.stderr
        for text in ([contains] if isinstance(contains, str) else contains):
            assert text in p.stderr, f"{text!r} not in {p.stderr!r}"
        return p.stderr


def need_binary():
    if not os.access(JITSUDO, os.X_OK):
        pytest.fail(f"{JITSUDO} is not built (make build/bin/jitsudo)", pytrace=False)


@pytest.fixture(scope="module")
def cli(server, tmp_path_factory):
    need_binary()
    return Cli(server, tmp_path_factory.mktemp("home"))


def api_request(client, rid):
    return expect(client.get(rid), 200)["request"]


def new_request(cli, who=ALICE, extra=()):
    rid = cli.ok("-q", "request", *SPEC, *extra, who=who).strip()
    assert re.fullmatch(r"req_[0-9A-Z]{26}", rid), rid
    return rid


# ---- request (seed 001) ---------------------------------------------------------------------

def test_request_prints_the_seed_block(cli, alice):
    out = cli.ok("request", *SPEC, who=ALICE)
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "Request ID", "State", "Provider", "Role", "Scope"], out
    rid = lines[0].split(": ")[1]
    assert lines[1:] == ["State: PENDING", "Provider: aws", "Role: prod-infra-admin",
                         "Scope: 123456789012"]
    req = api_request(alice, rid)
    assert req["reason"] == "cli test" and req["duration_seconds"] == 3600
    assert req["requester_identity"] == "alice@example.com" and req["break_glass"] is False


def test_request_quiet_prints_only_the_id(cli, alice):
    out = cli.ok("request", "-q", *SPEC, who=ALICE)
    assert re.fullmatch(r"req_[0-9A-Z]{26}\n", out), out
    assert api_request(alice, out.strip())["state"] == "REQUEST_STATE_PENDING"


def test_request_json_and_yaml_are_the_api_object(cli, alice):
    from_json = cli.json("request", *SPEC, who=ALICE)
    assert from_json == api_request(alice, from_json["id"])
    from_yaml = cli.yaml("request", "--provider", "gcp", "--role", "roles/editor", "--scope",
                 "my-gcp-project", "--duration", "1h30m", "--reason", "Deploy: hotfix #1",
                 who=ALICE)
    assert from_yaml == api_request(alice, from_yaml["id"])
    assert from_yaml["duration_seconds"] == 5400 and from_yaml["reason"] == "Deploy: hotfix #1"


def test_request_every_provider_of_the_seed(cli, alice):
    cases = [("aws", "prod-infra-admin", "123456789012"), ("gcp", "roles/editor", "my-project"),
             ("azure", "Contributor", "0b1f6471-1bf0-4dda-aec3-cb9272f09590"),
             ("kubernetes", "cluster-admin", "*")]
    for provider, role, scope in cases:
        got = cli.json("request", "--provider", provider, "--role", role, "--scope", scope,
                       "--duration", "15m", "--reason", "seed example", who=ALICE)
        assert (got["provider"], got["role"], got["resource_scope"]) == (provider, role, scope)
        assert got["duration_seconds"] == 900


def test_request_break_glass(cli, alice):
    got = cli.json("request", "--provider", "aws", "--role", "break-glass-admin", "--scope",
                 "123456789012", "--duration", "30m", "--reason",
                 "Production down, on-call not responding", "--break-glass", who=ALICE)
    assert got["break_glass"] is True
    assert got == api_request(alice, got["id"])
    assert got["state"] in ("REQUEST_STATE_ACTIVE", "REQUEST_STATE_PENDING")


def test_request_refused_by_eligibility_exits_1(cli):
    err = cli.fails(1, "request", *SPEC, who=MALLORY, contains="not eligible")
    assert "refused" in err


def test_request_bad_scope_is_a_usage_error_with_the_servers_message(cli):
    args = list(SPEC)
    args[args.index("--scope") + 1] = "12"
    cli.fails(2, "request", *args, who=ALICE, contains="12-digit")


# ---- --wait ---------------------------------------------------------------------------------

def newest_of(client):
    return expect(client.list(mine="true"), 200)["requests"][0]


def test_wait_returns_when_another_process_approves(cli, alice):
    before = newest_of(alice)["id"]
    p = cli.popen("request", *SPEC, "--wait", who=ALICE, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, text=True)
    try:
        rid = harness.wait_for(lambda: (newest_of(alice)["id"] != before
                                        and newest_of(alice)["id"]), 10, what="the request")
        time.sleep(1.5)
        assert p.poll() is None, "--wait returned while the request was pending"
        assert cli.ok("approve", rid, who=BOB) == f"Request {rid} \u2192 APPROVED\n"
        out, err = p.communicate(timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 0, err
    assert err == ""
    assert out.splitlines()[:2] == [f"Request ID: {rid}", "State: APPROVED"]


def test_wait_without_a_terminal_prints_nothing_until_the_end(cli, alice):
    before = newest_of(alice)["id"]
    p = cli.popen("request", *SPEC, "--wait", who=ALICE, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE)
    try:
        rid = harness.wait_for(lambda: (newest_of(alice)["id"] != before
                                        and newest_of(alice)["id"]), 10, what="the request")
        time.sleep(2.5)
        for stream in (p.stdout, p.stderr):
            ready, _, _ = select.select([stream], [], [], 0)
            assert not ready, "output before the request was decided"
        cli.ok("deny", rid, "--reason", "not now", who=BOB)
        out, err = p.communicate(timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 1
    assert b"State: REJECTED" in out
    assert err.decode().strip() == f"jitsudo: request {rid} was denied: not now"


def test_wait_on_a_terminal_shows_a_live_line(cli, alice):
    before = newest_of(alice)["id"]
    master, slave = pty.openpty()
    p = cli.popen("request", *SPEC, "--wait", who=ALICE, stdin=subprocess.DEVNULL,
                  stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    try:
        rid = harness.wait_for(lambda: (newest_of(alice)["id"] != before
                                        and newest_of(alice)["id"]), 10, what="the request")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and b"PENDING (2s)" not in seen:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                seen += os.read(master, 4096)
        cli.ok("approve", rid, who=BOB)
        out, _ = p.communicate(timeout=15)
        while True:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0
    text = seen.decode()
    assert f"\r\x1b[KWaiting for approval of {rid}: PENDING (1s)" in text, text
    assert "PENDING (2s)" in text, text
    assert text.endswith("\r\x1b[K"), repr(text[-40:])
    assert b"State: APPROVED" in out


def test_wait_is_bounded_by_the_requests_pending_deadline(make_server, tmp_path):
    need_binary()
    s = make_server({"workflow.pending_timeout": "2s"})
    c = Cli(s, tmp_path / "home")
    start = time.monotonic()
    p = c.run("request", *SPEC, "--wait", who=ALICE, timeout=60)
    took = time.monotonic() - start
    assert p.returncode == 1, p.stderr
    assert "State: EXPIRED" in p.stdout
    assert "expired" in p.stderr
    assert took < 20, took


# ---- approve / deny / revoke (seed 002) -----------------------------------------------------

def test_approve_and_deny_print_the_seed_lines(cli, alice):
    rid = new_request(cli)
    assert cli.ok("approve", rid, "--comment", "Approved for INC-4421 response",
                  who=BOB) == f"Request {rid} \u2192 APPROVED\n"
    req = api_request(alice, rid)
    assert req["approvals"][0]["comment"] == "Approved for INC-4421 response"
    rid = new_request(cli)
    assert cli.ok("deny", rid, "--reason", "outside change window",
                  who=BOB) == f"Request {rid} \u2192 REJECTED\n"
    req = api_request(alice, rid)
    assert req["state"] == "REQUEST_STATE_REJECTED"
    assert req["decision_reason"] == "outside change window"


def test_decisions_in_json_yaml_and_quiet(cli, alice):
    rid = new_request(cli)
    got = cli.json("approve", rid, who=BOB)
    assert got == api_request(alice, rid) and got["state"] == "REQUEST_STATE_APPROVED"
    rid = new_request(cli)
    got = cli.yaml("deny", rid, "--reason", "no", who=BOB)
    assert got == api_request(alice, rid) and got["state"] == "REQUEST_STATE_REJECTED"
    rid = new_request(cli)
    assert cli.ok("-q", "approve", rid, who=BOB) == ""
    assert api_request(alice, rid)["state"] == "REQUEST_STATE_APPROVED"


def test_revoke(cli, alice):
    rid = new_request(cli)
    cli.ok("approve", rid, who=BOB)
    assert cli.ok("revoke", rid, "--reason", "incident closed",
                  who=ALICE) == f"Request {rid} \u2192 REVOKED\n"
    req = api_request(alice, rid)
    assert req["state"] == "REQUEST_STATE_REVOKED"
    assert req["decision_reason"] == "incident closed"
    rid = new_request(cli)
    got = cli.json("revoke", rid, "--reason", "not needed", who=ALICE)
    assert got == api_request(alice, rid)
    rid = new_request(cli)
    assert cli.yaml("revoke", rid, "--reason", "x", who=ALICE) == api_request(alice, rid)


def test_decisions_refused_exit_1_with_the_servers_message(cli):
    rid = new_request(cli)
    cli.fails(1, "approve", rid, who=ALICE)  # a requester never approves their own
    cli.fails(1, "approve", rid, who=EVE)
    cli.ok("deny", rid, "--reason", "no", who=BOB)
    cli.fails(1, "approve", rid, who=BOB, contains="REJECTED")
    cli.fails(1, "approve", "req_01J8KZ4F2EMNQZ3V7XKQYBD4WX", who=BOB, contains="not found")
    cli.fails(2, "deny", rid, who=BOB, contains="--reason")
    cli.fails(2, "revoke", rid, who=BOB, contains="--reason")
    cli.fails(2, "deny", rid, "--reason", "", who=BOB, contains="--reason")
    cli.fails(2, "approve", "../admin", who=BOB, contains="not a request ID")
    cli.fails(2, "approve", rid, "extra", who=BOB, contains="too many arguments")


# ---- status ---------------------------------------------------------------------------------

def test_status_of_one_request(cli, alice):
    rid = new_request(cli)
    cli.ok("approve", rid, "--comment", "looks good", who=BOB)
    out = cli.ok("status", rid, who=ALICE)
    assert f"Request ID: {rid}\nState: APPROVED\n" in out
    assert "Approved by: bob@example.com at " in out and '("looks good")' in out
    assert re.search(r"^Time left: (59m\d+s|1h)$", out, re.M), out
    assert cli.json("status", rid, who=ALICE) == api_request(alice, rid)
    assert cli.yaml("status", rid, who=BOB) == api_request(alice, rid)
    assert cli.ok("-q", "status", rid, who=ALICE) == "APPROVED\n"
    cli.fails(1, "status", rid, who=MALLORY, contains="not found")


def table_rows(out):
    """Splits an aligned table by the header's column starts, checking every row fits."""
    lines = out.rstrip("\n").split("\n")
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    rows = []
    for line in lines[1:]:
        for s in starts[1:]:
            assert line[s - 2:s] == "  " and line[s] != " ", f"misaligned: {line!r}"
        cells = [line[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
        rows.append(dict(zip(header.split(), cells)))
    return rows


def to_seconds(timestamp):
    """The API's UTC timestamp as the tables show it: whole seconds."""
    assert timestamp.endswith("Z"), timestamp
    return re.sub(r"\.\d+Z$", "Z", timestamp)


def test_status_lists_as_an_aligned_table(cli, alice, bob):
    rid = new_request(cli)
    out = cli.ok("status", "--pending", who=BOB)
    rows = table_rows(out)
    mine = [r for r in rows if r["ID"] == rid]
    assert mine and mine[0]["STATE"] == "PENDING" and mine[0]["PROVIDER"] == "aws"
    assert mine[0]["REQUESTER"] == "alice@example.com" and mine[0]["DURATION"] == "1h"
    assert all(r["STATE"] == "PENDING" for r in rows)
    api = expect(bob.list(pending="true", page_size=1000), 200)["requests"]
    assert [r["ID"] for r in rows] == [r["id"] for r in api]
    assert [r["CREATED"] for r in rows] == [to_seconds(r["created_at"]) for r in api]


def test_status_lists_in_every_format(cli, alice, bob):
    new_request(cli)
    api = expect(alice.list(mine="true", page_size=1000), 200)["requests"]
    assert cli.json("status", "--mine", who=ALICE) == api
    assert cli.yaml("status", "--mine", who=ALICE) == api
    assert cli.ok("-q", "status", "--mine", who=ALICE).split() == [r["id"] for r in api]
    pending = expect(bob.list(pending="true", page_size=1000), 200)["requests"]
    assert cli.json("status", "--pending", who=BOB) == pending
    states = cli.json("status", "--state", "REJECTED", who=ALICE)
    assert states and all(r["state"] == "REQUEST_STATE_REJECTED" for r in states)
    by = cli.json("status", "--requester", "alice@example.com", who=BOB)
    assert by == expect(bob.list(requester_identity="alice@example.com", page_size=1000),
                        200)["requests"]


def test_status_follows_pages_up_to_the_limit(make_server, tmp_path):
    need_binary()
    s = make_server()
    c = Cli(s, tmp_path / "home")
    alice = s.client(ALICE)
    for _ in range(230):
        alice.create_ok()
    api = expect(alice.list(mine="true", page_size=1000), 200)["requests"]
    assert len(api) == 230
    assert c.json("status", "--mine", who=ALICE) == api  # three pages of 100
    assert c.json("status", "--mine", "--limit", "150", who=ALICE) == api[:150]
    assert c.json("status", "--limit", "7", who=ALICE) == api[:7]
    c.fails(2, "status", "--limit", "0", who=ALICE, contains="--limit")
    c.fails(2, "status", "--limit", "ten", who=ALICE, contains="--limit")
    # the audit log of the same server has over 230 events: pages are followed there too
    admin = s.client(ADMIN)
    events = admin.audit_all()
    assert len(events) >= 230
    assert c.json("audit", "--limit", "1000000", who=ADMIN) == events
    assert c.json("audit", "--limit", "120", who=ADMIN) == events[:120]


# ---- audit ----------------------------------------------------------------------------------

def test_audit_in_every_format_and_with_every_filter(cli, alice, people):
    admin = people["admin"]
    rid = new_request(cli)
    cli.ok("approve", rid, who=BOB)
    every = admin.audit_all()
    assert cli.json("audit", "--limit", "1000000", who=ADMIN) == every
    assert cli.yaml("audit", "--limit", "1000000", who=ADMIN) == every
    # a user's view is the server's view for that user
    assert cli.json("audit", "--limit", "1000000", who=ALICE) == alice.audit_all()

    of_request = admin.audit_all(request_id=rid)
    actions = [e["action"] for e in of_request]
    assert actions[0] == "request.created" and "request.approved" in actions, actions
    assert cli.json("audit", "--request", rid, who=ADMIN) == of_request
    assert cli.json("audit", "--actor", "bob@example.com", "--limit", "100000",
                    who=ADMIN) == admin.audit_all(actor_identity="bob@example.com")
    assert cli.json("audit", "--provider", "gcp", "--limit", "100000",
                    who=ADMIN) == admin.audit_all(provider="gcp")
    middle = every[len(every) // 2]["timestamp"]
    assert cli.json("audit", "--until", middle, "--limit", "100000",
                    who=ADMIN) == admin.audit_all(until=middle)
    assert cli.json("audit", "--since", middle, "--limit", "100000",
                    who=ADMIN) == admin.audit_all(since=middle)
    # a duration means "that long ago": everything of this server is within the hour
    assert cli.json("audit", "--since", "1h", "--limit", "100000", who=ADMIN) == \
        admin.audit_all()
    assert cli.json("audit", "--until", "1h", who=ADMIN) == []

    rows = table_rows(cli.ok("audit", "--request", rid, who=ADMIN))
    assert [r["ACTION"] for r in rows] == [e["action"] for e in of_request]
    assert [r["TIME"] for r in rows] == [to_seconds(e["timestamp"]) for e in of_request]
    assert all(r["REQUEST"] == rid for r in rows)
    assert cli.ok("-q", "audit", "--request", rid, who=ADMIN).split() == \
        [str(e["id"]) for e in of_request]
    cli.fails(2, "audit", "--since", "yesterday", who=ADMIN, contains="--since")
    cli.fails(2, "audit", "--until", "2026-13-01T00:00:00Z", who=ADMIN, contains="--until")


# ---- policy ---------------------------------------------------------------------------------

POLICY = """package jitsudo.approval

import rego.v1

# cli test policy
allow if input.request.role == "cli-test-role"
"""


def test_policy_commands_in_every_format(cli, people, tmp_path):
    admin = people["admin"]
    path = tmp_path / "cli-test.rego"
    path.write_text(POLICY)
    out = cli.ok("policy", "apply", "-f", str(path), "--type", "approval", "--description",
                 "a test", who=ADMIN)
    assert out.startswith("Policy cli-test applied (pol")
    listed = expect(admin.policies(), 200)["policies"]
    mine = [p for p in listed if p["name"] == "cli-test"][0]
    assert mine["rego"] == POLICY and mine["description"] == "a test" and mine["enabled"]
    assert mine["type"] == "POLICY_TYPE_APPROVAL"

    assert cli.json("policy", "list", who=ALICE) == listed
    assert cli.yaml("policy", "list", who=ALICE) == listed
    rows = table_rows(cli.ok("policy", "list", who=ALICE))
    assert {r["NAME"] for r in rows} == {p["name"] for p in listed}
    assert [r["UPDATED"] for r in rows] == [to_seconds(p["updated_at"]) for p in listed]
    assert cli.ok("-q", "policy", "list", who=ALICE).split() == [p["id"] for p in listed]

    got = cli.json("policy", "get", mine["id"], who=ALICE)
    assert got == expect(admin.call("GET", f"policies/{mine['id']}"), 200)["policy"]
    assert cli.yaml("policy", "get", mine["id"], who=ALICE) == got
    text = cli.ok("policy", "get", mine["id"], who=ALICE)
    assert "Name         cli-test\n" in text and "Type         approval\n" in text
    assert text.endswith(POLICY)

    # apply from standard input, disabled, with json output
    applied = cli.json("policy", "apply", "-f", "-", "--name", "cli-test", "--type",
                       "approval", "--disable", input=POLICY, who=ADMIN)
    assert applied["id"] == mine["id"] and applied["enabled"] is False
    assert cli.yaml("policy", "apply", "-f", str(path), "--type", "approval", "--enable",
                    who=ADMIN)["enabled"] is True

    # eval
    inp = {"user": {"email": "bob@example.com", "groups": ["approvers"]},
           "request": {"provider": "aws", "role": "cli-test-role",
                       "resource_scope": "123456789012", "duration_seconds": 600,
                       "reason": "x", "break_glass": False,
                       "requester_identity": "alice@example.com"}}
    (tmp_path / "input.json").write_text(json.dumps(inp))
    direct = expect(admin.eval(inp, "POLICY_TYPE_APPROVAL"), 200)
    assert cli.json("policy", "eval", "--input", str(tmp_path / "input.json"), "--type",
                    "approval", who=ALICE) == direct
    assert cli.yaml("policy", "eval", "-i", "-", "--type", "approval", input=json.dumps(inp),
                    who=ALICE) == direct
    out = cli.ok("policy", "eval", "--input", str(tmp_path / "input.json"), "--type",
                 "approval", who=ALICE)
    assert out.startswith(f"Allowed: {'yes' if direct['allowed'] else 'no'}\n")
    cli.fails(2, "policy", "eval", "--input", "-", input="{not json", who=ALICE,
              contains="--input")

    # refusals and compile errors
    cli.fails(1, "policy", "apply", "-f", str(path), "--type", "approval", who=ALICE,
              contains="refused")
    bad = tmp_path / "bad.rego"
    bad.write_text("package jitsudo.approval\n\nallow if {\n")
    cli.fails(2, "policy", "apply", "-f", str(bad), "--type", "approval", who=ADMIN,
              contains="bad.rego:")
    cli.fails(2, "policy", "apply", "-f", str(path), "--type", "other", who=ADMIN,
              contains="--type")
    cli.fails(2, "policy", "apply", "-f", str(tmp_path / "missing.rego"), "--type",
              "approval", who=ADMIN, contains="--file")
    cli.fails(2, "policy", "apply", "--type", "approval", who=ADMIN, contains="--file")

    # delete
    cli.fails(1, "policy", "delete", mine["id"], who=ALICE)
    assert cli.ok("policy", "delete", mine["id"], who=ADMIN) == f"Policy {mine['id']} deleted\n"
    assert all(p["name"] != "cli-test" for p in expect(admin.policies(), 200)["policies"])
    cli.fails(1, "policy", "get", mine["id"], who=ALICE, contains="not found")
    cli.fails(2, "policy", who=ALICE, contains="needs a command")
    cli.fails(2, "policy", "frobnicate", who=ALICE, contains="unknown command")


# ---- server ---------------------------------------------------------------------------------

def test_server_version_and_health(cli, server):
    version = server.session.get(server.url + "/version", timeout=5).json()
    assert cli.json("server", "version") == version
    assert cli.yaml("server", "version") == version
    out = cli.ok("server", "version")
    assert out == (f"Client version: 0.1.0\nServer version: {version['version']}\n"
                   f"API versions: {', '.join(version['api_versions'])}\n")
    assert cli.ok("-q", "server", "version") == f"{version['version']}\n"
    assert cli.ok("server", "health") == f"Server: {server.url}\nLive: ok\nReady: ok\n"
    assert cli.json("server", "health") == {"server": server.url, "healthz": "ok",
                                            "readyz": "ok"}
    assert cli.yaml("server", "health")["readyz"] == "ok"
    p = cli.run("--version")
    assert p.returncode == 0 and p.stdout == "jitsudo 0.1.0\n"


# ---- failures: unreachable, silent, 5xx, bad tokens -----------------------------------------

def test_server_down_exits_75_at_once(tmp_path):
    need_binary()
    port = harness.free_port()
    c = Cli(None, tmp_path)
    start = time.monotonic()
    refused = (f"jitsudo: the server at http://127.0.0.1:{port} refused the connection: "
               "is jitsudod running there?\n")
    err = c.fails(75, "--server", f"http://127.0.0.1:{port}", "--token", "x", "status")
    assert err == refused
    p = c.run("--server", f"http://127.0.0.1:{port}", "server", "health")
    assert p.returncode == 75 and p.stdout.endswith("Live: unreachable\nReady: unreachable\n")
    assert p.stderr == refused
    assert time.monotonic() - start < 5


def test_silent_server_exits_75_within_the_timeout(tmp_path):
    need_binary()
    with socket.socket() as listener:  # accepts connections (backlog), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        c = Cli(None, tmp_path)
        start = time.monotonic()
        err = c.fails(75, "--server", url, "--token", "x", "--timeout", "1s", "status")
        assert err == f"jitsudo: the server at {url} did not answer within 1000 ms\n"
        assert 0.9 <= time.monotonic() - start < 4
        # the timeout from config.yaml
        (tmp_path / ".jitsudo").mkdir()
        (tmp_path / ".jitsudo" / "config.yaml").write_text(f"server: {url}\ntimeout: 2s\n")
        start = time.monotonic()
        c.fails(75, "--token", "x", "status", contains="within 2000 ms")
        assert 1.9 <= time.monotonic() - start < 5


class _Failing(http.server.BaseHTTPRequestHandler):
    status = 503

    def do_GET(self):
        body = json.dumps({"code": "unavailable", "message": "database is busy"}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_exit_75_with_the_message(tmp_path, status):
    need_binary()
    handler = type("H", (_Failing,), {"status": status})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        c = Cli(None, tmp_path)
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        c.fails(75, "--server", url, "--token", "x", "status", "--mine",
                contains=["database is busy", f"HTTP {status}"])
        c.fails(75, "--server", url, "--token", "x", "request", *SPEC,
                contains="database is busy")
        p = c.run("--server", url, "server", "health")
        assert p.returncode == 75 and f"Live: HTTP {status}\n" in p.stdout, p.stdout
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_bad_or_missing_token_exits_1(cli, server):
    cli.fails(1, "status", env={"JITSUDO_TOKEN": "not-a-token"}, contains="token")
    cli.fails(1, "status", contains="jitsudo login")
    forged = server.forge({"exp": int(time.time()) - 60})
    cli.fails(1, "--token", forged, "status", contains="did not accept the token")


def test_debug_logs_exchanges_but_never_the_token(cli, server):
    token = server.token(ALICE)
    p = cli.run("--debug", "status", "--mine", who=ALICE)
    assert p.returncode == 0
    assert re.search(r"jitsudo: debug: GET http://127\.0\.0\.1:\d+/api/v1alpha1/requests -> 200 "
                     r"\(\d+\.\d ms\)", p.stderr), p.stderr
    assert token not in p.stderr and token not in p.stdout
    assert "page_size" not in p.stderr  # queries are left out of the log


# ---- usage errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("args,flag", [
    (["request", "--provider", "aws"], "--role"),
    (["request", *SPEC, "--wait=yes"], "--wait"),
    (["request", *SPEC, "--frob"], "--frob"),
    (["request", *SPEC, "--reason"], "--reason"),
    (["request", *SPEC, "--provider", "gcp"], "--provider"),
    (["status", "-x"], "-x"),
    (["-o", "xml", "status"], "--output"),
    (["--timeout", "soon", "status"], "--timeout"),
    (["--server", "ftp://example.com", "status"], "--server"),
    (["status", "--limit", "-1"], "--limit"),
    (["exec", "req_01J8KZ4F2EMNQZ3V7XKQYBD4WX"], "--"),
    (["shell"], "<request-id>"),
    (["status", "a", "b"], "too many arguments"),
    (["frob"], "unknown command"),
])
def test_usage_errors_exit_2_naming_the_flag(cli, args, flag):
    err = cli.fails(2, *args, who=ALICE)
    assert flag in err


@pytest.mark.parametrize("duration", ["90", "1h1h", "0s", "-5m", "1d", "", "30m1h", "1.5h",
                                      "99999999h", "1h 30m", "h"])
def test_bad_durations_are_usage_errors(cli, alice, duration):
    before = len(expect(alice.list(mine="true", page_size=1000), 200)["requests"])
    args = list(SPEC)
    args[args.index("--duration") + 1] = duration
    err = cli.fails(2, "request", *args, who=ALICE)
    assert err.startswith("jitsudo: --duration: "), err
    assert len(expect(alice.list(mine="true", page_size=1000), 200)["requests"]) == before


@pytest.mark.parametrize("duration,seconds", [("30m", 1800), ("45s", 45),
                                              ("1h30m15s", 5415)])
def test_good_durations(cli, duration, seconds):
    args = list(SPEC)
    args[args.index("--duration") + 1] = duration
    assert cli.json("request", *args, who=ALICE)["duration_seconds"] == seconds


def test_flag_forms(cli, alice):
    # --flag=value, -ovalue, global flags before or after the command
    got = json.loads(cli.ok("-ojson", "request", "--provider=aws", "--role=prod-infra-admin",
                            "--scope=123456789012", "--duration=20m", "--reason=a=b",
                            who=ALICE))
    assert got["reason"] == "a=b" and got["duration_seconds"] == 1200
    got = json.loads(cli.ok("status", got["id"], "--output", "json", who=ALICE))
    assert got == api_request(alice, got["id"])
    cli.fails(2, "status", "-o", "json", "-o", "yaml", who=ALICE, contains="given twice")


# ---- settings: flags > environment > config.yaml --------------------------------------------

def test_settings_precedence(server, tmp_path, alice):
    need_binary()
    home = tmp_path / "home"
    c = Cli(None, home)
    down = f"http://127.0.0.1:{harness.free_port()}"
    (home / ".jitsudo").mkdir(parents=True)
    config = home / ".jitsudo" / "config.yaml"
    config.write_text(f"server: {server.url}/\noutput: yaml\n")
    token = server.token(ALICE)
    # config alone: its server, its output
    got = yaml.safe_load(c.ok("status", "--mine", env={"JITSUDO_TOKEN": token}))
    assert got == expect(alice.list(mine="true", page_size=1000), 200)["requests"]
    # the environment beats the config, the flag beats both
    c.fails(75, "status", env={"JITSUDO_TOKEN": token, "JITSUDO_SERVER": down})
    c.ok("--server", server.url, "status", env={"JITSUDO_TOKEN": token,
                                                "JITSUDO_SERVER": down})
    assert json.loads(c.ok("-o", "json", "server", "version"))["version"]
    # --token beats JITSUDO_TOKEN
    c.fails(1, "--token", "bad", "status", env={"JITSUDO_TOKEN": token})
    # JITSUDO_CONFIG names another file
    other = tmp_path / "other.yaml"
    other.write_text(f"server: {down}\n")
    c.fails(75, "status", env={"JITSUDO_TOKEN": token, "JITSUDO_CONFIG": str(other)})
    # a bad config file is a usage error naming it
    config.write_text("server: [1, 2]\n")
    c.fails(2, "status", env={"JITSUDO_TOKEN": token}, contains=str(config))
    config.write_text("sever: http://x\n")
    c.fails(2, "status", env={"JITSUDO_TOKEN": token}, contains="sever")
    config.write_text("output: xml\n")
    c.fails(2, "status", env={"JITSUDO_TOKEN": token}, contains="xml")
    # no server anywhere
    config.unlink()
    c.fails(2, "status", env={"JITSUDO_TOKEN": token}, contains="--server")


# ---- help -----------------------------------------------------------------------------------

COMMANDS = ["login", "logout", "request", "approve", "deny", "revoke", "status", "exec", "shell",
            "policy", "policy list", "policy get", "policy apply", "policy delete",
            "policy eval", "audit", "server", "server version", "server health"]


def help_flags(text):
    return set(re.findall(r"^\s+(?:-\w, )?(--[a-z][a-z-]*)", text, re.M))


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command(command, tmp_path):
    need_binary()
    c = Cli(None, tmp_path)
    for flag in ("--help", "-h"):
        p = c.run(*command.split(), flag)
        assert p.returncode == 0 and p.stderr == "", p.stderr
        assert f"Usage:\n  jitsudo {command}" in p.stdout, p.stdout
        assert "\nExamples:\n  " in p.stdout
        assert {"--server", "--token", "--output", "--quiet", "--debug"} <= help_flags(p.stdout)


def test_top_level_help_lists_every_command(tmp_path):
    need_binary()
    c = Cli(None, tmp_path)
    p = c.run("--help")
    assert p.returncode == 0
    for command in COMMANDS:
        if " " not in command:
            assert re.search(rf"^  {command}\s", p.stdout, re.M), command
    p = c.run()
    assert p.returncode == 2 and "Usage:" in p.stderr


def write_credentials(home, server, token, path=None):
    """A credentials file as `jitsudo login` writes it (0600 in a 0700 directory)."""
    path = Path(path) if path else home / ".jitsudo" / "credentials"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"version": 1, "server": server.url, "issuer": server.url,
                   "client_id": "jitsudo-cli", "token_endpoint": server.url + "/token", "id_token": token,
                   "expires_at": int(time.time()) + 3600}, f)
    return path


def test_stored_credentials_give_the_server_and_the_token(server, tmp_path, alice):
    need_binary()
    home = tmp_path / "home"
    c = Cli(None, home)
    write_credentials(home, server, server.token(ALICE))
    mine = expect(alice.list(mine="true", page_size=1000), 200)["requests"]
    # nothing but the stored credentials
    assert c.json("status", "--mine") == mine
    rid = c.ok("-q", "request", *SPEC).strip()
    assert api_request(alice, rid)["requester_identity"] == "alice@example.com"
    # JITSUDO_TOKEN and --token win over the stored token
    got = c.json("status", "--mine", env={"JITSUDO_TOKEN": server.token(EVE)})
    assert all(r["requester_identity"] == "eve@example.com" for r in got)
    c.fails(1, "--token", "bad", "status")
    # JITSUDO_SERVER and --server win over the stored server
    down = f"http://127.0.0.1:{harness.free_port()}"
    c.fails(75, "status", env={"JITSUDO_SERVER": down})
    c.fails(75, "--server", down, "status")
    # JITSUDO_CREDENTIALS names another file; logout removes it
    other = write_credentials(home, server, server.token(BOB), tmp_path / "creds")
    got = c.json("status", "--pending", env={"JITSUDO_CREDENTIALS": str(other)})
    assert got == expect(server.client(BOB).list(pending="true", page_size=1000),
                         200)["requests"]
    assert c.ok("logout", env={"JITSUDO_CREDENTIALS": str(other)}) == "Logged out\n"
    assert not other.exists()
    # a credentials file others may read is refused
    (home / ".jitsudo" / "credentials").chmod(0o644)
    c.fails(2, "status", contains="credentials")
    assert c.ok("logout") == "Logged out\n"
    c.fails(2, "status", contains="no server")
    c.fails(1, "--server", server.url, "status", contains="jitsudo login")


def test_two_person_approval_and_auto_approval(cli, alice):
    rid = cli.ok("-q", "request", "--provider", "aws", "--role", "two-person-role", "--scope",
                 "123456789012", "--duration", "1h", "--reason", "two", who=ALICE).strip()
    assert cli.ok("approve", rid, who=BOB) == (f"Request {rid} \u2192 PENDING\n"
                                               "1 of 2 approvals recorded\n")
    assert cli.ok("approve", rid, who=harness.CAROL) == f"Request {rid} \u2192 APPROVED\n"
    # the auto tier: approved at creation, so --wait returns at once
    start = time.monotonic()
    out = cli.ok("request", "--provider", "aws", "--role", "auto-role", "--scope",
                 "123456789012", "--duration", "1h", "--reason", "auto", "--wait", who=ALICE)
    assert "State: APPROVED\n" in out and "Expires: " in out
    assert time.monotonic() - start < 5


def test_https_with_the_servers_ca(make_server, tmp_path):
    need_binary()
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
         "-days", "1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    s = make_server({"server.tls.cert_file": str(cert), "server.tls.key_file": str(key)},
                    start=False)
    s.url = f"https://127.0.0.1:{s.port}"
    s.session.verify = str(cert)
    s.start()
    c = Cli(s, tmp_path / "home")
    # an untrusted certificate is refused (the default CAs do not know it): not a temporary
    # failure, so exit 1, with what to do
    err = c.fails(1, "status", "--mine", who=ALICE, contains="TLS certificate")
    assert "--ca-file" in err and s.url in err, err
    assert s.token(ALICE) not in err
    health = c.run("server", "health")
    assert health.returncode == 1 and "not trusted" in health.stdout + health.stderr, health
    p = c.run("--debug", "status", who=ALICE)
    assert "certificate" in p.stderr.lower(), p.stderr
    # with --ca-file, or ca_file in the config
    got = c.json("--ca-file", str(cert), "request", *SPEC, who=ALICE)
    assert got["state"] == "REQUEST_STATE_PENDING"
    (c.home / ".jitsudo").mkdir(exist_ok=True)
    (c.home / ".jitsudo" / "config.yaml").write_text(f"ca_file: {cert}\n")
    assert c.json("status", got["id"], who=ALICE)["id"] == got["id"]
    assert c.ok("server", "health").endswith("Live: ok\nReady: ok\n")
