"""Nothing lost, nothing doubled: streams of messages while isthmus is
killed, Synapse is stopped and Prosody restarts.

XMPP senders behave like a careful client: they ask for XEP-0184 receipts
and resend (same id and origin-id) what was bounced or not confirmed in
time. XEP-0114 has no acknowledgements, so this is the only way a sender
can know that a message crossed; the gateway's job is to confirm only what
is safely on Matrix and to bridge a resend only once. Matrix clients and
XMPP clients deduplicate by event id and stanza id, so the checks do too.
"""

import asyncio
import random
import signal
import sqlite3
import time

import pytest

from harness import wait_until
from peers import MatrixUser, XmppUser, unique, wait_for, wait_true
from test_dm import ghost_id, open_dm_from_xmpp, puppet_jid
from test_robustness import appservice, message_event, txn_path, \
    unconfirmed_stanzas
from test_typing_receipts import ephemeral, read_by, send_displayed

RESEND_AFTER = 4.0


class CarefulSender:
    """One XMPP conversation, stop-and-wait with receipts and resends."""

    def __init__(self, alice, to):
        self.alice = alice
        self.to = to
        self.confirmed = {}
        self.resends = 0
        alice.client.register_plugin("xep_0184")
        alice.client.add_event_handler("receipt_received", self._on_receipt)
        alice.client.add_event_handler("message_error", self._on_error)
        self._events = {}

    def _on_receipt(self, msg):
        ev = self._events.get(msg["receipt"])
        if ev:
            ev.set()

    def _on_error(self, msg):
        ev = self._events.get(msg["id"])
        if ev:   # bounced (gateway down): resend sooner
            ev.bounced = True
            ev.set()

    async def send(self, body, msg_id):
        ev = asyncio.Event()
        ev.bounced = False
        self._events[msg_id] = ev
        while True:
            msg = self.alice.client.make_message(mto=self.to, mbody=body,
                                                 mtype="chat")
            msg["id"] = msg_id
            msg["origin_id"]["id"] = msg_id
            msg["request_receipt"] = True
            msg.send()
            try:
                await asyncio.wait_for(ev.wait(), RESEND_AFTER)
            except asyncio.TimeoutError:
                self.resends += 1
                continue
            if ev.bounced:
                ev.clear()
                ev.bounced = False
                self.resends += 1
                await asyncio.sleep(0.5)
                continue
            return


async def collect_matrix(bob, room_id, prefix, n, timeout):
    """Bodies bob sees in room_id starting with prefix, by event id."""
    seen, order = set(), []
    deadline = time.monotonic() + timeout
    while len(order) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(order)} of {n} '{prefix}' messages " \
            f"reached Matrix: {order[-5:]}"
        _, e = await bob.wait_message(
            lambda r, e: r == room_id and e.body.startswith(prefix),
            timeout=left, what=f"'{prefix}' messages on Matrix")
        assert e.event_id not in seen
        seen.add(e.event_id)
        order.append(e.body)
    return order


async def collect_xmpp(alice, prefix, n, timeout, ids=None):
    """Bodies alice sees starting with prefix, deduplicated by stanza id as
    XMPP clients do (ids: those seen before, in an earlier session, which
    it adds to); returns (bodies, how many resent copies came)."""
    ids = set() if ids is None else ids
    order, copies = [], 0
    deadline = time.monotonic() + timeout
    while len(order) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(order)} of {n} '{prefix}' messages " \
            f"reached XMPP: {order[-5:]}"
        m = await alice.wait_message(
            lambda m: m["type"] == "chat" and m["body"].startswith(prefix),
            timeout=left, what=f"'{prefix}' messages on XMPP")
        if m["id"] in ids:
            copies += 1
            continue
        ids.add(m["id"])
        order.append(m["body"])
    return order, copies


async def open_conversations(cluster, n):
    pairs = []
    for _ in range(n):
        alice = await XmppUser(cluster.prosody).connect()
        bob = await MatrixUser(cluster.synapse.url).register()
        room_id = await open_dm_from_xmpp(alice, bob, "open")
        pairs.append((alice, bob, room_id))
    return pairs


async def close_conversations(pairs):
    for alice, bob, _ in pairs:
        await bob.close()
        await alice.disconnect()


@pytest.mark.core
async def test_streams_survive_three_sigkills(cluster, gateway):
    conversations, per_direction = 10, 100   # 2,000 messages in all
    pairs = await open_conversations(cluster, conversations)
    try:
        async def xmpp_stream(i, alice, bob):
            sender = CarefulSender(alice, puppet_jid(bob))
            for k in range(per_direction):
                await sender.send(f"x{i}-{k}", f"kill-x{i}-{k}")
            return sender.resends

        async def matrix_stream(i, bob, room_id):
            for k in range(per_direction):
                await bob.send(room_id, f"m{i}-{k}")
                await asyncio.sleep(0.02)

        async def killer():
            rng = random.Random()
            for _ in range(3):
                await asyncio.sleep(rng.uniform(1.0, 4.0))
                await asyncio.to_thread(gateway.stop, True)   # SIGKILL
                await asyncio.to_thread(gateway.start)

        collectors = [collect_matrix(bob, room, f"x{i}-", per_direction, 240)
                      for i, (_, bob, room) in enumerate(pairs)]
        collectors += [collect_xmpp(alice, f"m{i}-", per_direction, 240)
                       for i, (alice, _, _) in enumerate(pairs)]
        collecting = asyncio.gather(*collectors)
        senders = asyncio.gather(
            *[xmpp_stream(i, a, b) for i, (a, b, _) in enumerate(pairs)],
            *[matrix_stream(i, b, r) for i, (_, b, r) in enumerate(pairs)],
            killer())
        results = await asyncio.wait_for(senders, 300)
        got = await asyncio.wait_for(collecting, 300)

        for i in range(conversations):
            assert got[i] == [f"x{i}-{k}" for k in range(per_direction)], \
                f"XMPP->Matrix conversation {i} lost, doubled or reordered"
            bodies, _copies = got[conversations + i]
            assert bodies == [f"m{i}-{k}" for k in range(per_direction)], \
                f"Matrix->XMPP conversation {i} lost or reordered"
        print(f"resends by XMPP senders: {sum(results[:conversations])}")
        assert gateway.starts >= 4
    finally:
        await close_conversations(pairs)


async def test_synapse_outage_keeps_true_timestamps(cluster, gateway, alice,
                                                    bob):
    room_id = await open_dm_from_xmpp(alice, bob, "before the outage")
    cluster.synapse.stop()
    sent_at = {}
    try:
        for k in range(5):
            body = f"during outage {k}"
            sent_at[body] = time.time() * 1000
            alice.send(puppet_jid(bob), body)
            await asyncio.sleep(1)
        await asyncio.sleep(25)   # 30 s of outage in all
    finally:
        cluster.synapse.start()
    delivered_after = time.time() * 1000
    for k in range(5):
        body = f"during outage {k}"
        _, e = await bob.wait_message(
            lambda r, e, b=body: r == room_id and e.body == b, timeout=120,
            what=f"'{body}' after Synapse came back")
        # origin_server_ts is when the stanza reached the gateway.
        assert abs(e.server_timestamp - sent_at[body]) < 2000, \
            (e.server_timestamp, sent_at[body])
        assert e.server_timestamp < delivered_after - 20000


async def test_a_read_marker_survives_an_outage_and_a_restart(
        cluster, gateway, alice, bob):
    """An XMPP displayed marker sent while Synapse is down, with isthmus
    killed before Synapse is back, still becomes the ghost's m.read: the
    gateway moved the read position in its store, so the receipt must be
    kept there too."""
    room_id = await open_dm_from_xmpp(alice, bob, "durable receipts")
    event_id = await bob.send(room_id, "read me during the outage")
    got = await alice.wait_message(
        lambda m: m["body"] == "read me during the outage",
        what="bob's message on XMPP")
    receipts = ephemeral(bob)
    ghost = ghost_id(alice)
    cluster.synapse.stop()
    try:
        queued = "isthmus_read_markers_to_matrix_total"
        before = gateway.metrics().get(queued, 0)
        send_displayed(alice, puppet_jid(bob), got["id"], "chat")
        await wait_true(lambda: gateway.metrics().get(queued, 0) > before,
                        20, "isthmus to take alice's displayed marker")
        gateway.stop(kill=True)
        gateway.start()
    finally:
        cluster.synapse.start()
    await wait_for(receipts,
                   lambda item: event_id in read_by(item, room_id, ghost),
                   120, "alice's ghost's m.read after the outage and the "
                   "restart")


async def prosody_back(cluster, gateway, mark, alice):
    """Starts Prosody again, waits for isthmus to reconnect (a log line
    after mark), and returns alice logged in anew."""
    cluster.prosody.start()
    wait_until(lambda: "component: connected" in gateway.log_text()[mark:],
               60, "isthmus to reconnect after the Prosody restart")
    # alice logs in once the server has taken what waited: a login racing
    # the server's offline storage is the server's matter, not isthmus's
    # (ejabberd 23.01 can lose a message it stores offline during the
    # login's initial presence).
    wait_until(lambda: unconfirmed_stanzas(gateway) == 0, 60,
               "the server to take the stanzas that waited")
    return await XmppUser(cluster.prosody, name=alice.name,
                          register=False).connect()


@pytest.mark.core
async def test_prosody_restart_mid_stream(cluster, gateway):
    alice = await XmppUser(cluster.prosody).connect()
    bob = await MatrixUser(cluster.synapse.url).register()
    try:
        room_id = await open_dm_from_xmpp(alice, bob, "hello")
        for k in range(10):
            await bob.send(room_id, f"stream {k}")
        # A stanza the server took but had not yet confirmed when it went
        # down comes again, with the same id, after the restart.
        seen = set()
        got, _ = await collect_xmpp(alice, "stream ", 10, 60, seen)
        assert got == [f"stream {k}" for k in range(10)]
        await alice.disconnect()

        mark = len(gateway.log_text())
        cluster.prosody.stop()
        for k in range(10, 20):
            await bob.send(room_id, f"stream {k}")
        alice = await prosody_back(cluster, gateway, mark, alice)
        got, _ = await collect_xmpp(alice, "stream ", 10, 120, seen)
        assert got == [f"stream {k}" for k in range(10, 20)]
        alice.send(puppet_jid(bob), "back again")
        await bob.wait_message(lambda r, e: e.body == "back again",
                               what="XMPP to Matrix after the restart")
    finally:
        await bob.close()
        await alice.disconnect()



async def test_a_reused_transaction_id_with_new_events_is_applied(cluster,
                                                                  gateway):
    """Synapse numbers appservice transactions from 1 again after some
    restarts. A transaction under an id seen before is a retry only if it
    carries the same events; with other events it must be applied."""
    alice = await XmppUser(cluster.prosody).connect()
    bob = await MatrixUser(cluster.synapse.url).register()
    try:
        room_id = await open_dm_from_xmpp(alice, bob, "hello")
        first = {"events": [message_event(room_id, bob.user_id, "reused 1",
                                          "$reused-one")]}
        second = {"events": [message_event(room_id, bob.user_id, "reused 2",
                                           "$reused-two")]}
        path = txn_path(unique("reused"))
        assert appservice(gateway, "PUT", path, first)[0] == 200
        assert appservice(gateway, "PUT", path, first)[0] == 200  # a retry
        assert appservice(gateway, "PUT", path, second)[0] == 200  # new
        got, _ = await collect_xmpp(alice, "reused ", 2, 30)
        assert got == ["reused 1", "reused 2"]
        # And the retry was not delivered twice.
        alice.send(puppet_jid(bob), "sentinel")
        await bob.wait_message(lambda r, e: e.body == "sentinel",
                               what="the sentinel")
        extra = [m["body"] for m in list(alice.messages._queue)
                 if m["body"].startswith("reused ")]
        assert extra == [], extra
    finally:
        await bob.close()
        await alice.disconnect()


async def test_stanzas_the_server_never_took_are_sent_again(cluster,
                                                             gateway):
    """A stanza is done only when the XMPP server has read it. Prosody is
    frozen, takes nothing while isthmus writes five messages into its
    socket, and is then killed: those bytes die with it. After the
    restart, the five still arrive."""
    alice = await XmppUser(cluster.prosody).connect()
    bob = await MatrixUser(cluster.synapse.url).register()
    try:
        room_id = await open_dm_from_xmpp(alice, bob, "hello")
        await bob.send(room_id, "confirmed 0")
        got, _ = await collect_xmpp(alice, "confirmed ", 1, 60)
        await wait_true(lambda: unconfirmed_stanzas(gateway) == 0, 30,
                        "the server's confirmation to clear the outbox")
        await alice.disconnect()

        sent = "isthmus_stanzas_to_xmpp_total"
        before = gateway.metrics()[sent]
        mark = len(gateway.log_text())
        cluster.prosody.signal_server(signal.SIGSTOP)
        try:
            for k in range(5):
                await bob.send(room_id, f"frozen {k}")
            await wait_true(lambda: gateway.metrics()[sent] >= before + 5, 60,
                            "isthmus to write the five stanzas to the "
                            "frozen server")
            assert unconfirmed_stanzas(gateway) >= 5, \
                "stanzas the server never read were taken as delivered"
        finally:
            cluster.prosody.crash()
        alice = await prosody_back(cluster, gateway, mark, alice)
        got, _ = await collect_xmpp(alice, "frozen ", 5, 120)
        assert got == [f"frozen {k}" for k in range(5)]
        await wait_true(lambda: unconfirmed_stanzas(gateway) == 0, 30,
                        "the outbox to clear once the server took them")
    finally:
        await bob.close()
        await alice.disconnect()
