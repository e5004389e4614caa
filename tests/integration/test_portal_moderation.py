"""XEP-0425 moderation in portal rooms, both ways, against Prosody's real
MUC with mod_muc_moderation (Debian's prosody-modules, which speaks the
moderate:0 version: requests and announcements fastened with <apply-to/>).

The room's moderators are its XMPP owner (alice) and, when the owner makes
it one, a Matrix user's occupant. dave is an ordinary XMPP occupant."""

import asyncio

import aiohttp
import slixmpp
from nio import PowerLevelsEvent, RedactionEvent, RoomMessageNotice
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from harness import MUC
from peers import XmppUser, wait_for
from test_muc_portal import create_muc, join_portal, matrix_user, muc, \
    occupant_ghost, state_events, wait_occupant
from test_reactions import Actions, matrix_redact
from test_rich import stanza_id

NS_FASTEN = "urn:xmpp:fasten:0"
NS_MODERATE_0 = "urn:xmpp:message-moderate:0"
NS_RETRACT_0 = "urn:xmpp:message-retract:0"
NS_MODERATE_1 = "urn:xmpp:message-moderate:1"
NS_RETRACT_1 = "urn:xmpp:message-retract:1"


def legacy_request(target, reason):
    """What a moderate:0 client sends to the room."""
    return slixmpp.ET.fromstring(
        f"<apply-to xmlns='{NS_FASTEN}' id='{target}'>"
        f"<moderate xmlns='{NS_MODERATE_0}'><retract xmlns='{NS_RETRACT_0}'/>"
        f"<reason>{reason}</reason></moderate></apply-to>")


async def xmpp_moderate(user, room_jid, target, reason):
    iq = user.client.make_iq_set(ito=room_jid)
    iq.append(legacy_request(target, reason))
    await iq.send(timeout=20)


def see_moderations(user):
    """The room's moderation announcements (bodyless, so slixmpp's
    "message" event would not carry them), in their own queue."""
    queue = asyncio.Queue()
    user.client.register_handler(Callback(
        "isthmus test moderations",
        MatchXPath(f"{{jabber:client}}message/{{{NS_FASTEN}}}apply-to"),
        queue.put_nowait))
    return queue


def announced(msg):
    """(target, moderator, reason) of a moderate:0 announcement, or None."""
    apply_to = msg.xml.find(f"{{{NS_FASTEN}}}apply-to")
    mod = apply_to.find(f"{{{NS_MODERATE_0}}}moderated") \
        if apply_to is not None else None
    if mod is None or mod.find(f"{{{NS_RETRACT_0}}}retract") is None:
        return None
    reason = mod.find(f"{{{NS_MODERATE_0}}}reason")
    return (apply_to.get("id"), mod.get("by"),
            reason.text if reason is not None else None)


class Portal:
    """alice's MUC with dave in it, and bob in its portal room."""

    @classmethod
    async def open(cls, cluster, alice, bob_name):
        self = cls()
        self.dave = self.bob = None
        try:
            return await self._open(cluster, alice, bob_name)
        except BaseException:
            await self.close()
            raise

    async def _open(self, cluster, alice, bob_name):
        self.alice = alice
        self.room, _ = await create_muc(alice, nick="alice")
        self.room_jid = f"{self.room}@{MUC}"
        self.dave = await XmppUser(cluster.prosody).connect()
        self.bob = await matrix_user(cluster, bob_name)
        self.bob_nick = bob_name
        self.actions = Actions(self.bob)
        self.levels = state_events(self.bob, PowerLevelsEvent)
        await muc(self.dave).join_muc_wait(self.room_jid, "dave",
                                           maxstanzas=0, timeout=20)
        self.room_id = await join_portal(self.bob, self.room)
        await wait_occupant(alice, self.room, bob_name)
        self.alice_ghost = occupant_ghost(self.room, "alice")
        self.dave_ghost = occupant_ghost(self.room, "dave")
        # Both ghosts join, in whichever order.
        waiting = {self.alice_ghost, self.dave_ghost}
        await self.bob.wait_member(
            lambda r, e: r == self.room_id and e.membership == "join" and
            waiting.discard(e.state_key) is None and not waiting,
            what=f"alice's and dave's ghosts joining (missing: {waiting})")
        # alice owns the MUC, so her ghost may redact in Matrix.
        await self.level(self.alice_ghost, 100)
        return self

    async def level(self, user_id, level):
        await wait_for(
            self.levels, lambda e: e[0] == self.room_id and
            e[1].power_levels.users.get(user_id, 0) == level, 30,
            f"{user_id} at power level {level}")

    async def xmpp_says(self, who, body):
        """who says body in the MUC; returns (the room's stanza-id, the
        Matrix event it became)."""
        who.send(self.room_jid, body, mtype="groupchat")
        got = await self.alice.wait_message(
            lambda m: m["type"] == "groupchat" and m["body"] == body,
            what=f"{body!r} in the MUC")
        _, event = await self.bob.wait_message(
            lambda r, e: r == self.room_id and e.body == body,
            what=f"{body!r} in the portal room")
        assert stanza_id(got), got
        return stanza_id(got), event.event_id

    async def sentinel(self, text):
        """A later message from dave, bridged after everything before it
        (one ordered queue per portal room)."""
        self.dave.send(self.room_jid, text, mtype="groupchat")
        await self.bob.wait_message(
            lambda r, e: r == self.room_id and e.body == text,
            what=f"the sentinel {text!r}")

    def redactions_of(self, event_id):
        return [e for _, e in list(self.actions.queue._queue)
                if isinstance(e, RedactionEvent) and e.redacts == event_id]

    async def still_there(self, event_id, body):
        resp = await self.bob.client.room_get_event(self.room_id, event_id)
        event = getattr(resp, "event", None)
        assert event is not None, resp
        assert getattr(event, "body", None) == body, \
            f"{event_id} was redacted: {event.source}"

    async def close(self):
        if self.bob:
            await self.bob.close()
        if self.dave:
            await self.dave.disconnect()


async def test_xmpp_moderator_removes_an_occupants_message(cluster, gateway,
                                                           alice):
    p = await Portal.open(cluster, alice, "Bob M1")
    # A second Matrix user: the MUC announces to each one's occupant.
    carol = await matrix_user(cluster, "Carol M1")
    try:
        await carol.join(p.room_id)
        await wait_occupant(alice, p.room, "Carol M1")
        sid, event = await p.xmpp_says(p.dave, "dave says something rude")
        await xmpp_moderate(alice, p.room_jid, sid, "rude")
        # Redacted by alice's ghost (a moderator there), with her reason.
        redaction = await p.actions.redaction(p.room_id, p.alice_ghost, event)
        assert redaction.reason == "rude"
        # Once, though both occupants got the announcement (the redaction
        # above was taken from the queue).
        await p.sentinel("after the moderation")
        assert p.redactions_of(event) == [], p.redactions_of(event)
    finally:
        await carol.close()
        await p.close()


async def test_xmpp_moderator_removes_a_matrix_users_message(cluster,
                                                             gateway, alice):
    p = await Portal.open(cluster, alice, "Bob M2")
    try:
        event = await p.bob.send(p.room_id, "bob says something rude")
        got = await alice.wait_message(
            lambda m: m["type"] == "groupchat" and
            m["body"] == "bob says something rude",
            what="bob's message in the MUC")
        assert got["from"].resource == "Bob M2"
        # The room names it by its stanza-id, which the gateway learnt from
        # the room's reflection of bob's message.
        await xmpp_moderate(alice, p.room_jid, stanza_id(got), "off topic")
        redaction = await p.actions.redaction(p.room_id, p.alice_ghost, event)
        assert redaction.reason == "off topic"
    finally:
        await p.close()


async def test_matrix_moderator_removes_an_xmpp_occupants_message(
        cluster, gateway, alice):
    p = await Portal.open(cluster, alice, "Bob M3")
    dave_sees = see_moderations(p.dave)
    alice_sees = see_moderations(alice)
    try:
        # alice makes bob's occupant a moderator of the MUC; his Matrix
        # power follows, so Matrix lets him redact others' messages.
        await muc(alice).set_role(p.room_jid, "Bob M3", "moderator")
        await p.level(p.bob.user_id, 50)
        sid, event = await p.xmpp_says(p.dave, "dave spams")
        await matrix_redact(p.bob, p.room_id, event, reason="spam")
        # The MUC removes it for its XMPP occupants, moderated by bob.
        for who, queue in (("dave", dave_sees), ("alice", alice_sees)):
            msg = await wait_for(
                queue, lambda m: announced(m) is not None and
                announced(m)[0] == sid, 30,
                f"the room announcing bob's moderation to {who}")
            assert msg["from"].full == p.room_jid
            assert announced(msg) == (sid, f"{p.room_jid}/Bob M3", "spam")
        # The announcement coming back is not redacted a second time: bob's
        # own redaction is the only one.
        await p.sentinel("after bob's moderation")
        assert [e.sender for e in p.redactions_of(event)] == \
            [p.bob.user_id], p.redactions_of(event)
    finally:
        await p.close()


async def test_matrix_redaction_the_muc_refuses_is_told(cluster, gateway,
                                                        alice):
    """carol has moderator power on Matrix (the bot gives it, as a room
    admin could) but no moderator role in the MUC: the room refuses, and
    the Matrix room is told."""
    p = await Portal.open(cluster, alice, "Bob M4")
    carol = await matrix_user(cluster, "Carol M4")
    dave_sees = see_moderations(p.dave)
    try:
        await carol.join(p.room_id)
        await wait_occupant(alice, p.room, "Carol M4")
        as_token = cluster.isthmus.as_token
        url = (f"{cluster.synapse.url}/_matrix/client/v3/rooms/{p.room_id}"
               f"/state/m.room.power_levels")
        async with aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {as_token}"}) as s:
            async with s.get(url) as r:
                assert r.status == 200, await r.text()
                levels = await r.json()
            levels.setdefault("users", {})[carol.user_id] = 50
            async with s.put(url, json=levels) as r:
                assert r.status == 200, await r.text()
        await p.level(carol.user_id, 50)
        sid, event = await p.xmpp_says(p.dave, "carol may not remove this")
        await matrix_redact(carol, p.room_id, event, reason="no")
        _, notice = await p.bob.wait_message(
            lambda r, e: r == p.room_id and isinstance(e, RoomMessageNotice)
            and "not a moderator" in e.body,
            what="a notice that the MUC refused carol's moderation")
        assert p.room_jid in notice.body
        # The MUC announced nothing.
        await p.sentinel("after the refusal")
        assert not [m for m in list(dave_sees._queue)
                    if announced(m) and announced(m)[0] == sid]
    finally:
        await carol.close()
        await p.close()


def forged(target, form):
    """A moderation announcement as an occupant might forge one."""
    if form == 0:
        return slixmpp.ET.fromstring(
            f"<apply-to xmlns='{NS_FASTEN}' id='{target}'>"
            f"<moderated xmlns='{NS_MODERATE_0}' by='x'>"
            f"<retract xmlns='{NS_RETRACT_0}'/><reason>forged</reason>"
            f"</moderated></apply-to>")
    return slixmpp.ET.fromstring(
        f"<retract xmlns='{NS_RETRACT_1}' id='{target}'>"
        f"<moderated xmlns='{NS_MODERATE_1}' by='x'/>"
        f"<reason>forged</reason></retract>")


async def test_a_forged_moderation_from_an_occupant_is_ignored(
        cluster, gateway, alice):
    p = await Portal.open(cluster, alice, "Bob M5")
    try:
        sid, event = await p.xmpp_says(alice, "alice's message stays")
        # dave, an ordinary occupant, sends what looks like the room's
        # announcement; the MUC relays it from room@service/dave.
        for form in (0, 1):
            msg = p.dave.client.make_message(mto=p.room_jid,
                                             mtype="groupchat")
            msg.append(forged(sid, form))
            msg.send()
        await p.sentinel("after the forgeries")
        assert p.redactions_of(event) == [], p.redactions_of(event)
        await p.still_there(event, "alice's message stays")
        assert "forged a moderation announcement" in gateway.log_text()
    finally:
        await p.close()
