"""Rich messaging: corrections (XEP-0308) <-> edits (m.replace), in DMs,
gateway-mode rooms and portal rooms, both ways."""

import slixmpp

from harness import MUC
from peers import MatrixUser, XmppUser
from test_dm import ghost_id, open_dm_from_xmpp, puppet_jid
from test_muc_gateway import make_room, matrix_pair, muc
from test_muc_portal import create_muc, join_portal, matrix_user, \
    occupant_ghost, wait_occupant

NS_CORRECT = "urn:xmpp:message-correct:0"


def correction(user, to, body, replaces, mtype="chat"):
    """Sends a XEP-0308 correction of message `replaces`."""
    msg = user.client.make_message(mto=to, mbody=body, mtype=mtype)
    msg.append(slixmpp.ET.fromstring(
        f"<replace xmlns='{NS_CORRECT}' id='{replaces}'/>"))
    msg.send()
    return msg


def replaced_id(msg):
    rep = msg.xml.find(f"{{{NS_CORRECT}}}replace")
    return rep.get("id") if rep is not None else None


async def matrix_edit(user, room_id, original, body):
    resp = await user.client.room_send(room_id, "m.room.message", {
        "msgtype": "m.text", "body": f"* {body}",
        "m.new_content": {"msgtype": "m.text", "body": body},
        "m.relates_to": {"rel_type": "m.replace", "event_id": original}})
    return resp.event_id


def edit_of(event):
    """(original event id, new body) of an m.replace edit, else None."""
    content = event.source.get("content", {})
    rel = content.get("m.relates_to", {})
    if rel.get("rel_type") != "m.replace":
        return None
    return rel.get("event_id"), content.get("m.new_content", {}).get("body")


async def xmpp_corrects_matrix_sees_edits(xmpp_user, matrix, room_id, to,
                                          mtype):
    """An XMPP message, its correction and a correction of the correction:
    Matrix sees the message and two edits of the same original."""
    sent = xmpp_user.send(to, "helo wrld", mtype=mtype)
    _, original = await matrix.wait_message(
        lambda r, e: r == room_id and e.body == "helo wrld",
        what="the message to be corrected")
    fix = correction(xmpp_user, to, "hello wrld", sent["id"], mtype)
    _, edit = await matrix.wait_message(
        lambda r, e: r == room_id and edit_of(e) is not None and
        edit_of(e)[1] == "hello wrld", what="the first correction as an edit")
    assert edit_of(edit)[0] == original.event_id
    assert edit.body == "* hello wrld"
    # A client that corrects its correction names the correction's id:
    # the edit still targets the original event.
    correction(xmpp_user, to, "hello world", fix["id"], mtype)
    _, again = await matrix.wait_message(
        lambda r, e: r == room_id and edit_of(e) is not None and
        edit_of(e)[1] == "hello world", what="the second correction")
    assert edit_of(again)[0] == original.event_id


async def test_corrections_and_edits_in_a_dm(alice, bob):
    room_id = await open_dm_from_xmpp(alice, bob, "hi")
    await xmpp_corrects_matrix_sees_edits(alice, bob, room_id,
                                          puppet_jid(bob), "chat")
    # Matrix -> XMPP: the edit corrects the stanza the original was.
    original = await bob.send(room_id, "see you tmorrow")
    first = await alice.wait_message(
        lambda m: m["body"] == "see you tmorrow", what="bob's message")
    await matrix_edit(bob, room_id, original, "see you tomorrow")
    fixed = await alice.wait_message(
        lambda m: m["body"] == "see you tomorrow", what="bob's edit")
    assert replaced_id(fixed) == first["id"]


async def test_corrections_and_edits_in_a_gateway_room(cluster, gateway,
                                                       alice):
    bob, carol = await matrix_pair(cluster)
    try:
        room_id, muc_jid = await make_room(bob, carol, "edits")
        await muc(alice).join_muc_wait(muc_jid, "alice", maxstanzas=0,
                                       timeout=30)
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(alice)
            and e.membership == "join", what="alice's ghost joining")
        await xmpp_corrects_matrix_sees_edits(alice, bob, room_id, muc_jid,
                                              "groupchat")
        original = await bob.send(room_id, "room tpyo")
        first = await alice.wait_message(
            lambda m: m["body"] == "room tpyo", what="bob's room message")
        await matrix_edit(bob, room_id, original, "room typo")
        fixed = await alice.wait_message(
            lambda m: m["body"] == "room typo", what="bob's room edit")
        assert replaced_id(fixed) == first["id"]
        assert fixed["from"].resource == "Bob B"
    finally:
        await bob.close()
        await carol.close()


async def test_corrections_and_edits_in_a_portal(cluster, gateway, alice):
    room, _ = await create_muc(alice, nick="alice")
    room_jid = f"{room}@{MUC}"
    bob = await matrix_user(cluster, "Bob E")
    try:
        room_id = await join_portal(bob, room)
        await wait_occupant(alice, room, "Bob E")
        await bob.wait_member(
            lambda r, e: r == room_id and
            e.state_key == occupant_ghost(room, "alice") and
            e.membership == "join", what="alice's ghost in the portal")
        await xmpp_corrects_matrix_sees_edits(alice, bob, room_id, room_jid,
                                              "groupchat")
        original = await bob.send(room_id, "portal tpyo")
        first = await alice.wait_message(
            lambda m: m["body"] == "portal tpyo", what="bob's MUC message")
        await matrix_edit(bob, room_id, original, "portal typo")
        fixed = await alice.wait_message(
            lambda m: m["body"] == "portal typo", what="bob's MUC edit")
        assert replaced_id(fixed) == first["id"]
        assert fixed["from"].resource == "Bob E"
    finally:
        await bob.close()
