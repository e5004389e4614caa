"""End-to-end encrypted messages the gateway cannot carry (yet) are never
dropped in silence: the person who sent one is told, in their own client,
and nothing misleading (a fallback body) reaches the other side."""

import slixmpp
from nio.responses import RoomSendResponse

from harness import MUC
from peers import XmppUser, unique
from test_dm import ghost_id, open_dm_from_xmpp, puppet_jid
from test_muc_gateway import make_room, matrix_pair
from test_muc_gateway import muc as gw_muc
from test_muc_portal import create_muc, join_portal, matrix_user, wait_occupant

OMEMO = "eu.siacs.conversations.axolotl"


def omemo_message(alice, to, fallback, payload=True, mtype="chat"):
    msg = alice.client.make_message(mto=to, mbody=fallback, mtype=mtype)
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
        # Not for the puppet's OMEMO device: it cannot be decrypted.
        assert err["error"]["condition"] == "not-acceptable"
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


FAKE_MEGOLM = {
    "algorithm": "m.megolm.v1.aes-sha2",
    "ciphertext": "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg",
    "sender_key": "Szl29ksW/L8yZGWAX+8dY1XyFi+i5wm+DRhTGkbMiwU",
    "session_id": "ox/3ZQ5CQ0uD33BB6BofVNbXmdfOOsOjdDfVzXA3Buo",
    "device_id": "BOBDEVICE",
}


async def send_encrypted(bob, room_id):
    """An m.room.encrypted event as a client that encrypts sends it (the
    gateway cannot decrypt any, so its ciphertext need not be real)."""
    resp = await bob.client.room_send(room_id, "m.room.encrypted",
                                      FAKE_MEGOLM)
    assert isinstance(resp, RoomSendResponse), resp
    return resp.event_id


async def test_an_encrypted_matrix_message_is_told_both_ways(alice, bob):
    room_id = await open_dm_from_xmpp(alice, bob, "before encryption")
    event_id = await send_encrypted(bob, room_id)
    msg = await alice.wait_message(
        lambda m: m["type"] == "chat" and "encrypted" in m["body"],
        what="word of bob's encrypted message on XMPP")
    assert bob.user_id in msg["body"]
    assert "could not decrypt" in msg["body"]
    assert msg["id"] == event_id
    _, notice = await bob.wait_message(
        lambda r, e: r == room_id and "not delivered" in e.body,
        what="a notice to bob that his encrypted message did not cross")
    assert "encrypted" in notice.body
    assert notice.sender == ghost_id(alice)


async def test_encrypted_messages_in_a_portal_are_told(cluster, gateway,
                                                       alice):
    room, _ = await create_muc(alice, nick="alice")
    bob = await matrix_user(cluster, "Cipher")
    try:
        room_id = await join_portal(bob, room)
        await wait_occupant(alice, room, "Cipher")
        # Matrix -> XMPP: the room hears that Cipher wrote something it
        # cannot see, and Cipher is told it did not cross.
        await send_encrypted(bob, room_id)
        msg = await alice.wait_message(
            lambda m: m["type"] == "groupchat" and "encrypted" in
            (m["body"] or ""), what="word of the encrypted message in the MUC")
        assert msg["from"].resource == "Cipher"
        _, notice = await bob.wait_message(
            lambda r, e: r == room_id and "not delivered" in e.body,
            what="a notice that the encrypted message did not cross")
        assert room in notice.body
        # XMPP -> Matrix: an OMEMO message in the MUC shows as what it is,
        # not as its fallback body.
        omemo_message(alice, f"{room}@{MUC}", "I sent you an OMEMO encrypted "
                      "message but your client doesn't seem to support "
                      "that.", mtype="groupchat")
        _, shown = await bob.wait_message(
            lambda r, e: r == room_id and "OMEMO" in e.body,
            what="alice's OMEMO message shown in the portal room")
        assert "cannot decrypt" in shown.body
        assert "doesn't seem to support" not in shown.body
    finally:
        await bob.close()


async def test_encrypted_messages_in_a_gateway_room_are_told(cluster,
                                                             gateway):
    bob, carol = await matrix_pair(cluster)
    alice = await XmppUser(cluster.prosody).connect()
    try:
        room_id, muc_jid = await make_room(bob, carol, "Sealed room")
        await gw_muc(alice).join_muc_wait(muc_jid, "alice", maxstanzas=0,
                                          timeout=30)
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(alice)
            and e.membership == "join", what="alice's ghost joining")
        event_id = await send_encrypted(bob, room_id)
        msg = await alice.wait_message(
            lambda m: m["type"] == "groupchat" and "encrypted" in
            (m["body"] or ""), what="word of bob's encrypted message")
        assert msg["from"] == f"{muc_jid}/Bob B"
        assert msg["id"] == event_id
        _, notice = await bob.wait_message(
            lambda r, e: r == room_id and "not delivered" in e.body,
            what="a notice that the encrypted message did not cross")
        assert notice.sender == ghost_id(alice)
    finally:
        await bob.close()
        await carol.close()
        await alice.disconnect()
