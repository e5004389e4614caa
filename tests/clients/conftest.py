"""Fixtures for the real-client tests: one Prosody + Synapse + isthmus for
the session (the integration tests' harness), the page server for
Converse.js, and a directory of artifacts (screens, screenshots, logs) per
test under tests/clients/artifacts/."""

import os
import pathlib
import re
import shutil
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

from harness import Cluster  # noqa: E402
from clients import Converse, Profanity, WebServer  # noqa: E402

ARTIFACTS = pathlib.Path(os.environ.get("CLIENT_ARTIFACTS",
                                        HERE / "artifacts"))


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """One Prosody, one Synapse and one isthmus for the whole run."""
    root = tmp_path_factory.mktemp("cluster")
    c = Cluster(root)
    try:
        c.start()
        yield c
    finally:
        c.stop()
        if c.isthmus is not None:
            log = c.isthmus.log_text()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "isthmus.log").write_text(log)
            # Sanitizer reports land in isthmus's stderr, i.e. this log.
            assert "ERROR: AddressSanitizer" not in log, log[-5000:]
            assert "runtime error:" not in log, log[-5000:]
            assert "ERROR: LeakSanitizer" not in log, log[-5000:]


@pytest.fixture
def gateway(cluster):
    """The running isthmus; restarted if an earlier test left it stopped."""
    if not cluster.isthmus.running():
        cluster.isthmus.start()
    return cluster.isthmus


@pytest.fixture(scope="session")
def web():
    server = WebServer()
    yield server
    server.stop()


@pytest.fixture
def artifacts(request):
    """tests/clients/artifacts/<test name>/, emptied first."""
    path = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@pytest.fixture
async def profanity(artifacts):
    """Starts Profanity instances on demand; stops them after the test."""
    started = []

    def start(name="profanity"):
        p = Profanity(artifacts, name).start()
        started.append(p)
        return p
    yield start
    for p in started:
        await p.stop()


@pytest.fixture
async def converse(artifacts):
    """Starts Converse.js browsers on demand; stops them after the test."""
    started = []

    async def start(name="converse"):
        c = Converse(artifacts, name)
        started.append(c)
        return await c.start()
    yield start
    for c in started:
        await c.stop()
