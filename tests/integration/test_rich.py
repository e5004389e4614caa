"""Rich messaging, in DMs, gateway-mode rooms and portal rooms, both ways:
corrections (XEP-0308) <-> edits (m.replace), replies (XEP-0461 with its
XEP-0428 fallback) <-> m.in_reply_to."""

import slixmpp

from harness import MUC
from peers import MatrixUser, XmppUser
from test_dm import ghost_id, open_dm_from_xmpp, puppet_jid
from test_muc_gateway import make_room, matrix_pair, muc
from test_muc_portal import create_muc, join_portal, matrix_user, \
    occupant_ghost, wait_occupant

NS_CORRECT = "urn:xmpp:message-correct:0"
NS_REPLY = "urn:xmpp:reply:0"
NS_FALLBACK = "urn:xmpp:fallback:0"
NS_SID = "urn:xmpp:sid:0"


def xmpp_reply(user, to, body, reply_id, quote, mtype):
    """A XEP-0461 reply whose body starts with a XEP-0428 fallback quote."""
    fallback = f"> {quote}\n"
    msg = user.client.make_message(mto=to, mbody=fallback + body,
                                   mtype=mtype)
    msg.append(slixmpp.ET.fromstring(
        f"<reply xmlns='{NS_REPLY}' id='{reply_id}'/>"))
    msg.append(slixmpp.ET.fromstring(
        f"<fallback xmlns='{NS_FALLBACK}' for='{NS_REPLY}'><body start='0' "
        f"end='{len(fallback)}'/></fallback>"))
    msg.send()


def reply_of(msg):
    """(id, fallback end) of a received XEP-0461 reply, else None."""
    rep = msg.xml.find(f"{{{NS_REPLY}}}reply")
    if rep is None:
        return None
    body = msg.xml.find(f"{{{NS_FALLBACK}}}fallback/{{{NS_FALLBACK}}}body")
    return rep.get("id"), int(body.get("end")) if body is not None else 0


def stanza_id(msg):
    sid = msg.xml.find(f"{{{NS_SID}}}stanza-id")
    return sid.get("id") if sid is not None else None


async def matrix_reply(user, room_id, event_id, quote, quoted_sender, body):
    """A Matrix reply with the (legacy) reply fallback in its body."""
    resp = await user.client.room_send(room_id, "m.room.message", {
        "msgtype": "m.text",
        "body": f"> <{quoted_sender}> {quote}\n\n{body}",
        "m.relates_to": {"m.in_reply_to": {"event_id": event_id}}})
    return resp.event_id


def in_reply_to(event):
    rel = event.source.get("content", {}).get("m.relates_to", {})
    return rel.get("m.in_reply_to", {}).get("event_id")


async def replies_both_ways(xmpp_user, matrix, room_id, to, mtype, group):
    """Matrix asks, XMPP replies; XMPP asks, Matrix replies. In rooms a
    reply names the stanza-id the room gave the message, in chats its id."""
    asked = await matrix.send(room_id, "lunch at noon?")
    question = await xmpp_user.wait_message(
        lambda m: m["body"] == "lunch at noon?", what="the question")
    quoted = stanza_id(question) if group else question["id"]
    xmpp_reply(xmpp_user, to, "yes, noon", quoted, "lunch at noon?", mtype)
    _, answer = await matrix.wait_message(
        lambda r, e: r == room_id and in_reply_to(e) is not None,
        what="the XMPP reply on Matrix")
    assert in_reply_to(answer) == asked
    assert answer.body == "yes, noon"   # the fallback quote is gone

    sent = xmpp_user.send(to, "coffee after?", mtype=mtype)
    _, coffee = await matrix.wait_message(
        lambda r, e: r == room_id and e.body == "coffee after?",
        what="the XMPP question on Matrix")
    if group:
        echo = await xmpp_user.wait_message(
            lambda m: m["body"] == "coffee after?",
            what="the reflection of the question")
        own_id = stanza_id(echo)
    else:
        own_id = sent["id"]
    await matrix_reply(matrix, room_id, coffee.event_id, "coffee after?",
                       coffee.sender, "sure")
    reply = await xmpp_user.wait_message(
        lambda m: reply_of(m) is not None, what="the Matrix reply on XMPP")
    assert reply_of(reply) == (own_id, len("> coffee after?\n"))
    assert reply["body"] == "> coffee after?\nsure"


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


async def test_replies_corrections_and_edits_in_a_dm(alice, bob):
    room_id = await open_dm_from_xmpp(alice, bob, "hi")
    await replies_both_ways(alice, bob, room_id, puppet_jid(bob), "chat",
                            group=False)
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


async def test_replies_corrections_and_edits_in_a_gateway_room(cluster, gateway,
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
        await replies_both_ways(alice, bob, room_id, muc_jid, "groupchat",
                                group=True)
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


async def test_replies_corrections_and_edits_in_a_portal(cluster, gateway, alice):
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
        await replies_both_ways(alice, bob, room_id, room_jid, "groupchat",
                                group=True)
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
