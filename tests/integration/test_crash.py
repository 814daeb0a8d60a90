# Nothing answered is lost: rounds of concurrent creates, approvals, denials, credentials
# fetches and revocations on a slow disk (every sync delayed, so changes pile up in batches),
# while other processes read the database as operators' tools do (sqlite3, jitsudod audit
# verify), each round ended by SIGKILL at a random moment. After each restart every change the server
# had answered 200 must be in the database, each with its audit event, and the audit chain
# must verify. Bounded: a fixed number of rounds of at most a few seconds each.
import random
import subprocess
import threading
import time

import requests

import harness
from harness import ALICE, BOB, CAROL, DEFAULT_SPEC, API

ROUNDS = 12
WORKERS = 12
# At least this far into a state after the server answered the change that made it.
AFTER_APPROVE = {"REQUEST_STATE_APPROVED", "REQUEST_STATE_ACTIVE", "REQUEST_STATE_REVOKED",
                 "REQUEST_STATE_EXPIRED"}
AFTER_FETCH = AFTER_APPROVE - {"REQUEST_STATE_APPROVED"}
EVENT_OF = {"approve": "request.approved", "deny": "request.rejected",
            "fetch": "grant.fetched", "revoke": "request.revoked", "create": "request.created"}


class Ledger:
    """What the server answered 200 to: (kind, request id), shared by the workers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pending, self.approved, self.active = [], [], []
        self.answered = []

    def note(self, kind, rid):
        with self.lock:
            self.answered.append((kind, rid))
            if kind == "create":
                self.pending.append(rid)
            elif kind == "approve":
                self.approved.append(rid)
            elif kind == "fetch":
                self.active.append(rid)

    def take(self, which):
        with self.lock:
            pool = getattr(self, which)
            if not pool:
                return None
            return pool.pop(random.randrange(len(pool)))


def worker(server, tokens, ledger, stop, seed):
    rng = random.Random(seed)
    session = requests.Session()
    session.trust_env = False
    base = server.url + API

    def call(method, path, who, body=None):
        return session.request(method, base + path, json=body, timeout=5,
                               headers={"Authorization": f"Bearer {tokens[who]}"})

    while not stop.is_set():
        op = rng.choice(["create", "create", "approve", "approve", "deny", "fetch", "revoke"])
        try:
            if op == "create":
                r = call("POST", "/requests", "alice", dict(DEFAULT_SPEC, reason="crash"))
                if r.status_code == 200:
                    ledger.note("create", r.json()["request"]["id"])
                continue
            source = {"approve": "pending", "deny": "pending", "fetch": "approved",
                      "revoke": "active"}[op]
            rid = ledger.take(source)
            if rid is None:
                continue
            if op == "approve":
                r = call("POST", f"/requests/{rid}/approve", rng.choice(["bob", "carol"]), {})
            elif op == "deny":
                r = call("POST", f"/requests/{rid}/deny", "bob", {"reason": "crash test"})
            elif op == "fetch":
                r = call("GET", f"/requests/{rid}/credentials", "alice")
            else:
                r = call("POST", f"/requests/{rid}/revoke", "alice", {"reason": "crash test"})
            if r.status_code == 200:
                ledger.note(op, rid)
        except requests.RequestException:
            pass  # the server died mid-request: the outcome is unknown, nothing is claimed


def outside_reader(server, stop):
    """Another process opening, reading and closing the database, again and again. Each one
    that closes must not take itself for the last user of the database (and remove the log
    the server is writing)."""
    while not stop.is_set():
        subprocess.run(["sqlite3", str(server.db_path), "select count(*) from requests"],
                       capture_output=True, timeout=30)
        time.sleep(0.02)


def check_round(server, ledger):
    admin = server.client(harness.ADMIN)
    events = {}
    for e in admin.audit_all():
        events.setdefault(e.get("request_id"), set()).add(e["action"])
    final = {}
    for kind, rid in ledger.answered:
        if rid not in final:
            r = admin.get(rid)
            assert r.status_code == 200, f"answered {kind} of {rid}, now {r.status_code}"
            final[rid] = r.json()["request"]["state"]
        state = final[rid]
        if kind == "approve":
            assert state in AFTER_APPROVE, f"answered approval of {rid} lost: {state}"
        elif kind == "deny":
            assert state == "REQUEST_STATE_REJECTED", f"answered denial of {rid} lost: {state}"
        elif kind == "fetch":
            assert state in AFTER_FETCH, f"answered fetch of {rid} lost: {state}"
        elif kind == "revoke":
            assert state == "REQUEST_STATE_REVOKED", f"answered revoke of {rid} lost: {state}"
        assert EVENT_OF[kind] in events.get(rid, set()), f"{EVENT_OF[kind]} of {rid} missing"
    return len(ledger.answered)


def test_kill9_loses_no_answered_change(make_server):
    s = make_server({"server.http_threads": 2}, start=False)
    s.env = harness.failsync_env(JITSUDO_TEST_SYNC_DELAY_MS="3")
    rng = random.Random(20261207)
    checked = 0
    for round_no in range(ROUNDS):
        s.start(timeout=30)
        tokens = {"alice": s.token(ALICE), "bob": s.token(BOB), "carol": s.token(CAROL)}
        ledger, stop = Ledger(), threading.Event()
        threads = [threading.Thread(target=worker, args=(s, tokens, ledger, stop, i))
                   for i in range(WORKERS)]
        threads.append(threading.Thread(target=outside_reader, args=(s, stop)))
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.3, 1.5))
        s.kill9()
        stop.set()
        for t in threads:
            t.join()
        s.start(timeout=30)
        checked += check_round(s, ledger)
        p = s.audit_verify()
        assert p.returncode == 0, f"round {round_no}: {p.stdout}{p.stderr}"
        s.stop()
    # every round did real work
    assert checked > ROUNDS * 20, checked
    print(f"crash rounds {ROUNDS}, answered changes checked {checked}, lost 0")


def test_kill9_after_many_approvals_loses_none(make_server):
    """The reported case: many pending requests, 16 approvers at once, SIGKILL as soon as 200
    approvals were answered; every one of them must be there after the restart."""
    s = make_server(start=False)
    s.env = harness.failsync_env(JITSUDO_TEST_SYNC_DELAY_MS="2")
    total = 0
    for round_no in range(3):
        s.start(timeout=30)
        alice = s.client(ALICE)
        queue = [alice.create_ok()["id"] for _ in range(300)]
        token = s.token(BOB)
        answered, lock, enough = [], threading.Lock(), threading.Event()

        def approver():
            session = requests.Session()
            session.trust_env = False
            while not enough.is_set():
                with lock:
                    if not queue:
                        return
                    rid = queue.pop()
                try:
                    r = session.post(f"{s.url}{API}/requests/{rid}/approve", json={},
                                     headers={"Authorization": f"Bearer {token}"}, timeout=5)
                except requests.RequestException:
                    continue
                if r.status_code == 200:
                    with lock:
                        answered.append(rid)
                        if len(answered) >= 200:
                            enough.set()

        reading = threading.Event()
        threads = [threading.Thread(target=approver) for _ in range(16)]
        threads.append(threading.Thread(target=outside_reader, args=(s, reading)))
        for t in threads:
            t.start()
        enough.wait(30)
        s.kill9()
        reading.set()
        for t in threads:
            t.join()
        with lock:
            acked = list(answered)
        assert len(acked) >= 200, len(acked)
        s.start(timeout=30)
        admin = s.client(harness.ADMIN)
        states = {rid: admin.state(rid) for rid in acked}
        lost = [rid for rid, st in states.items() if st not in AFTER_APPROVE]
        assert not lost, f"round {round_no}: {len(lost)} answered approvals lost: {lost[:5]}"
        assert s.audit_verify().returncode == 0
        total += len(acked)
        s.stop()
    print(f"approvals answered before SIGKILL and found after: {total}, lost 0")
