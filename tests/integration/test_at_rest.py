"""No message text at rest: what isthmus keeps of a message while it is
on its way (outbox rows: stanzas for XMPP, stanzas from XMPP waiting for
Matrix) is sealed with the operator's store key, so neither the database,
its log files nor isthmus's own log (above debug) show a body, even when
isthmus is killed while the rows are still there. After the restart the
sealed rows are opened and delivered."""

import os
import signal
import sqlite3

from peers import MatrixUser, XmppUser, unique, wait_true
from test_dm import open_dm_from_xmpp, puppet_jid
from test_faults import collect_xmpp, prosody_back, unconfirmed_stanzas


def outbox_payloads(gateway, kind):
    db = sqlite3.connect(f"file:{gateway.dir / 'isthmus.db'}?mode=ro",
                         uri=True, timeout=10)
    try:
        return [row[0] for row in db.execute(
            "SELECT payload FROM outbox WHERE kind = ?", (kind,))]
    finally:
        db.close()


def files_holding(gateway, text, log_from):
    """The files under isthmus's directory whose bytes hold text: the
    database and everything beside it, and the log written since log_from
    (the log's earlier part was written at debug level)."""
    needle = text.encode()
    found = []
    for name in sorted(os.listdir(gateway.dir)):
        path = gateway.dir / name
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path == gateway.log:
            data = data[log_from:]
        if needle in data:
            found.append(name)
    return found


async def test_no_message_text_at_rest_after_a_kill(cluster, gateway):
    alice = await XmppUser(cluster.prosody).connect()
    bob = await MatrixUser(cluster.synapse.url).register()
    room_id = await open_dm_from_xmpp(alice, bob, "at rest, hello")
    # Bodies are logged at debug level only: the check is about what is
    # written at the levels an operator runs.
    gateway.stop()
    gateway.set_log_level("info")
    log_from = gateway.log.stat().st_size
    gateway.start()
    try:
        # XMPP -> Matrix, held in the outbox while Synapse is down.
        to_matrix = unique("at-rest-to-matrix-")
        cluster.synapse.stop()
        try:
            alice.send(puppet_jid(bob), to_matrix)
            await wait_true(lambda: len(outbox_payloads(gateway, 2)) > 0, 30,
                            "alice's message in isthmus's outbox")
            gateway.stop(kill=True)
            assert all(p.startswith("sealed1:")
                       for p in outbox_payloads(gateway, 2))
            assert files_holding(gateway, to_matrix, log_from) == [], \
                "the body of a message waiting for Matrix is readable at rest"
        finally:
            cluster.synapse.start()
        gateway.start()
        _, event = await bob.wait_message(
            lambda r, e: r == room_id and e.body == to_matrix, timeout=120,
            what="alice's sealed message after the restart")

        # Matrix -> XMPP, written to a frozen Prosody that never reads it.
        await wait_true(lambda: unconfirmed_stanzas(gateway) == 0, 30,
                        "the outbox to clear before the frozen-server part")
        await alice.disconnect()
        to_xmpp = unique("at-rest-to-xmpp-")
        mark = len(gateway.log_text())
        cluster.prosody.signal_server(signal.SIGSTOP)
        try:
            await bob.send(room_id, to_xmpp)
            await wait_true(lambda: unconfirmed_stanzas(gateway) > 0, 60,
                            "bob's message in isthmus's outbox")
            gateway.stop(kill=True)
            assert all(p.startswith("sealed1:")
                       for p in outbox_payloads(gateway, 1))
            assert files_holding(gateway, to_xmpp, log_from) == [], \
                "the body of a message waiting for XMPP is readable at rest"
        finally:
            cluster.prosody.crash()
        gateway.start(wait_connected=False)
        alice = await prosody_back(cluster, gateway, mark, alice)
        got, _ = await collect_xmpp(alice, "at-rest-to-xmpp-", 1, 120)
        assert got == [to_xmpp]
        assert files_holding(gateway, to_matrix, log_from) == []
        assert files_holding(gateway, to_xmpp, log_from) == []
    finally:
        gateway.stop()
        gateway.set_log_level(os.environ.get("ISTHMUS_LOG_LEVEL", "debug"))
        await bob.close()
        await alice.disconnect()
