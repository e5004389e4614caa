"""The catch-up from the archives (README, Delivery): with the XEP-0356
iq permission for MAM and a server that returns a privileged query's
results (Prosody with contrib/prosody's mod_privilege patch), the two
windows XEP-0114 leaves open at a crash are closed:

- a message the server wrote into isthmus's socket as it died is read back
  from the sender's archive after the restart and bridged, once;
- a stanza the server had taken but isthmus had not seen confirmed is not
  sent again when the recipient's archive holds it.

Each test reproduces its window exactly: isthmus or Prosody is frozen
(SIGSTOP) so that the bytes sit in a socket, then isthmus is killed.
"""

import re
import signal

from peers import MatrixUser, XmppUser, unique, wait_true
from test_dm import open_dm_from_xmpp, puppet_jid
from test_faults import collect_xmpp, unconfirmed_stanzas

# The line that ends a catch-up ("reading the archives" starts one).
CATCHUP_DONE = re.compile(r"catchup: read \d+ archive")


def socket_queue(local_port=None, remote_port=None):
    """Bytes waiting unread in the receive queues of the loopback TCP
    sockets with that local or remote port (/proc/net/tcp)."""
    total = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local = int(fields[1].split(":")[1], 16)
            remote = int(fields[2].split(":")[1], 16)
            rx = int(fields[4].split(":")[1], 16)
            if (local_port is not None and local == local_port) or \
               (remote_port is not None and remote == remote_port):
                total += rx
    return total


async def test_a_message_written_into_a_dying_gateway_is_bridged_after_the_restart(  # noqa: E501
        archive_cluster, gw):
    cluster = archive_cluster
    alice = await XmppUser(cluster.prosody).connect()
    bob = await MatrixUser(cluster.synapse.url).register()
    try:
        room_id = await open_dm_from_xmpp(alice, bob, "before the crash")
        lost = unique("written into the dying gateway ")
        mark = len(gw.log_text())
        gw.proc.send_signal(signal.SIGSTOP)
        try:
            alice.send(puppet_jid(bob), lost)
            # The server has written it to isthmus, which reads nothing.
            await wait_true(lambda: socket_queue(
                remote_port=cluster.prosody.component_port) > 0, 20,
                "Prosody to write alice's message into isthmus's socket")
        finally:
            gw.stop(kill=True)
        gw.start()
        _, event = await bob.wait_message(
            lambda r, e: r == room_id and e.body == lost, timeout=60,
            what="the message lost in the socket, read back from alice's "
                 "archive")
        # Other tests' users may be in the window too: any number of
        # archives, but alice's one message.
        await wait_true(lambda: CATCHUP_DONE.search(gw.log_text()[mark:]),
                        30, "isthmus to say what the catch-up did")
        assert "1 message(s) to Matrix the gateway had missed were " \
            "bridged" in gw.log_text()[mark:]
        # Once: the next message comes right after it.
        alice.send(puppet_jid(bob), "after the restart")
        _, after = await bob.wait_message(
            lambda r, e: r == room_id and e.body in (lost, "after the restart"),
            timeout=60, what="alice's next message")
        assert after.body == "after the restart", \
            "the message read back from the archive was bridged twice"
    finally:
        await bob.close()
        await alice.disconnect()


async def test_a_stanza_the_server_took_before_the_crash_is_not_sent_again(
        archive_cluster, gw):
    cluster = archive_cluster
    alice = await XmppUser(cluster.prosody).connect()
    bob = await MatrixUser(cluster.synapse.url).register()
    try:
        room_id = await open_dm_from_xmpp(alice, bob, "hello")
        await bob.send(room_id, "confirmed 0")
        seen = set()
        await collect_xmpp(alice, "confirmed ", 1, 60, seen)
        await wait_true(lambda: unconfirmed_stanzas(gw) == 0, 30,
                        "the server's confirmation to clear the outbox")
        taken = unique("taken at the crash ")
        sent = "isthmus_stanzas_to_xmpp_total"
        before = gw.metrics()[sent]
        cluster.prosody.signal_server(signal.SIGSTOP)
        try:
            await bob.send(room_id, taken)
            await wait_true(lambda: gw.metrics()[sent] >= before + 1, 60,
                            "isthmus to write bob's message to the frozen "
                            "server")
            await wait_true(lambda: socket_queue(
                local_port=cluster.prosody.component_port) > 0, 20,
                "the stanza in Prosody's socket")
            assert unconfirmed_stanzas(gw) >= 1
            gw.stop(kill=True)
        finally:
            cluster.prosody.resume()
        # The server reads the stanza and delivers it; isthmus never hears.
        got, _ = await collect_xmpp(alice, taken, 1, 60, seen)
        assert got == [taken]
        mark = len(gw.log_text())
        gw.start()
        await wait_true(lambda: CATCHUP_DONE.search(gw.log_text()[mark:]),
                        30, "the catch-up to end")
        assert "1 stanza(s) to XMPP already delivered were not sent " \
            "again" in gw.log_text()[mark:], gw.log_text()[mark:][-3000:]
        await bob.send(room_id, "after the restart")
        m = await alice.wait_message(
            lambda m: m["body"] in (taken, "after the restart"), timeout=60,
            what="bob's next message")
        assert m["body"] == "after the restart", \
            "a stanza the archive shows delivered was sent again"
    finally:
        await bob.close()
        await alice.disconnect()
