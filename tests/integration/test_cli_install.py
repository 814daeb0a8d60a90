# What `make install` puts on disk for the CLI, and whether it works: exactly the installed
# layout the packages list, man pages that render without groff warnings and document every
# flag --help lists, bash completion that loads and completes every command's flags, zsh
# completion that loads.
import os
import re
import shutil
import subprocess

import pytest

import harness
from test_cli import COMMANDS, JITSUDO, help_flags, need_binary

PAGES = ["jitsudo.1"] + [f"jitsudo-{c}.1" for c in COMMANDS if " " not in c]
MAN_DIR = harness.REPO / "build" / "man"
BASH_COMPLETION = harness.REPO / "cli" / "completion" / "jitsudo.bash"
ZSH_COMPLETION = harness.REPO / "cli" / "completion" / "_jitsudo"


def help_text(command):
    p = subprocess.run([str(JITSUDO), *command.split(), "--help"], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 0
    return p.stdout


def render(page, device="ascii"):
    p = subprocess.run(["groff", "-man", f"-T{device}", "-ww", "-b", str(page)],
                       capture_output=True, text=True, timeout=30)
    p.stdout = re.sub(r".\x08", "", p.stdout)  # bold and underline by overstrike
    return p


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    need_binary()
    dest = tmp_path_factory.mktemp("destdir")
    p = subprocess.run(["make", "--no-print-directory", "cli-install", f"DESTDIR={dest}",
                        "PREFIX=/usr"], cwd=harness.REPO, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    return dest


def test_install_layout(installed):
    files = sorted(str(p.relative_to(installed)) for p in installed.rglob("*")
                   if not p.is_dir())
    expected = sorted(["usr/bin/jitsudo",
                       "usr/share/bash-completion/completions/jitsudo",
                       "usr/share/zsh/vendor-completions/_jitsudo"]
                      + [f"usr/share/man/man1/{page}" for page in PAGES])
    assert files == expected
    modes = {f: os.stat(installed / f).st_mode & 0o7777 for f in files}
    assert modes.pop("usr/bin/jitsudo") == 0o755
    assert set(modes.values()) == {0o644}
    p = subprocess.run([str(installed / "usr/bin/jitsudo"), "--version"], capture_output=True,
                       text=True, timeout=10)
    assert p.stdout == "jitsudo 0.1.0\n"


@pytest.mark.parametrize("page", PAGES)
def test_man_page_renders_without_warnings(installed, page):
    path = installed / "usr/share/man/man1" / page
    for device in ("ascii", "utf8"):
        p = render(path, device)
        assert p.returncode == 0 and p.stderr == "", p.stderr
        assert "NAME" in p.stdout and "EXIT STATUS" in p.stdout
    if shutil.which("man"):
        p = subprocess.run(["man", "--warnings", "-l", "-E", "UTF-8", str(path)],
                           capture_output=True, text=True, timeout=30,
                           env={**os.environ, "MANPAGER": "cat", "MANWIDTH": "80"})
        assert p.returncode == 0 and p.stderr == "", p.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_man_page_documents_every_flag_of_help(installed, command):
    page = installed / "usr/share/man/man1" / f"jitsudo-{command.split()[0]}.1"
    text = render(page).stdout
    flags = help_flags(help_text(command))
    assert flags, command
    for flag in flags:
        assert re.search(rf"(^|[\s,]){re.escape(flag)}(\s|$)", text, re.M), (command, flag)
    assert f"jitsudo {command}" in text


def test_main_man_page_lists_every_command(installed):
    text = render(installed / "usr/share/man/man1/jitsudo.1").stdout
    for command in COMMANDS:
        if " " not in command:
            assert f"jitsudo-{command}(1)" in text


def bash_complete(words):
    """Runs the bash completion function on `words` (the last one being completed)."""
    script = (f"source {BASH_COMPLETION}\n"
              "COMP_WORDS=(\"$@\"); COMP_CWORD=$(( $# - 1 ))\n"
              "_jitsudo; printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    p = subprocess.run(["bash", "-c", script, "bash", *words], capture_output=True,
                       text=True, timeout=30, env={"PATH": os.environ["PATH"],
                                                   "HOME": "/nonexistent"})
    assert p.returncode == 0, p.stderr
    return set(p.stdout.split())


def test_bash_completion_loads():
    p = subprocess.run(["bash", "-c", f"source {BASH_COMPLETION}; complete -p jitsudo"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and p.stdout.strip() == "complete -F _jitsudo jitsudo", p.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_bash_completion_offers_every_flag(command):
    flags = help_flags(help_text(command)) - {"--help"}
    offered = bash_complete(["jitsudo", *command.split(), "--"])
    assert flags <= offered, flags - offered


def test_bash_completion_of_commands_and_values():
    top = {c for c in COMMANDS if " " not in c}
    assert bash_complete(["jitsudo", ""]) == top
    assert bash_complete(["jitsudo", "--server", "http://x", ""]) == top
    assert bash_complete(["jitsudo", "policy", ""]) == {"list", "get", "apply", "delete", "eval"}
    assert bash_complete(["jitsudo", "server", ""]) == {"version", "health"}
    assert bash_complete(["jitsudo", "-o", ""]) == {"table", "json", "yaml"}
    assert bash_complete(["jitsudo", "request", "--provider", ""]) == {
        "aws", "azure", "gcp", "kubernetes"}
    assert bash_complete(["jitsudo", "policy", "apply", "--type", "a"]) == {"approval"}
    assert "bash" in bash_complete(["jitsudo", "exec", "req_x", "--", "bas"])


def test_zsh_completion_loads(tmp_path):
    if not shutil.which("zsh"):
        pytest.skip("zsh is not installed (tools/deps.d/cli.list lists it)")
    script = (f"fpath=({ZSH_COMPLETION.parent} $fpath); autoload -U compinit; "
              f"compinit -u -d {tmp_path}/zcompdump; print -r -- $_comps[jitsudo]; "
              "autoload -Uz +X _jitsudo && print loaded")
    p = subprocess.run(["zsh", "-f", "-c", script], capture_output=True, text=True, timeout=30,
                       env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)})
    assert p.returncode == 0 and p.stdout.split() == ["_jitsudo", "loaded"], p.stderr
    text = ZSH_COMPLETION.read_text()
    for command in COMMANDS:
        for flag in help_flags(help_text(command)):
            assert f"'{flag}[" in text or f"{flag}}}" in text or f",{flag}}}" in text, \
                (command, flag)
