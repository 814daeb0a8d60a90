#!/usr/bin/env bash
# Agent benchmark: SESSION_OPEN with the grant already held by the agent (p50/p99 over
# BENCH_OPENS opens, each on a fresh connection with its handshake, as pam_jitsudo does) and
# the agent's resident size afterwards. Starts a real jitsudod and agent in a temporary
# directory and a throwaway local user (root needed). Targets: p99 <= 2 ms, RSS < 5 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 - "${BENCH_OPENS:-2000}" <<'PY'
import os, shutil, subprocess, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, "tests/integration")
import harness, agent_support as ag

opens = int(sys.argv[1])
user = "jitbench"
subprocess.run(["userdel", user], capture_output=True)
had_group = subprocess.run(["getent", "group", "sre"], capture_output=True).returncode == 0
if not had_group:
    subprocess.run(["groupadd", "sre"], check=True)
subprocess.run(["useradd", "-M", "-G", "sre", user], check=True)
root = Path(tempfile.mkdtemp(prefix="jitbench-"))
server = agent = None
try:
    agent = ag.Agent(root / "agent", settings={"deadlines.refresh": "1h"})
    server = harness.Server(root / "srv", ag.host_settings(root / "agent"))
    server.start()
    agent.server_url = server.url
    agent.write_config()
    agent.start()
    c = agent.pam()
    r = c.call(ag.GRANT_ENSURE, [(ag.T_USER, user), (ag.T_PROVIDER, "aws"),
                                 (ag.T_ROLE, "prod-infra-admin"), (ag.T_REASON, "bench")])
    rid = r.get(ag.T_REQUEST_ID)
    harness.expect(server.client(harness.BOB).approve(rid), 200)
    c.call(ag.GRANT_WAIT, [(ag.T_USER, user), (ag.T_REQUEST_ID, rid), (ag.T_TIMEOUT, 5000)])
    c.call(ag.SESSION_OPEN, [(ag.T_USER, user), (ag.T_SESSION, "warm")])
    times = []
    for i in range(opens):
        t0 = time.perf_counter()
        c = ag.AgentClient(agent.pam_sock)
        r = c.call(ag.SESSION_OPEN, [(ag.T_USER, user), (ag.T_SESSION, f"s{i % 50}")])
        times.append(time.perf_counter() - t0)
        c.close()
        assert r.type == ag.SESSION_ENV and r.get(ag.T_DIR), r
    times.sort()
    rss = 0
    for line in open(f"/proc/{agent.proc.pid}/status"):
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    p50, p99 = times[len(times) // 2] * 1e3, times[int(len(times) * 0.99)] * 1e3
    print(f"agent session open (grant held, {opens} opens, new connection each): "
          f"p50 {p50:.3f} ms, p99 {p99:.3f} ms (target <= 2 ms)")
    print(f"agent RSS: {rss / 1024:.1f} MB (target < 5 MB)")
finally:
    if agent:
        agent.stop()
    if server:
        server.stop()
    subprocess.run(["userdel", user], capture_output=True)
    if not had_group:
        subprocess.run(["groupdel", "sre"], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)
PY
