import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from harness import Cluster  # noqa: E402
from peers import MatrixUser, XmppUser  # noqa: E402


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
    """One Prosody, one Synapse and one isthmus for the whole run."""
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
