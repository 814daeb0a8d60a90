# Fixtures of the integration tests: a jitsudod per test module (`server`), servers of their
# own for tests that need another config or kill the process (`make_server`), and the people
# of the tests as API clients. A failing test gets the logs of the servers it used attached.
import os

import pytest

import harness

_live = []  # servers of the running test, for the failure report


def _need_binary():
    if not os.access(harness.BIN, os.X_OK):
        pytest.fail(f"{harness.BIN} is not built (make build/jitsudod)", pytrace=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _need_binary()
    s = harness.Server(tmp_path_factory.mktemp("jitsudod"))
    s.start()
    _live.append(s)
    yield s
    _live.remove(s)
    code = s.stop()
    assert code in (0, None), f"jitsudod exited {code} on SIGTERM:\n{s.log()[-3000:]}"


@pytest.fixture
def make_server(tmp_path):
    """make_server(settings=None, policies_dir=..., start=True) -> a Server of this test."""
    _need_binary()
    made = []

    def make(settings=None, start=True, **kw):
        s = harness.Server(tmp_path / f"srv{len(made)}", settings, **kw)
        made.append(s)
        _live.append(s)
        if start:
            s.start()
        return s

    yield make
    for s in made:
        _live.remove(s)
        s.stop()


def _clients(server):
    return {name: server.client(who) for name, who in (
        ("alice", harness.ALICE), ("bob", harness.BOB), ("carol", harness.CAROL),
        ("eve", harness.EVE), ("admin", harness.ADMIN), ("mallory", harness.MALLORY))}


@pytest.fixture(scope="module")
def people(server):
    return _clients(server)


@pytest.fixture
def alice(people):
    return people["alice"]


@pytest.fixture
def bob(people):
    return people["bob"]


@pytest.fixture
def carol(people):
    return people["carol"]


@pytest.fixture
def eve(people):
    return people["eve"]


@pytest.fixture
def admin(people):
    return people["admin"]


@pytest.fixture
def mallory(people):
    return people["mallory"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _live:
        for i, s in enumerate(_live):
            report.sections.append((f"jitsudod log {i} ({s.dir})", s.log()[-4000:]))
