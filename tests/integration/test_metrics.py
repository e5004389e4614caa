"""/metrics as a Prometheus server reads it: every metric has its # HELP
and # TYPE, and promtool (Debian's prometheus package) finds nothing to
object to in a live exposition."""

import re
import shutil
import subprocess
import urllib.request

import pytest

from test_dm import open_dm_from_xmpp


def scrape(gateway):
    with urllib.request.urlopen(gateway.url + "/metrics", timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain")
        return r.read().decode()


@pytest.fixture
async def live_metrics(gateway, alice, bob):
    """The exposition after a message each way, so that histograms have
    samples in them."""
    room_id = await open_dm_from_xmpp(alice, bob, "measured")
    await bob.send(room_id, "measured back")
    await alice.wait_message(lambda m: m["body"] == "measured back",
                             what="the reply")
    return scrape(gateway)


def test_every_metric_has_help_and_type(live_metrics):
    text = live_metrics
    helps = set(re.findall(r"^# HELP (\S+) \S", text, re.M))
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    families = set()
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        families.add(base if types.get(base) == "histogram" else name)
    assert families, text
    assert not families - helps, f"no # HELP for {families - helps}"
    assert not families - set(types), f"no # TYPE for {families - set(types)}"


def test_promtool_accepts_the_exposition(live_metrics):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool is missing (apt-get install prometheus)")
    r = subprocess.run([promtool, "check", "metrics"], input=live_metrics,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (r.stdout + r.stderr).strip(), r.stdout + r.stderr
