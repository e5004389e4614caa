"""Every message exactly once, in order, while isthmus is killed (SIGKILL)
three times in the middle of a stream, in both directions, with the
archive catch-up on (the archive cluster: README, Delivery).

The senders are plain clients: no XEP-0184 receipts, no resends of what
got no answer. An XMPP message sent while isthmus is down is bounced by
the server with an error, and its sender sends it again (same id and
origin-id) once the stream is over, as a person whose client showed the
error would; a message written into isthmus's socket as it died gets no
error, and only the catch-up can carry it. The checks count by body as
well as by id. Messages keep the order in which the server took them:
those never bounced arrive in the order sent, and each bounced one once.

ISTHMUS_DURABILITY_REPS (default 2) sets how many times each stream runs;
the README gives the figure of a run of 20 in a row.
"""

import asyncio
import os
import random
import signal

import pytest

from peers import MatrixUser, XmppUser, unique
from test_dm import open_dm_from_xmpp, puppet_jid
from test_faults import collect_xmpp

# The archive catch-up these streams count on needs a server that answers
# a privileged archive query; ejabberd does not (README, Delivery).
# test_faults.py's SIGKILL test, with resending clients, runs there instead.
pytestmark = pytest.mark.not_on_ejabberd(
    "ejabberd 23.01 grants no XEP-0356 iq permission (only "
    "urn:xmpp:privilege:1), so isthmus cannot read its users' archives "
    "after a SIGKILL; a message written into its socket as it died can be "
    "lost, as README (Delivery) says of a server without the permission")

REPS = int(os.environ.get("ISTHMUS_DURABILITY_REPS", "2"))
MESSAGES = 40
KILLS = 3


def pacing(kind):
    """Seconds between two messages: paced streams wait 20-50 ms, bursts
    do not wait."""
    return random.uniform(0.02, 0.05) if kind == "paced" else 0


async def kill_and_restart(gw, kills, stream_seconds):
    """SIGKILLs isthmus `kills` times at random moments of the stream,
    restarting it at once each time."""
    for _ in range(kills):
        await asyncio.sleep(random.uniform(0.05, stream_seconds / kills))
        gw.stop(kill=True)
        await asyncio.to_thread(gw.start)


@pytest.mark.parametrize("kind", ["paced", "burst"])
@pytest.mark.parametrize("rep", range(REPS))
async def test_xmpp_to_matrix_across_kills(archive_cluster, gw, kind, rep):
    cluster = archive_cluster
    alice = await XmppUser(cluster.prosody).connect()
    bob = await MatrixUser(cluster.synapse.url).register()
    bounced = []
    alice.client.add_event_handler(
        "message_error", lambda m: bounced.append(m["id"]))
    try:
        room_id = await open_dm_from_xmpp(alice, bob, "open")
        prefix = unique(f"x2m-{kind}-")
        bodies = [f"{prefix}{k:02d}" for k in range(MESSAGES)]

        async def stream():
            for k, body in enumerate(bodies):
                msg = alice.client.make_message(mto=puppet_jid(bob),
                                                mbody=body, mtype="chat")
                msg["id"] = body
                msg["origin_id"]["id"] = body
                msg.send()
                await asyncio.sleep(pacing(kind))
                if kind == "burst" and k % 10 == 9:
                    await asyncio.sleep(0.2)   # four bursts of ten

        await asyncio.gather(stream(),
                             kill_and_restart(gw, KILLS, 1.5))
        if not gw.running():
            await asyncio.to_thread(gw.start)
        # What the server bounced while isthmus was down is sent again.
        for body in sorted(set(bounced) & set(bodies)):
            msg = alice.client.make_message(mto=puppet_jid(bob), mbody=body,
                                            mtype="chat")
            msg["id"] = body
            msg["origin_id"]["id"] = body
            msg.send()
        alice.send(puppet_jid(bob), f"{prefix}end")

        seen = []
        while f"{prefix}end" not in seen:
            _, event = await bob.wait_message(
                lambda r, e: r == room_id and e.body.startswith(prefix),
                timeout=120, what=f"the {kind} stream ({len(seen)} of "
                f"{MESSAGES} so far, bounced {sorted(set(bounced))})")
            seen.append(event.body)
        got = [b for b in seen if b != f"{prefix}end"]
        doubled = sorted({b for b in got if got.count(b) > 1})
        assert not doubled, f"bridged twice: {doubled}"
        missing = sorted(set(bodies) - set(got))
        assert not missing, f"lost: {missing} (bounced: {sorted(bounced)})"
        kept = [b for b in got if b not in bounced]
        assert kept == sorted(kept), f"out of order: {kept}"
    finally:
        await bob.close()
        await alice.disconnect()


@pytest.mark.parametrize("kind", ["paced", "burst"])
@pytest.mark.parametrize("rep", range(REPS))
async def test_matrix_to_xmpp_across_kills(archive_cluster, gw, kind, rep):
    cluster = archive_cluster
    alice = await XmppUser(cluster.prosody).connect()
    bob = await MatrixUser(cluster.synapse.url).register()
    try:
        room_id = await open_dm_from_xmpp(alice, bob, "open")
        prefix = unique(f"m2x-{kind}-")
        bodies = [f"{prefix}{k:02d}" for k in range(MESSAGES)]

        async def stream():
            for body in bodies:
                await bob.send(room_id, body)
                await asyncio.sleep(pacing(kind))

        await asyncio.gather(stream(),
                             kill_and_restart(gw, KILLS, 1.5))
        if not gw.running():
            await asyncio.to_thread(gw.start)
        await bob.send(room_id, f"{prefix}end")

        ids = set()
        got, copies = await collect_xmpp(alice, prefix, MESSAGES + 1, 180,
                                         ids)
        # Copies with an id seen before (a client would hide them) must
        # not come either: the catch-up skips what alice's archive holds.
        assert copies == 0, f"{copies} stanza(s) sent twice with one id"
        assert got[-1] == f"{prefix}end", got
        got = got[:-1]
        doubled = sorted({b for b in got if got.count(b) > 1})
        assert not doubled, f"delivered twice: {doubled}"
        assert got == bodies, f"lost or out of order: {got}"
    finally:
        await bob.close()
        await alice.disconnect()
