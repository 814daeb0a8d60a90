#!/usr/bin/env bash
# SSH login time with and without pam_jitsudo (target: at most 1.10 times slower). Starts a
# jitsudod, the agent, a test user holding an approved grant and two sshds on loopback, and
# times `ssh user@127.0.0.1 true` against each, interleaved. Needs root and `make`.
#   BENCH_SSH_LOGINS=N   logins per sshd (default 40)
#   BENCH_SSH_MAX_RATIO  the ratio of medians above which it fails (default 1.10)
set -euo pipefail
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 tests/bench/bench_ssh.py "$@"
