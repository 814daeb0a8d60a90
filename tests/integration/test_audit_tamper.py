# Tampering with the audit log by someone who can write the database but holds none of the
# server's keys: rows re-hashed by the old public rule (SHA-256 of prev_hash and the canonical
# JSON), the newest events deleted with sqlite_sequence fixed up, forged checkpoints, a chain
# downgraded to the old rule; and the migration of a database from before the audit key (the
# chain re-keyed once the old rule vouches for it, with an audit event saying so). The old rule
# and the canonical text are written here from docs/storage.md, not taken from the server.
import base64
import hashlib
import hmac
import json
import os
import stat
import subprocess
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

import harness
from harness import ADMIN, ALICE, BOB, approved_request, expect, sqlite, wait_for

ROW_COLUMNS = ("id, timestamp, actor_identity, action, request_id, provider, resource_scope, "
               "outcome, details, prev_hash, hash")


# ---- the chain, computed independently ----------------------------------------------------


def rfc3339_ns(ns):
    seconds, frac = divmod(ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


def canonical(row):
    """The canonical text of an event: its fields without id and hashes, keys sorted, compact
    (absent strings as "")."""
    obj = {
        "timestamp": rfc3339_ns(row["timestamp"]),
        "actor_identity": row["actor_identity"] or "",
        "action": row["action"] or "",
        "request_id": row["request_id"] or "",
        "provider": row["provider"] or "",
        "resource_scope": row["resource_scope"] or "",
        "outcome": row["outcome"] or "",
        "details": json.loads(row["details"]),
    }
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def old_rule(prev, row):
    return hashlib.sha256(prev.encode() + canonical(row)).hexdigest()


def keyed_rule(key, prev, row):
    return hmac.new(key, prev.encode() + canonical(row), hashlib.sha256).hexdigest()


def rows(s):
    out = subprocess.run(["sqlite3", "-json", str(s.db_path),
                          f"select {ROW_COLUMNS} from audit_events order by id"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return json.loads(out) if out.strip() else []


def quote(text):
    return "'" + text.replace("'", "''") + "'"


def rewrite_chain(s, rule, start_id=1):
    """Recomputes prev_hash and hash of every event from `start_id` on with `rule`, as an
    attacker with write access to the database would."""
    prev, sql = "", ["begin;"]
    for row in rows(s):
        if row["id"] >= start_id:
            h = rule(prev, row)
            sql.append(f"update audit_events set prev_hash={quote(prev)}, hash={quote(h)} "
                       f"where id={row['id']};")
            prev = h
        else:
            prev = row["hash"]
    sql.append("commit;")
    sqlite(s.db_path, "\n".join(sql))


def to_old_format(s):
    """The database as a version from before the audit key wrote it: the old rule, and no
    chain entries in the meta table."""
    rewrite_chain(s, old_rule)
    sqlite(s.db_path, "delete from meta where key in ('audit_chain', 'audit_key_id')")


def checkpoint_file(s):
    return s.db_path.parent / "audit-checkpoints"


def checkpoint_lines(s):
    path = checkpoint_file(s)
    return path.read_text().splitlines() if path.exists() else []


def parse_checkpoint(line):
    words = line.split(" ")
    assert words[0] == "jitsudo-audit-checkpoint/1", line
    return dict(w.split("=", 1) for w in words[1:])


def run_server_expecting_failure(s, timeout=10):
    p = subprocess.run([str(harness.BIN), "--config", str(s.config_path)], capture_output=True,
                       text=True, timeout=timeout, cwd=harness.REPO)
    assert p.returncode != 0, f"jitsudod started:\n{p.stdout}{p.stderr}"
    return p


def some_events(s):
    alice, bob = s.client(ALICE), s.client(BOB)
    req = approved_request(alice, bob)
    expect(alice.credentials(req["id"]), 200)
    expect(alice.revoke(req["id"], "done"), 200)
    alice.create_ok(reason="another")


# ---- keys ---------------------------------------------------------------------------------


def test_init_creates_the_audit_keys(make_server):
    s = make_server(start=False)
    key = s.dir / "audit.key"
    pem = s.dir / "checkpoint.pem"
    for path in (key, pem):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o600, f"{path.name} has mode {mode:o}"
    assert len(key.read_bytes()) == 32
    private = serialization.load_pem_private_key(pem.read_bytes(), password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    assert s.config["keys"]["audit_key_file"] == str(key)
    assert s.config["keys"]["checkpoint_key_file"] == str(pem)
    # init run again keeps both (a new audit key would make the chain unverifiable)
    before = key.read_bytes() + pem.read_bytes()
    p = s.run_cli("init", "--keys-only", "--dir", str(s.dir), check=True)
    assert "Created 0 missing key files" in p.stdout, p.stdout
    assert key.read_bytes() + pem.read_bytes() == before


def test_the_keys_never_appear_in_output(make_server):
    s = make_server({"audit.checkpoint_interval": "1s"})
    some_events(s)
    time.sleep(1.5)
    s.stop()
    verify = s.audit_verify()
    key = (s.dir / "audit.key").read_bytes()
    private = serialization.load_pem_private_key((s.dir / "checkpoint.pem").read_bytes(),
                                                 password=None)
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    pem_body = "".join((s.dir / "checkpoint.pem").read_text().splitlines()[1:-1])
    texts = [s.log(), verify.stdout, verify.stderr, checkpoint_file(s).read_text(),
             s.config_path.read_text()]
    forms = [key.hex(), base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode()
             .rstrip("="), raw.hex(), base64.urlsafe_b64encode(raw).decode().rstrip("="),
             pem_body]
    for text in texts:
        for form in forms:
            assert form not in text
    # a bad key file is named, never shown
    (s.dir / "audit.key").write_bytes(key + b"x")
    p = run_server_expecting_failure(s)
    assert "must hold exactly 32 bytes" in p.stderr, p.stderr
    assert key.hex() not in p.stderr + p.stdout


def test_a_missing_audit_key_is_refused(make_server):
    s = make_server(start=False)
    (s.dir / "audit.key").unlink()
    p = run_server_expecting_failure(s)
    assert "audit.key" in p.stderr and "--keys-only" in p.stderr, p.stderr


def test_a_wrong_audit_key_is_refused(make_server):
    s = make_server()
    some_events(s)
    s.stop()
    (s.dir / "audit.key").write_bytes(os.urandom(32))
    p = run_server_expecting_failure(s)
    assert "is not the key the audit chain was made with" in p.stderr, p.stderr
    v = s.audit_verify()
    assert v.returncode == 1 and "not the key" in v.stderr, v.stdout + v.stderr


# ---- the keyed chain ----------------------------------------------------------------------


def test_the_chain_is_keyed(make_server):
    """Every hash is HMAC-SHA256 under audit.key (so the rule below is the documented one),
    and none is the old unkeyed SHA-256."""
    s = make_server()
    some_events(s)
    s.stop()
    key = (s.dir / "audit.key").read_bytes()
    prev = ""
    for row in rows(s):
        assert row["prev_hash"] == prev
        assert row["hash"] == keyed_rule(key, prev, row), row
        assert row["hash"] != old_rule(prev, row)
        prev = row["hash"]


def test_rows_rehashed_the_old_way_are_named(make_server):
    s = make_server()
    some_events(s)
    s.stop()
    assert s.audit_verify().returncode == 0
    sqlite(s.db_path, "update audit_events set actor_identity='mallory@example.com' where id=4")
    rewrite_chain(s, old_rule, start_id=4)
    p = s.audit_verify()
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stdout.startswith("audit log TAMPERED: event 4:"), p.stdout
    # the head no longer has the hash of the newest checkpoint: the server refuses to start
    p = run_server_expecting_failure(s)
    assert "does not match its newest checkpoint" in p.stderr, p.stderr


def test_a_rehashed_whole_chain_is_named(make_server):
    """Re-hashing everything from the first event the old way fails at event 1."""
    s = make_server()
    some_events(s)
    s.stop()
    rewrite_chain(s, old_rule)
    p = s.audit_verify()
    assert p.stdout.startswith("audit log TAMPERED: event 1:"), p.stdout


# ---- checkpoints --------------------------------------------------------------------------


def test_a_removed_tail_is_found_against_the_checkpoint(make_server):
    s = make_server()
    some_events(s)
    s.stop()  # a clean stop writes a checkpoint of the head
    last = checkpoint_lines(s)[-1]
    cp = parse_checkpoint(last)
    total = len(rows(s))
    assert int(cp["count"]) == total and int(cp["last_id"]) == total, (cp, total)
    assert f"jitsudod: {last}" in s.log(), "the checkpoint is in the journal too"
    keep = total - 3
    sqlite(s.db_path, f"delete from audit_events where id>{keep}; "
                      f"update sqlite_sequence set seq={keep} where name='audit_events'")
    p = s.audit_verify()
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stdout.startswith(
        f"audit log TAMPERED: events {keep + 1}..{total} are missing (checkpoint of "
        f"{cp['time']} counted {total})"), p.stdout
    p = run_server_expecting_failure(s)
    assert f"events {keep + 1}..{total} are missing" in p.stderr, p.stderr


def test_checkpoints_are_written_periodically(make_server):
    s = make_server({"audit.checkpoint_interval": "1s"})
    before = len(checkpoint_lines(s))
    assert before >= 1, "a checkpoint at start"
    s.client(ALICE).create_ok()
    wait_for(lambda: len(checkpoint_lines(s)) > before, 4, what="a periodic checkpoint")
    line = checkpoint_lines(s)[-1]
    assert int(parse_checkpoint(line)["count"]) == len(s.client(ADMIN).audit_all())
    wait_for(lambda: f"jitsudod: {line}" in s.log(), 2, what="the checkpoint in the log")
    # nothing new: no new line
    time.sleep(1.5)
    assert checkpoint_lines(s)[-1] == line
    p = s.audit_verify()
    assert p.returncode == 0 and p.stdout.startswith("audit log intact:"), p.stdout


def test_forged_checkpoints_are_found(make_server):
    s = make_server()
    some_events(s)
    s.stop()
    path = checkpoint_file(s)
    good = path.read_text()
    last = good.splitlines()[-1]
    cp = parse_checkpoint(last)

    # a changed count under the old signature
    path.write_text(good.replace(f"count={cp['count']} ", f"count={int(cp['count']) + 5} "))
    p = s.audit_verify()
    assert p.returncode == 1 and "signature does not verify" in p.stdout, p.stdout

    # a checkpoint signed with another key, counting fewer events
    other = ed25519.Ed25519PrivateKey.generate()
    text = (f"jitsudo-audit-checkpoint/1 count=2 last_id=2 head={rows(s)[1]['hash']} "
            f"time={cp['time']}")
    sig = base64.urlsafe_b64encode(other.sign(text.encode())).decode().rstrip("=")
    path.write_text(good + f"{text} sig={sig}\n")
    p = s.audit_verify()
    assert p.returncode == 1 and "signature does not verify" in p.stdout, p.stdout
    p = run_server_expecting_failure(s)
    assert "signature" in p.stderr, p.stderr

    # the file removed: the chain is intact but the tail cannot be vouched for
    path.unlink()
    p = s.audit_verify()
    assert p.returncode == 1 and p.stdout.startswith("audit log UNVERIFIED:"), p.stdout

    path.write_text(good)
    assert s.audit_verify().returncode == 0


def test_an_unfinished_last_line_is_a_crash_not_a_forgery(make_server):
    s = make_server()
    some_events(s)
    s.stop()
    path = checkpoint_file(s)
    with open(path, "a") as f:
        f.write("jitsudo-audit-checkpoint/1 count=9")  # no newline: cut off by a crash
    p = s.audit_verify()
    assert p.returncode == 0, p.stdout + p.stderr
    s.start()  # the server cuts it off and goes on
    s.client(ALICE).create_ok()
    s.stop()
    assert all(line.startswith("jitsudo-audit-checkpoint/1 ") and " sig=" in line
               for line in checkpoint_lines(s))
    assert s.audit_verify().returncode == 0


# ---- migration of a database from before the audit key ------------------------------------


def test_an_old_database_is_rekeyed_at_start(make_server):
    s = make_server()
    some_events(s)
    s.stop()
    to_old_format(s)
    checkpoint_file(s).unlink()
    # an upgraded installation has neither key yet
    (s.dir / "audit.key").unlink()
    (s.dir / "checkpoint.pem").unlink()
    old = rows(s)
    n = len(old)
    p = s.audit_verify()
    assert p.returncode == 1 and "audit.key" in p.stderr, p.stdout + p.stderr
    p = s.run_cli("init", "--keys-only", "--dir", str(s.dir), check=True)
    assert "Created 2 missing key files" in p.stdout, p.stdout
    p = s.audit_verify()
    assert p.returncode == 0 and "unkeyed chain" in p.stdout, p.stdout

    started = time.monotonic()
    s.start()
    assert f"audit log re-keyed: {n} events" in s.log(), s.log()
    events = s.client(ADMIN).audit_all()
    rekeyed = [e for e in events if e["action"] == "audit.chain_rekeyed"]
    assert len(rekeyed) == 1, events
    assert rekeyed[0]["id"] == n + 1
    assert json.loads(rekeyed[0]["details_json"])["events"] == n
    assert rekeyed[0]["actor_identity"] == "system"
    s.client(ALICE).create_ok(reason="after the upgrade")
    s.stop()
    assert time.monotonic() - started < 10
    key = (s.dir / "audit.key").read_bytes()
    prev = ""
    for before, after in zip(old, rows(s)):
        assert after["hash"] != before["hash"]
        assert after["hash"] == keyed_rule(key, prev, after)
        prev = after["hash"]
    p = s.audit_verify()
    assert p.returncode == 0 and p.stdout.startswith(f"audit log intact: {n + 2} events ("), \
        p.stdout
    # a second start does not re-key again
    s.start()
    s.stop()
    assert s.log().count("audit log re-keyed") == 1


def test_a_tampered_old_database_is_not_rekeyed(make_server):
    s = make_server()
    some_events(s)
    s.stop()
    to_old_format(s)
    checkpoint_file(s).unlink()
    sqlite(s.db_path, "update audit_events set outcome='denied' where id=3")
    before = rows(s)
    p = run_server_expecting_failure(s)
    assert "not intact: event 3:" in p.stderr and "not re-keyed" in p.stderr, p.stderr
    assert rows(s) == before, "nothing was changed"
    assert sqlite(s.db_path, "select count(*) from meta where key='audit_chain'").strip() == "0"


def test_a_downgraded_chain_is_refused(make_server):
    """The chain rewritten by the old rule while checkpoints of the keyed one exist."""
    s = make_server()
    some_events(s)
    s.stop()
    to_old_format(s)
    p = run_server_expecting_failure(s)
    assert "unkeyed chain" in p.stderr and "checkpoints" in p.stderr, p.stderr
    v = s.audit_verify()
    assert v.returncode == 1 and v.stdout.startswith("audit log TAMPERED:"), v.stdout
