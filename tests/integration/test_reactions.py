"""Reactions (XEP-0444 <-> m.reaction) and deletions (XEP-0424 retractions
and XEP-0425 moderation <-> redactions), both ways, in a DM, a gateway-mode
room and a portal room."""

import asyncio

import slixmpp
from nio import ReactionEvent, RedactionEvent
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from harness import MUC
from test_dm import ghost_id, open_dm_from_xmpp, puppet_jid
from test_muc_gateway import make_room, matrix_pair, muc
from test_muc_portal import create_muc, join_portal, matrix_user, \
    occupant_ghost, wait_occupant
from test_rich import stanza_id

NS_REACTIONS = "urn:xmpp:reactions:0"
NS_RETRACT = "urn:xmpp:message-retract:1"
NS_MODERATE = "urn:xmpp:message-moderate:1"
NS_MODERATE_0 = "urn:xmpp:message-moderate:0"
NS_FASTEN = "urn:xmpp:fasten:0"


# ------------------------------------------------------------ XMPP side --

def send_reactions(user, to, target_id, keys, mtype):
    msg = user.client.make_message(mto=to, mtype=mtype)
    el = slixmpp.ET.Element(f"{{{NS_REACTIONS}}}reactions", id=target_id)
    for key in keys:
        slixmpp.ET.SubElement(el, f"{{{NS_REACTIONS}}}reaction").text = key
    msg.append(el)
    msg.send()


def send_retraction(user, to, target_id, mtype):
    msg = user.client.make_message(mto=to, mtype=mtype,
                                   mbody="I deleted a message")
    msg.append(slixmpp.ET.fromstring(
        f"<retract xmlns='{NS_RETRACT}' id='{target_id}'/>"))
    msg.send()
    return msg


def reactions_of(msg):
    """(target id, sorted keys) of a XEP-0444 message, else None."""
    el = msg.xml.find(f"{{{NS_REACTIONS}}}reactions")
    if el is None:
        return None
    return el.get("id"), sorted(r.text for r in el)


def retraction_of(msg):
    """(target id, moderator or None) of a retraction, else None."""
    el = msg.xml.find(f"{{{NS_RETRACT}}}retract")
    if el is None:
        return None
    mod = el.find(f"{{{NS_MODERATE}}}moderated")
    return el.get("id"), mod.get("by") if mod is not None else None


def see_reactions(user):
    """slixmpp's "message" event needs a body; reactions have none."""
    user.client.register_handler(Callback(
        "isthmus test reactions",
        MatchXPath(f"{{jabber:client}}message/{{{NS_REACTIONS}}}reactions"),
        user.messages.put_nowait))


async def wait_reactions(user, target_id, keys, what):
    msg = await user.wait_message(
        lambda m: reactions_of(m) == (target_id, sorted(keys)), what=what)
    return msg


# ---------------------------------------------------------- Matrix side --

class Actions:
    """Reactions and redactions a matrix-nio user sees, in one queue."""

    def __init__(self, user):
        self.user = user
        self.queue = asyncio.Queue()
        user.client.add_event_callback(self._on, (ReactionEvent,
                                                  RedactionEvent))

    async def _on(self, room, event):
        await self.queue.put((room.room_id, event))

    async def reactions(self, room_id, sender, target, keys):
        """Waits for all of sender's reactions `keys` to target, in any
        order; returns {key: reaction event id}."""
        from peers import wait_for
        found = {}
        while set(found) != set(keys):
            _, ev = await wait_for(
                self.queue, lambda i: i[0] == room_id and
                isinstance(i[1], ReactionEvent) and i[1].sender == sender and
                i[1].reacts_to == target and i[1].key in keys and
                i[1].key not in found, 30,
                f"{sender}'s reactions {keys} to {target} (have {found})")
            found[ev.key] = ev.event_id
        return found

    async def redaction(self, room_id, sender, redacts):
        from peers import wait_for
        _, ev = await wait_for(
            self.queue, lambda i: i[0] == room_id and
            isinstance(i[1], RedactionEvent) and i[1].sender == sender and
            i[1].redacts == redacts, 30,
            f"{sender} redacting {redacts}")
        return ev


async def matrix_react(user, room_id, target, key):
    resp = await user.client.room_send(room_id, "m.reaction", {
        "m.relates_to": {"rel_type": "m.annotation", "event_id": target,
                         "key": key}})
    return resp.event_id


async def matrix_redact(user, room_id, event_id, reason=None):
    resp = await user.client.room_redact(room_id, event_id, reason=reason)
    assert getattr(resp, "event_id", None), resp


# ------------------------------------------------------------- scenarios --

async def xmpp_reacts(xmpp_user, matrix, actions, room_id, to, mtype,
                      target_xmpp_id, target_event, ghost):
    """An XMPP user's set of reactions becomes one m.reaction per key; a
    smaller set redacts exactly what went, an empty one all the rest."""
    send_reactions(xmpp_user, to, target_xmpp_id, ["👍", "🎉"], mtype)
    made = await actions.reactions(room_id, ghost, target_event, ["👍", "🎉"])
    thumbs, party = made["👍"], made["🎉"]
    send_reactions(xmpp_user, to, target_xmpp_id, ["🎉"], mtype)
    await actions.redaction(room_id, ghost, thumbs)
    send_reactions(xmpp_user, to, target_xmpp_id, [], mtype)
    await actions.redaction(room_id, ghost, party)


async def matrix_reacts(xmpp_user, matrix, room_id, target_event,
                        target_xmpp_id):
    """Each Matrix reaction, or its redaction, reaches XMPP as the Matrix
    user's whole current set."""
    thumbs = await matrix_react(matrix, room_id, target_event, "👍")
    await wait_reactions(xmpp_user, target_xmpp_id, ["👍"], "the first "
                         "Matrix reaction")
    await matrix_react(matrix, room_id, target_event, "❤️")
    await wait_reactions(xmpp_user, target_xmpp_id, ["👍", "❤️"],
                         "both Matrix reactions")
    await matrix_redact(matrix, room_id, thumbs)
    await wait_reactions(xmpp_user, target_xmpp_id, ["❤️"],
                         "the set without the withdrawn reaction")


async def test_reactions_and_deletions_in_a_dm(alice, bob):
    actions = Actions(bob)
    see_reactions(alice)
    room_id = await open_dm_from_xmpp(alice, bob, "hi")
    to, ghost = puppet_jid(bob), ghost_id(alice)

    event = await bob.send(room_id, "react to me")
    got = await alice.wait_message(lambda m: m["body"] == "react to me",
                                   what="bob's message")
    await xmpp_reacts(alice, bob, actions, room_id, to, "chat", got["id"],
                      event, ghost)

    sent = alice.send(to, "and to me")
    _, mine = await bob.wait_message(
        lambda r, e: r == room_id and e.body == "and to me",
        what="alice's message")
    await matrix_reacts(alice, bob, room_id, mine.event_id, sent["id"])

    # Retractions both ways.
    oops = alice.send(to, "oops, wrong chat")
    _, oops_ev = await bob.wait_message(
        lambda r, e: r == room_id and e.body == "oops, wrong chat",
        what="the message alice retracts")
    send_retraction(alice, to, oops["id"], "chat")
    await actions.redaction(room_id, ghost, oops_ev.event_id)

    gone = await bob.send(room_id, "delete me")
    got = await alice.wait_message(lambda m: m["body"] == "delete me",
                                   what="the message bob deletes")
    await matrix_redact(bob, room_id, gone)
    retraction = await alice.wait_message(
        lambda m: retraction_of(m) is not None, what="bob's retraction")
    assert retraction_of(retraction) == (got["id"], None)
    assert retraction["from"].bare == to

    # Nobody retracts someone else's message.
    other = await bob.send(room_id, "not yours")
    got = await alice.wait_message(lambda m: m["body"] == "not yours",
                                   what="bob's message")
    send_retraction(alice, to, got["id"], "chat")
    refused = await alice.wait_message(
        lambda m: m["type"] == "error", what="an error for the retraction")
    assert refused["error"]["condition"] == "not-allowed"
    # Nothing was redacted: a later sentinel arrives first.
    await bob.send(room_id, "sentinel")
    await alice.wait_message(lambda m: m["body"] == "sentinel",
                             what="the sentinel")
    assert not any(isinstance(e, RedactionEvent) and e.redacts == other
                   for _, e in list(actions.queue._queue))


async def test_reactions_and_deletions_in_a_gateway_room(cluster, gateway,
                                                         alice):
    bob, carol = await matrix_pair(cluster)
    actions = Actions(bob)
    see_reactions(alice)
    try:
        room_id, muc_jid = await make_room(bob, carol, "reactions")
        await muc(alice).join_muc_wait(muc_jid, "alice", maxstanzas=0,
                                       timeout=30)
        ghost = ghost_id(alice)
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost
            and e.membership == "join", what="alice's ghost joining")

        event = await bob.send(room_id, "react in the room")
        got = await alice.wait_message(
            lambda m: m["body"] == "react in the room", what="bob's message")
        # In a room, reactions name the room's stanza-id.
        assert stanza_id(got) == event
        await xmpp_reacts(alice, bob, actions, room_id, muc_jid, "groupchat",
                          stanza_id(got), event, ghost)
        # The room passes alice's reactions back to her, as a MUC does.
        await wait_reactions(alice, event, ["🎉"], "alice's reflected set")

        alice.send(muc_jid, "alice in the room", mtype="groupchat")
        echo = await alice.wait_message(
            lambda m: m["body"] == "alice in the room", what="the reflection")
        _, mine = await bob.wait_message(
            lambda r, e: r == room_id and e.body == "alice in the room",
            what="alice's room message")
        await matrix_reacts(alice, bob, room_id, mine.event_id,
                            stanza_id(echo))

        # alice retracts her message (by its stanza-id).
        alice.send(muc_jid, "retract this", mtype="groupchat")
        echo = await alice.wait_message(
            lambda m: m["body"] == "retract this", what="the reflection")
        await bob.wait_message(lambda r, e: e.body == "retract this",
                               what="the message alice retracts")
        send_retraction(alice, muc_jid, stanza_id(echo), "groupchat")
        await actions.redaction(room_id, ghost, stanza_id(echo))

        # bob, the room's admin, removes alice's message: a moderation.
        alice.send(muc_jid, "moderate this", mtype="groupchat")
        echo = await alice.wait_message(
            lambda m: m["body"] == "moderate this", what="the reflection")
        await bob.wait_message(lambda r, e: e.body == "moderate this",
                               what="the message bob removes")
        await matrix_redact(bob, room_id, stanza_id(echo), reason="spam")
        removal = await alice.wait_message(
            lambda m: retraction_of(m) is not None and
            retraction_of(m)[0] == stanza_id(echo), what="the moderation")
        assert retraction_of(removal) == (stanza_id(echo),
                                          f"{muc_jid}/Bob B")
        assert removal["from"].full == muc_jid

        # alice has no power to moderate bob's message: Matrix refuses.
        event = await bob.send(room_id, "admins only")
        await alice.wait_message(lambda m: m["body"] == "admins only",
                                 what="bob's message")
        iq = alice.client.make_iq_set(ito=muc_jid)
        iq.append(slixmpp.ET.fromstring(
            f"<moderate xmlns='{NS_MODERATE}' id='{event}'>"
            f"<retract xmlns='{NS_RETRACT}'/><reason>no</reason></moderate>"))
        try:
            await iq.send(timeout=20)
            raise AssertionError("alice's moderation was accepted")
        except slixmpp.exceptions.IqError as e:
            assert e.iq["error"]["condition"] == "forbidden", e.iq

        # Made a moderator on Matrix, she may: carol's message goes, with
        # the reason, redacted by alice's ghost.
        levels = await bob.client.room_get_state_event(
            room_id, "m.room.power_levels")
        content = dict(levels.content)
        content["users"] = dict(content.get("users", {}), **{ghost: 50})
        await bob.client.room_put_state(room_id, "m.room.power_levels",
                                        content)
        async def moderate(body, request, reason):
            """carol says body; alice removes it with request (XML with
            {event} for its id); alice's ghost redacts it with reason, and
            everyone in the room, alice included, sees it moderated by her.
            Returns (event id, the removal alice saw)."""
            event = await carol.send(room_id, body)
            await alice.wait_message(lambda m: m["body"] == body,
                                     what=f"carol's {body!r}")
            iq = alice.client.make_iq_set(ito=muc_jid)
            iq.append(slixmpp.ET.fromstring(request.format(event=event)))
            await iq.send(timeout=20)
            redaction = await actions.redaction(room_id, ghost, event)
            assert redaction.reason == reason
            removal = await alice.wait_message(
                lambda m: retraction_of(m) is not None and
                retraction_of(m)[0] == event,
                what=f"the moderation of {body!r} echoed")
            assert retraction_of(removal) == (event, f"{muc_jid}/alice")
            return event, removal

        event, removal = await moderate(
            "off topic",
            f"<moderate xmlns='{NS_MODERATE}' id='{{event}}'>"
            f"<retract xmlns='{NS_RETRACT}'/><reason>off topic</reason>"
            f"</moderate>", "off topic")
        # ... in the form before 2023 as well, for clients that know only
        # that one, ...
        legacy = removal.xml.find(f"{{{NS_FASTEN}}}apply-to")
        assert legacy is not None and legacy.get("id") == event
        assert legacy.find(f"{{{NS_MODERATE_0}}}moderated").get("by") == \
            f"{muc_jid}/alice"
        # ... whose requests the room takes too.
        await moderate(
            "also off topic",
            f"<apply-to xmlns='{NS_FASTEN}' id='{{event}}'>"
            f"<moderate xmlns='{NS_MODERATE_0}'>"
            f"<retract xmlns='urn:xmpp:message-retract:0'/>"
            f"<reason>old client</reason></moderate></apply-to>",
            "old client")
    finally:
        await bob.close()
        await carol.close()


async def test_reactions_and_deletions_in_a_portal(cluster, gateway, alice):
    room, _ = await create_muc(alice, nick="alice")
    room_jid = f"{room}@{MUC}"
    bob = await matrix_user(cluster, "Bob R")
    actions = Actions(bob)
    see_reactions(alice)
    try:
        room_id = await join_portal(bob, room)
        await wait_occupant(alice, room, "Bob R")
        ghost = occupant_ghost(room, "alice")
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost and
            e.membership == "join", what="alice's ghost in the portal")

        event = await bob.send(room_id, "react in the MUC")
        got = await alice.wait_message(
            lambda m: m["body"] == "react in the MUC", what="bob's message")
        await xmpp_reacts(alice, bob, actions, room_id, room_jid, "groupchat",
                          stanza_id(got), event, ghost)

        alice.send(room_jid, "alice in the MUC", mtype="groupchat")
        echo = await alice.wait_message(
            lambda m: m["body"] == "alice in the MUC", what="the reflection")
        _, mine = await bob.wait_message(
            lambda r, e: r == room_id and e.body == "alice in the MUC",
            what="alice's MUC message")
        await matrix_reacts(alice, bob, room_id, mine.event_id,
                            stanza_id(echo))

        alice.send(room_jid, "retract in the MUC", mtype="groupchat")
        echo = await alice.wait_message(
            lambda m: m["body"] == "retract in the MUC",
            what="the reflection")
        _, gone = await bob.wait_message(
            lambda r, e: e.body == "retract in the MUC",
            what="the message alice retracts")
        send_retraction(alice, room_jid, stanza_id(echo), "groupchat")
        await actions.redaction(room_id, ghost, gone.event_id)

        event = await bob.send(room_id, "bob deletes this")
        got = await alice.wait_message(
            lambda m: m["body"] == "bob deletes this", what="bob's message")
        await matrix_redact(bob, room_id, event)
        retraction = await alice.wait_message(
            lambda m: retraction_of(m) is not None, what="bob's retraction")
        assert retraction_of(retraction) == (stanza_id(got), None)
        assert retraction["from"].resource == "Bob R"
    finally:
        await bob.close()
