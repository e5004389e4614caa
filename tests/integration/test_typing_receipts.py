"""Typing and read markers, in DMs, gateway-mode rooms and portal rooms,
both ways: XEP-0085 chat states <-> m.typing, XEP-0333 displayed markers
<-> m.read receipts. Each side hears of a read once, and never of an
older message than the last one it heard of."""

import asyncio

import slixmpp
from nio import ReceiptEvent, TypingNoticeEvent
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from harness import MUC
from peers import XmppUser, wait_for
from test_dm import ghost_id, open_dm_from_xmpp, puppet_jid
from test_muc_gateway import make_room, matrix_pair, muc
from test_muc_portal import create_muc, join_portal, matrix_user, \
    occupant_ghost, wait_occupant
from test_rich import stanza_id

NS_CHATSTATES = "http://jabber.org/protocol/chatstates"
NS_MARKERS = "urn:xmpp:chat-markers:0"


def ephemeral(user):
    """The Matrix user's typing notices and receipts, as (room, event)."""
    if not hasattr(user, "ephemeral"):
        user.ephemeral = asyncio.Queue()

        async def on_event(room, event):
            await user.ephemeral.put((room.room_id, event))
        user.client.add_ephemeral_callback(on_event,
                                           (TypingNoticeEvent, ReceiptEvent))
    return user.ephemeral


def signals(user):
    """The XMPP user's bodiless messages (chat states, markers), which
    slixmpp's "message" event leaves out."""
    if not hasattr(user, "signals"):
        user.signals = asyncio.Queue()

        def on_message(msg):
            if not msg["body"]:
                user.signals.put_nowait(msg)
        user.client.register_handler(Callback(
            "bodiless messages", MatchXPath("{jabber:client}message"),
            on_message))
    return user.signals


async def wait_signal(user, predicate, what, timeout=20):
    return await wait_for(signals(user), predicate, timeout, what)


def send_state(user, to, state, mtype):
    msg = user.client.make_message(mto=to, mtype=mtype)
    msg.append(slixmpp.ET.fromstring(f"<{state} xmlns='{NS_CHATSTATES}'/>"))
    msg.send()


def send_displayed(user, to, msg_id, mtype):
    msg = user.client.make_message(mto=to, mtype=mtype)
    msg.append(slixmpp.ET.fromstring(
        f"<displayed xmlns='{NS_MARKERS}' id='{msg_id}'/>"))
    msg.send()


def chat_state(msg):
    for child in msg.xml:
        if child.tag.startswith(f"{{{NS_CHATSTATES}}}"):
            return child.tag.split("}", 1)[1]
    return None


def displayed_id(msg):
    d = msg.xml.find(f"{{{NS_MARKERS}}}displayed")
    return d.get("id") if d is not None else None


async def advertises_states_and_markers(user, jid):
    result = await user.iq_get(
        jid, "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    features = {f.get("var") for f in result.xml.iter(
        "{http://jabber.org/protocol/disco#info}feature")}
    assert {NS_CHATSTATES, NS_MARKERS} <= features, features


def typists(item, room_id):
    room, event = item
    if room != room_id or not isinstance(event, TypingNoticeEvent):
        return None
    return set(event.users)


def read_by(item, room_id, user_id):
    """The event ids user_id is said to have read, in a receipt event."""
    room, event = item
    if room != room_id or not isinstance(event, ReceiptEvent):
        return set()
    return {r.event_id for r in event.receipts
            if r.user_id == user_id and r.receipt_type == "m.read"}


async def typing_both_ways(xmpp_user, matrix, room_id, to, mtype, ghost,
                           from_matrix):
    """XMPP composing/paused move the ghost in and out of the room's
    typists; Matrix typing on/off reach XMPP as composing/paused from the
    Matrix user's JID or nick (from_matrix tells it)."""
    eph = ephemeral(matrix)
    send_state(xmpp_user, to, "composing", mtype)
    await wait_for(eph, lambda i: ghost in (typists(i, room_id) or ()), 20,
                   "the ghost typing on Matrix")
    send_state(xmpp_user, to, "paused", mtype)
    await wait_for(eph, lambda i: typists(i, room_id) is not None and
                   ghost not in typists(i, room_id), 20,
                   "the ghost no longer typing on Matrix")

    signals(xmpp_user)
    await matrix.client.room_typing(room_id, True, timeout=30000)
    await wait_signal(
        xmpp_user, lambda m: from_matrix(m) and chat_state(m) == "composing",
        "composing from the Matrix user")
    await matrix.client.room_typing(room_id, False)
    await wait_signal(
        xmpp_user,
        lambda m: from_matrix(m) and chat_state(m) in ("paused", "active"),
        "paused from the Matrix user")


async def matrix_reads_xmpp_messages(xmpp_user, matrix, room_id, to, mtype,
                                     known_id, from_matrix):
    """The Matrix user reads XMPP messages: one displayed marker, naming the
    id the XMPP side knows the message by (known_id(sent, echo)); reading
    an older one afterwards sends nothing (the next marker names a newer
    message)."""
    async def say(body):
        sent = xmpp_user.send(to, body, mtype=mtype)
        echo = None
        if mtype == "groupchat":
            echo = await xmpp_user.wait_message(
                lambda m: m["body"] == body and m["type"] == "groupchat",
                what=f"the room's echo of {body!r}")
        _, event = await matrix.wait_message(
            lambda r, e: r == room_id and e.body == body,
            what=f"{body!r} on Matrix")
        return event.event_id, known_id(sent, echo, event.event_id)

    def marker(m):
        return from_matrix(m) and displayed_id(m) is not None

    signals(xmpp_user)
    first_event, first_id = await say("read me first")
    second_event, second_id = await say("read me second")
    await matrix.client.update_receipt_marker(room_id, second_event)
    got = await wait_signal(xmpp_user, marker, "a displayed marker")
    assert displayed_id(got) == second_id
    # Back to the older message: nothing. Reading a later message of the
    # Matrix side's own (which the homeserver does pass on) marks nothing
    # new either: the newest XMPP message was marked already.
    await matrix.client.update_receipt_marker(room_id, first_event)
    own = await matrix.send(room_id, "my own words")
    if mtype == "groupchat":
        await xmpp_user.wait_message(lambda m: m["body"] == "my own words",
                                     what="the Matrix user's message")
    await matrix.client.update_receipt_marker(room_id, own)
    third_event, third_id = await say("read me third")
    await matrix.client.update_receipt_marker(room_id, third_event)
    got = await wait_signal(xmpp_user, marker, "the next marker")
    assert displayed_id(got) == third_id, \
        f"a marker for {displayed_id(got)} came before the one for " \
        f"the newest message"


async def xmpp_reads_matrix_messages(xmpp_user, matrix, room_id, to, mtype,
                                     ghost, known_id):
    """The XMPP user marks Matrix messages displayed: the ghost's m.read
    receipt for the right event; an older marker afterwards is not
    bridged (the next receipt is the newer message's)."""
    eph = ephemeral(matrix)

    async def say(body):
        event_id = await matrix.send(room_id, body)
        got = await xmpp_user.wait_message(lambda m: m["body"] == body,
                                           what=f"{body!r} on XMPP")
        return event_id, known_id(got)

    first_event, first_id = await say("mark me first")
    second_event, second_id = await say("mark me second")
    send_displayed(xmpp_user, to, second_id, mtype)
    await wait_for(eph, lambda i: second_event in read_by(i, room_id, ghost),
                   20, "the ghost's receipt for the second message")
    send_displayed(xmpp_user, to, first_id, mtype)
    send_displayed(xmpp_user, to, second_id, mtype)
    third_event, third_id = await say("mark me third")
    send_displayed(xmpp_user, to, third_id, mtype)
    item = await wait_for(eph, lambda i: read_by(i, room_id, ghost), 20,
                          "the ghost's next receipt")
    assert read_by(item, room_id, ghost) == {third_event}, \
        f"expected only the newest message read, got {item!r}"
    return second_id, third_id


async def test_typing_and_markers_in_a_dm(alice, bob):
    room_id = await open_dm_from_xmpp(alice, bob, "hi, markers")
    to = puppet_jid(bob)
    await advertises_states_and_markers(alice, to)

    def from_bob(m):
        return m["from"].bare == to and m["type"] in ("chat", "normal")

    await typing_both_ways(alice, bob, room_id, to, "chat", ghost_id(alice),
                           from_bob)
    await matrix_reads_xmpp_messages(
        alice, bob, room_id, to, "chat",
        lambda sent, _echo, _event: sent["id"], from_bob)
    # A receipt on an event that never crossed (a reaction) marks the
    # newest XMPP message before it.
    signals(alice)
    sent = alice.send(to, "react to me")
    _, event = await bob.wait_message(
        lambda r, e: r == room_id and e.body == "react to me",
        what="the message to react to")
    reaction = await bob.client.room_send(room_id, "m.reaction", {
        "m.relates_to": {"rel_type": "m.annotation",
                         "event_id": event.event_id, "key": "👍"}})
    await bob.client.update_receipt_marker(room_id, reaction.event_id)
    got = await wait_signal(alice, lambda m: from_bob(m) and
                            displayed_id(m) is not None,
                            "the marker after reading the reaction")
    assert displayed_id(got) == sent["id"]
    await xmpp_reads_matrix_messages(alice, bob, room_id, to, "chat",
                                     ghost_id(alice), lambda m: m["id"])


async def test_typing_and_markers_in_a_gateway_room(cluster, gateway, alice):
    bob, carol = await matrix_pair(cluster)
    dave = await XmppUser(cluster.prosody).connect()
    try:
        room_id, muc_jid = await make_room(bob, carol, "ephemeral")
        await advertises_states_and_markers(alice, muc_jid)
        await muc(alice).join_muc_wait(muc_jid, "alice", maxstanzas=0,
                                       timeout=30)
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(alice)
            and e.membership == "join", what="alice's ghost joining")
        await muc(dave).join_muc_wait(muc_jid, "dave", maxstanzas=0,
                                      timeout=30)
        # Another XMPP occupant sees alice type, as in any MUC.
        signals(dave)
        send_state(alice, muc_jid, "composing", "groupchat")
        await wait_signal(
            dave, lambda m: m["from"] == f"{muc_jid}/alice" and
            chat_state(m) == "composing", "alice composing, seen by dave")
        send_state(alice, muc_jid, "active", "groupchat")
        await wait_signal(
            dave, lambda m: m["from"] == f"{muc_jid}/alice" and
            chat_state(m) == "active", "alice active, seen by dave")

        def from_bob(m):
            return (m["type"] == "groupchat" and m["from"].bare == muc_jid
                    and m["from"].resource == "Bob B")

        await typing_both_ways(alice, bob, room_id, muc_jid, "groupchat",
                               ghost_id(alice), from_bob)
        # In these rooms every message's stanza-id is its event id.
        await matrix_reads_xmpp_messages(
            alice, bob, room_id, muc_jid, "groupchat",
            lambda _sent, echo, event: stanza_id(echo) or event, from_bob)
        marked = await xmpp_reads_matrix_messages(
            alice, bob, room_id, muc_jid, "groupchat", ghost_id(alice),
            stanza_id)
        # dave saw alice's markers too, and the older one not at all.
        got = await wait_signal(
            dave, lambda m: m["from"] == f"{muc_jid}/alice" and
            displayed_id(m) is not None, "alice's first marker, for dave")
        then = await wait_signal(
            dave, lambda m: m["from"] == f"{muc_jid}/alice" and
            displayed_id(m) is not None, "alice's next marker, for dave")
        assert (displayed_id(got), displayed_id(then)) == marked
    finally:
        await dave.disconnect()
        await bob.close()
        await carol.close()


async def test_typing_and_markers_in_a_portal(cluster, gateway, alice):
    room, _ = await create_muc(alice, nick="alice")
    room_jid = f"{room}@{MUC}"
    bob = await matrix_user(cluster, "Bob T")
    ghost = occupant_ghost(room, "alice")
    try:
        room_id = await join_portal(bob, room)
        await wait_occupant(alice, room, "Bob T")
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost and
            e.membership == "join", what="alice's ghost in the portal")

        def from_bob(m):
            return (m["type"] == "groupchat" and m["from"].bare == room_jid
                    and m["from"].resource == "Bob T")

        await typing_both_ways(alice, bob, room_id, room_jid, "groupchat",
                               ghost, from_bob)
        # Markers in a MUC name the stanza-id the MUC gave the message.
        await matrix_reads_xmpp_messages(
            alice, bob, room_id, room_jid, "groupchat",
            lambda _sent, echo, _event: stanza_id(echo), from_bob)
        await xmpp_reads_matrix_messages(alice, bob, room_id, room_jid,
                                         "groupchat", ghost, stanza_id)
    finally:
        await bob.close()
