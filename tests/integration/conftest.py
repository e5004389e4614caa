import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from harness import Cluster  # noqa: E402
from peers import MatrixUser, XmppUser  # noqa: E402


def pytest_addoption(parser):
    parser.addoption(
        "--xmpp-server", choices=("prosody", "ejabberd"),
        default=os.environ.get("ISTHMUS_XMPP_SERVER") or "prosody",
        help="the XMPP server of the test clusters (default: "
        "$ISTHMUS_XMPP_SERVER or prosody); tests/run-tests.sh runs the "
        "tests marked core against ejabberd too (-m core)")


def pytest_configure(config):
    server = config.getoption("--xmpp-server")
    os.environ["ISTHMUS_XMPP_SERVER"] = server   # harness.Cluster reads it
    config.addinivalue_line(
        "markers", "core: one of the tests that run against ejabberd as "
        "well as Prosody (tests/run-tests.sh: --xmpp-server=ejabberd -m core)")
    config.addinivalue_line(
        "markers", "not_on_ejabberd(reason): the test does not apply to "
        "ejabberd, for the reason given; skipped there")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--xmpp-server") != "ejabberd":
        return
    for item in items:
        mark = item.get_closest_marker("not_on_ejabberd")
        if mark is not None:
            reason = mark.args[0] if mark.args else mark.kwargs["reason"]
            item.add_marker(pytest.mark.skip(
                reason=f"not applicable to ejabberd: {reason}"))


def run_cluster(root, **options):
    """Starts a cluster, yields it, stops it, and fails the run if
    isthmus's log (its stderr, where sanitizer reports land) holds one."""
    c = Cluster(root, **options)
    try:
        c.start()
        yield c
    finally:
        c.stop()
        log = c.isthmus.log_text() if c.isthmus else ""
        assert "ERROR: AddressSanitizer" not in log, log[-5000:]
        assert "runtime error:" not in log, log[-5000:]
        assert "ERROR: LeakSanitizer" not in log, log[-5000:]


def running(isthmus):
    """isthmus, restarted if an earlier test left it stopped."""
    if not isthmus.running():
        isthmus.start()
    return isthmus


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """One XMPP server (Prosody unless --xmpp-server says ejabberd), one
    Synapse and one isthmus for the whole run."""
    yield from run_cluster(tmp_path_factory.mktemp("cluster"))


@pytest.fixture
def gateway(cluster):
    """The running isthmus of the main cluster."""
    return running(cluster.isthmus)


@pytest.fixture
async def alice(cluster, gateway):
    """A fresh XMPP user, logged in with slixmpp."""
    user = await XmppUser(cluster.prosody).connect()
    yield user
    await user.disconnect()


@pytest.fixture
async def bob(cluster, gateway):
    """A fresh Matrix user, registered and syncing with matrix-nio."""
    user = await MatrixUser(cluster.synapse.url).register()
    yield user
    await user.close()


@pytest.fixture(scope="session")
def archive_cluster(tmp_path_factory):
    """A second cluster, whose Prosody runs mod_privilege with isthmus's
    patch (contrib/prosody), so that the catch-up can read the archives
    (test_catchup.py, test_durability.py)."""
    yield from run_cluster(tmp_path_factory.mktemp("archive"),
                           archive_results=True)


@pytest.fixture
def gw(archive_cluster):
    """The running isthmus of the archive cluster."""
    return running(archive_cluster.isthmus)
