#!/usr/bin/env bash
# Agent benchmark: SESSION_OPEN with the grant already held by the agent (p50/p99 over
# BENCH_OPENS opens, each on a fresh connection with its handshake, as pam_jitsudo does) and
# the agent's resident size (VmRSS) after startup, after the first session open with the
# grant held, and after all the opens — counting the agent and any process it has running
# (its call helper, which lives only while a call to jitsudod is made). Starts the real
# jitsudod and agent binaries in a temporary directory (session files on a tmpfs, as under
# /run when deployed) and a throwaway local user (root needed). Targets: p99 <= 2 ms,
# RSS < 5 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 - "${BENCH_OPENS:-2000}" <<'PY'
import os, shutil, subprocess, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, "tests/integration")
import harness, agent_support as ag

opens = int(sys.argv[1])


def rss_kb(pid):
    """VmRSS of pid and of every process below it, in KiB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in open(f"/proc/{p}/task/{task}/children").read().split()]
        except OSError:
            pass
    return total


user = "jitbench"
subprocess.run(["userdel", user], capture_output=True)
had_group = subprocess.run(["getent", "group", "sre"], capture_output=True).returncode == 0
if not had_group:
    subprocess.run(["groupadd", "sre"], check=True)
subprocess.run(["useradd", "-M", "-G", "sre", user], check=True)
root = Path(tempfile.mkdtemp(prefix="jitbench-"))
# Session files on a tmpfs, as when deployed: /run/jitsudo (jitsudo-agent.service's
# RuntimeDirectory) is a tmpfs on a systemd host, though not on every test machine, so
# /dev/shm stands in. The state file stays on disk, as /var/lib/jitsudo-agent is.
run_dir = Path(tempfile.mkdtemp(prefix="jitbench-", dir="/dev/shm"))
server = agent = None
try:
    agent = ag.Agent(root / "agent", settings={"deadlines.refresh": "1h",
                                               "paths.runtime_dir": str(run_dir)})
    server = harness.Server(root / "srv", ag.host_settings(root / "agent"))
    server.start()
    agent.server_url = server.url
    agent.write_config()
    agent.start()
    time.sleep(0.2)
    rss_start = rss_kb(agent.proc.pid)
    c = agent.pam()
    r = c.call(ag.GRANT_ENSURE, [(ag.T_USER, user), (ag.T_PROVIDER, "aws"),
                                 (ag.T_ROLE, "prod-infra-admin"), (ag.T_REASON, "bench")])
    rid = r.get(ag.T_REQUEST_ID)
    harness.expect(server.client(harness.BOB).approve(rid), 200)
    c.call(ag.GRANT_WAIT, [(ag.T_USER, user), (ag.T_REQUEST_ID, rid), (ag.T_TIMEOUT, 5000)])
    r = c.call(ag.SESSION_OPEN, [(ag.T_USER, user), (ag.T_SESSION, "warm")])
    assert r.type == ag.SESSION_ENV and r.get(ag.T_DIR), r
    rss_session = rss_kb(agent.proc.pid)
    times = []
    for i in range(opens):
        t0 = time.perf_counter()
        c = ag.AgentClient(agent.pam_sock)
        r = c.call(ag.SESSION_OPEN, [(ag.T_USER, user), (ag.T_SESSION, f"s{i % 50}")])
        times.append(time.perf_counter() - t0)
        c.close()
        assert r.type == ag.SESSION_ENV and r.get(ag.T_DIR), r
    times.sort()
    rss = rss_kb(agent.proc.pid)
    p50, p99 = times[len(times) // 2] * 1e3, times[int(len(times) * 0.99)] * 1e3
    print(f"agent session open (grant held, {opens} opens, new connection each): "
          f"p50 {p50:.3f} ms, p99 {p99:.3f} ms (target <= 2 ms)")
    print(f"agent RSS: {rss_start / 1024:.1f} MB after startup, {rss_session / 1024:.1f} MB "
          f"after a session open with the grant held, {rss / 1024:.1f} MB after the opens "
          f"(target < 5 MB)")
finally:
    if agent:
        agent.stop()
    if server:
        server.stop()
    subprocess.run(["userdel", user], capture_output=True)
    if not had_group:
        subprocess.run(["groupdel", "sre"], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(run_dir, ignore_errors=True)
PY
