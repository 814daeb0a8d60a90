# The body of bench_ssh.sh: SSH logins through an sshd whose stack has pam_jitsudo (the account
# gate and session injection, the grant already held by the agent) against the same sshd
# without it. Prints median, p90, p99 and the ratio of medians. Measured twice: with the
# agent's shipped deadlines.refresh (10s: most logins are answered from what the agent holds),
# which must meet the target, and with refresh 0 (every login asks jitsudod for the user's
# grants, the worst case), printed for information.
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import pam_support as ps  # noqa: E402

USER = "jitpambench"
LOGINS = int(os.environ.get("BENCH_SSH_LOGINS", "40"))
MAX_RATIO = float(os.environ.get("BENCH_SSH_MAX_RATIO", "1.10"))
GRANT = "provider=aws role=prod-infra-admin scope=123456789012"


def percentile(values, p):
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


def login(sshd):
    t0 = time.monotonic()
    r = sshd.ssh(USER, "true")
    elapsed = time.monotonic() - t0
    if r.returncode != 0:
        raise SystemExit(f"bench_ssh: login failed: {r.stderr}\n{sshd.log()}")
    return elapsed


def measure(scratch, refresh):
    """Times of LOGINS logins each way, alternating, with the agent's deadlines.refresh."""
    with ps.world(agent_settings={"deadlines.refresh": refresh}) as w, \
            ps.unix_user(USER, groups=[ps.ELIGIBLE_GROUP]) as user:
        w.approved(USER)
        so, sock = ps.PAM_MODULE, w.socket
        plain = ("account required pam_unix.so\n"
                 "session required pam_unix.so\n")
        with_module = (f"account required {so} socket={sock} {GRANT}\n"
                       "account required pam_unix.so\n"
                       f"session required {so} socket={sock}\n"
                       "session required pam_unix.so\n")
        with ps.sshd(scratch / "plain", plain) as a, ps.sshd(scratch / "module", with_module) as b:
            a.authorize(user)
            b.authorize(user)
            r = b.ssh(USER, "env")
            if "AWS_SHARED_CREDENTIALS_FILE=" not in r.stdout:
                raise SystemExit(f"bench_ssh: the module injected nothing: {r.stderr}")
            for _ in range(3):  # warm both up
                login(a)
                login(b)
            times = {"without": [], "with": []}
            for _ in range(LOGINS):
                times["without"].append(login(a))
                times["with"].append(login(b))
    return times


def report(label, times):
    for name in ("without", "with"):
        v = times[name]
        print(f"ssh login {name:7} pam_jitsudo ({label}): median "
              f"{statistics.median(v) * 1000:7.1f} ms  p90 {percentile(v, 90) * 1000:7.1f} ms  "
              f"p99 {percentile(v, 99) * 1000:7.1f} ms  ({len(v)} logins)")
    return statistics.median(times["with"]) / statistics.median(times["without"])


def main():
    if not ps.PAM_MODULE.exists():
        raise SystemExit(f"bench_ssh: {ps.PAM_MODULE} is not built (make)")
    scratch = Path(tempfile.mkdtemp(prefix="jitsudo-bench-ssh-"))
    try:
        shipped = measure(scratch / "shipped", "10s")
        worst = measure(scratch / "always", "0ms")
    finally:
        subprocess.run(["rm", "-rf", str(scratch)], check=False)
    ratio = report("refresh 10s, as shipped", shipped)
    worst_ratio = report("refresh 0, jitsudod asked at every login", worst)
    print(f"ssh login ratio (median with / without): {ratio:.3f} as shipped "
          f"(target <= {MAX_RATIO}); {worst_ratio:.3f} when jitsudod is asked at every login")
    if ratio > MAX_RATIO:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
