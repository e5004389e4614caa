"""End-to-end encrypted messages the gateway cannot carry (yet) are never
dropped in silence: the person who sent one is told, in their own client,
and nothing misleading (a fallback body) reaches the other side."""

import slixmpp

from peers import unique
from test_dm import open_dm_from_xmpp, puppet_jid

OMEMO = "eu.siacs.conversations.axolotl"


def omemo_message(alice, to, fallback, payload=True):
    msg = alice.client.make_message(mto=to, mbody=fallback, mtype="chat")
    msg["id"] = unique("omemo-")
    enc = slixmpp.ET.fromstring(
        f"<encrypted xmlns='{OMEMO}'><header sid='4711'>"
        "<key rid='815'>AAAAAAAA</key><iv>AAAAAAAAAAAAAAAA</iv></header>"
        + ("<payload>AAAAAAAA</payload>" if payload else "") +
        "</encrypted>")
    msg.append(enc)
    msg.send()
    return msg


async def test_an_omemo_message_is_refused_with_a_reason(alice, bob):
    room_id = await open_dm_from_xmpp(alice, bob, "before the OMEMO tries")
    for fallback in ("I sent you an OMEMO encrypted message but your client "
                     "doesn't seem to support that.", None):
        sent = omemo_message(alice, puppet_jid(bob), fallback)
        err = await alice.wait_message(
            lambda m, i=sent["id"]: m["type"] == "error" and m["id"] == i,
            what="an error for the OMEMO message")
        assert err["error"]["condition"] == "feature-not-implemented"
        assert "OMEMO" in err["error"]["text"]
        assert "not delivered" in err["error"]["text"]

    # Key transport (no <payload/>: a session being set up) is no message
    # anyone wrote: no error for it.
    transport = omemo_message(alice, puppet_jid(bob), None, payload=False)
    after = unique("plain after the OMEMO tries ")
    alice.send(puppet_jid(bob), after)
    # Matrix got neither OMEMO message: the next thing bob sees from alice
    # is the plain one sent after them.
    _, event = await bob.wait_message(lambda r, e: r == room_id,
                                      what="the next message from alice")
    assert event.body == after
    # And no error came for the key transport (the errors for the two
    # refused messages came before the plain message crossed).
    assert not any(m["type"] == "error" and m["id"] == transport["id"]
                   for m in list(alice.messages._queue))
