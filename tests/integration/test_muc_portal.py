"""Portal mode: Matrix users join XMPP MUCs through #_xmpp_room=40service
aliases, against Prosody's real MUC service."""

import asyncio

import pytest
import slixmpp
from nio import PowerLevelsEvent, RoomMemberEvent, RoomTopicEvent
from nio.responses import JoinError, JoinResponse

from harness import COMPONENT, DOMAIN, MUC
from peers import MatrixUser, XmppUser, unique, wait_for
from test_dm import ghost_id

# The whole module runs against ejabberd too (conftest.py, core).
pytestmark = pytest.mark.core



def portal_alias(room):
    return f"#_xmpp_{room}=40{MUC}:{DOMAIN}"


def matrix_jid(user):
    return f"{user.name}%{DOMAIN}@{COMPONENT}"


def occupant_ghost(room, nick):
    """The ghost of an occupant whose real JID the room hides."""
    def esc(s):
        return "".join(c if c.isascii() and (c.islower() or c.isdigit() or
                                              c in "._-")
                       else "".join(f"={b:02x}" for b in c.encode())
                       for c in s)
    return f"@_xmpp_{esc(f'{room}@{MUC}/{nick}')}:{DOMAIN}"


def muc(user):
    user.client.register_plugin("xep_0045")
    return user.client.plugin["xep_0045"]


async def create_muc(owner, nick="owner", public_jids=False,
                     changesubject=True):
    """The owner creates and configures a fresh MUC; returns its local part
    and the owner's join answers."""
    room = unique("lounge")
    room_jid = f"{room}@{MUC}"
    muc_presences(owner)
    joined = await muc(owner).join_muc_wait(room_jid, nick, maxstanzas=0,
                                            timeout=20)
    # Submit the whole form: Prosody resets the fields a form leaves out.
    plugin = muc(owner)
    form = await plugin.get_room_config(room_jid)
    values = {"muc#roomconfig_changesubject": changesubject,
              "muc#roomconfig_whois": "anyone" if public_jids
              else "moderators"}
    submit = owner.client.plugin["xep_0004"].make_form(ftype="submit")
    for var, field in form.get_fields().items():
        if var:
            submit.add_field(var=var, ftype=field["type"],
                             value=values.get(var, field["value"]))
    await plugin.set_room_config(room_jid, submit)
    return room, joined


async def join_portal(user, room):
    resp = await user.client.join(portal_alias(room))
    assert isinstance(resp, JoinResponse), resp
    return resp.room_id


def state_events(user, kind):
    queue = asyncio.Queue()

    async def on_event(room, event):
        await queue.put((room.room_id, event))
    user.client.add_event_callback(on_event, kind)
    return queue


def topics(user):
    return state_events(user, RoomTopicEvent)


def muc_presences(user):
    """MUC presences as slixmpp reports them (its plain "presence" event
    leaves out some occupants' presences)."""
    if not hasattr(user, "muc_presences"):
        user.muc_presences = asyncio.Queue()
        user.client.add_event_handler("groupchat_presence",
                                      user.muc_presences.put_nowait)
    return user.muc_presences


async def wait_occupant(user, room, nick, available=True, what=None):
    return await wait_for(
        muc_presences(user),
        lambda p: p["from"].bare == f"{room}@{MUC}"
        and p["from"].resource == nick
        and (p["type"] != "unavailable") == available,
        20, what or f"{nick} {'in' if available else 'out of'} {room}")


async def matrix_user(cluster, displayname):
    user = await MatrixUser(cluster.synapse.url).register()
    await user.client.set_displayname(displayname)
    return user


async def test_portal_join_talk_topic_and_leave(cluster, gateway, alice):
    room, _ = await create_muc(alice, nick="alice")
    alice.client.plugin["xep_0045"].set_subject(f"{room}@{MUC}",
                                                      "Portal topic")
    bob = await matrix_user(cluster, "Bob B")
    carol = await matrix_user(cluster, "Carol C")
    bob_topics = topics(bob)
    try:
        room_id = await join_portal(bob, room)
        # Bob's occupant joins the MUC under his display name.
        await wait_occupant(alice, room, "Bob B")
        # The MUC subject is the room topic.
        await wait_for(bob_topics, lambda t: t[0] == room_id and
                       t[1].topic == "Portal topic", 20, "the MUC subject "
                       "as the room topic")
        # Alice's occupant is a ghost in the Matrix room, named by her nick;
        # the room hides real JIDs, so the ghost is per nick.
        alice_ghost = occupant_ghost(room, "alice")
        _, member = await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == alice_ghost and
            e.membership == "join", what="alice's occupant ghost joining")
        assert member.content.get("displayname") == "alice"

        assert (await carol.client.join(portal_alias(room))).room_id == room_id
        await wait_occupant(alice, room, "Carol C")

        # XMPP -> Matrix, once, although two Matrix users got the message.
        alice.send(f"{room}@{MUC}", "hello portal", mtype="groupchat")
        _, event = await bob.wait_message(
            lambda r, e: r == room_id and e.body == "hello portal",
            what="alice's MUC message in the portal room")
        assert event.sender == alice_ghost

        # Matrix -> XMPP, from Bob's nick; his own copy is not doubled.
        await bob.send(room_id, "hello from matrix")
        msg = await alice.wait_message(
            lambda m: m["type"] == "groupchat" and
            m["body"] == "hello from matrix",
            what="bob's message in the MUC")
        assert msg["from"].resource == "Bob B"
        alice.send(f"{room}@{MUC}", "sentinel", mtype="groupchat")
        seen = []
        await bob.wait_message(
            lambda r, e: seen.append(e.body) or e.body == "sentinel",
            what="the sentinel")
        assert seen.count("hello portal") == 0, seen   # consumed above
        assert "hello from matrix" in seen   # bob's own event, once
        assert seen.count("hello from matrix") == 1, seen

        # The room topic from Matrix becomes the MUC subject.
        subjects = asyncio.Queue()
        alice.client.add_event_handler("groupchat_subject",
                                       subjects.put_nowait)
        await bob.client.room_put_state(room_id, "m.room.topic",
                                        {"topic": "Set on Matrix"})
        subj = await wait_for(subjects,
                              lambda m: m["subject"] == "Set on Matrix", 20,
                              "the subject set from Matrix")
        assert subj["from"].resource == "Bob B"

        # Leaving the room leaves the MUC.
        await bob.client.room_leave(room_id)
        await wait_occupant(alice, room, "Bob B", available=False)
        # Alice leaving the MUC takes her ghost out of the room.
        muc(alice).leave_muc(f"{room}@{MUC}", "alice")
        await carol.wait_member(
            lambda r, e: r == room_id and e.state_key == alice_ghost and
            e.membership == "leave", what="alice's ghost leaving")
    finally:
        await bob.close()
        await carol.close()


async def test_portal_unknown_muc_is_not_found(cluster, gateway):
    bob = await matrix_user(cluster, "Bob")
    try:
        resp = await bob.client.join(portal_alias(unique("nosuchroom")))
        assert isinstance(resp, JoinError), resp
    finally:
        await bob.close()


async def test_portal_nick_conflict_and_real_jids(cluster, gateway, alice):
    room, _ = await create_muc(alice, nick="alice", public_jids=True)
    dave = await XmppUser(cluster.prosody).connect()
    bob = await matrix_user(cluster, "Dup")
    try:
        await muc(dave).join_muc_wait(f"{room}@{MUC}", "Dup", maxstanzas=0,
                                      timeout=20)
        room_id = await join_portal(bob, room)
        # "Dup" is taken by an XMPP user: the Matrix user gets a variant.
        await wait_occupant(alice, room, "Dup (Matrix)")
        # The room shows real JIDs: the ghosts are the XMPP users' own.
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(dave) and
            e.membership == "join" and e.content.get("displayname") == "Dup",
            what="dave's own ghost joining under his nick")
        alice.send(f"{room}@{MUC}", "from alice", mtype="groupchat")
        _, event = await bob.wait_message(
            lambda r, e: r == room_id and e.body == "from alice",
            what="alice's message")
        assert event.sender == ghost_id(alice)
    finally:
        await bob.close()
        await dave.disconnect()


async def test_portal_kick_and_ban_are_mirrored(cluster, gateway, alice):
    room, _ = await create_muc(alice, nick="alice")
    room_jid = f"{room}@{MUC}"
    dave = await XmppUser(cluster.prosody).connect()
    bob = await matrix_user(cluster, "Bob K")
    try:
        await muc(dave).join_muc_wait(room_jid, "dave", maxstanzas=0,
                                      timeout=20)
        room_id = await join_portal(bob, room)
        await wait_occupant(alice, room, "Bob K")
        dave_ghost = occupant_ghost(room, "dave")
        await bob.wait_member(lambda r, e: r == room_id and
                              e.state_key == dave_ghost and
                              e.membership == "join", what="dave's ghost")
        # An XMPP ban of an XMPP occupant bans the ghost.
        await muc(alice).set_affiliation(room_jid, "outcast",
                                         jid=slixmpp.JID(dave.jid),
                                         reason="spam")
        _, ban = await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == dave_ghost and
            e.membership == "ban", what="dave's ghost banned")
        assert "spam" in (ban.content.get("reason") or "")
        # An XMPP kick of the Matrix user's occupant kicks them from the room
        # (seen by another member: nio reports no events of left rooms).
        eve = await matrix_user(cluster, "Eve K")
        await eve.join(room_id)
        await wait_occupant(alice, room, "Eve K")
        await muc(alice).set_role(room_jid, "Bob K", "none",
                                  reason="behave")
        _, kick = await eve.wait_member(
            lambda r, e: r == room_id and e.state_key == bob.user_id and
            e.membership == "leave", what="bob kicked from the portal")
        assert kick.sender != bob.user_id
        assert "behave" in (kick.content.get("reason") or "")
        await eve.close()
    finally:
        await bob.close()
        await dave.disconnect()


async def test_xmpp_invite_becomes_a_matrix_invite(cluster, gateway, alice):
    room, _ = await create_muc(alice, nick="alice")
    bob = await matrix_user(cluster, "Bob I")
    try:
        alice.client.register_plugin("xep_0249")
        alice.client.plugin["xep_0249"].send_invitation(
            matrix_jid(bob), f"{room}@{MUC}", reason="come in")
        room_id, _ = await bob.wait_invite()
        await bob.join(room_id)
        await wait_occupant(alice, room, "Bob I")
    finally:
        await bob.close()


async def test_portal_survives_a_gateway_restart(cluster, gateway, alice):
    room, _ = await create_muc(alice, nick="alice")
    room_jid = f"{room}@{MUC}"
    dave = await XmppUser(cluster.prosody).connect()
    bob = await matrix_user(cluster, "Bob R")
    try:
        await muc(dave).join_muc_wait(room_jid, "dave", maxstanzas=0,
                                      timeout=20)
        room_id = await join_portal(bob, room)
        await wait_occupant(alice, room, "Bob R")
        dave_ghost = occupant_ghost(room, "dave")
        await bob.wait_member(lambda r, e: r == room_id and
                              e.state_key == dave_ghost and
                              e.membership == "join", what="dave's ghost")
        alice.send(room_jid, "before the restart", mtype="groupchat")
        await bob.wait_message(lambda r, e: e.body == "before the restart",
                               what="the message before the restart")

        gateway.stop()
        await wait_occupant(alice, room, "Bob R", available=False,
                            what="bob's occupant leaving on shutdown")
        # While the gateway is away: a message, and dave leaves.
        alice.send(room_jid, "while you were away", mtype="groupchat")
        muc(dave).leave_muc(room_jid, "dave")
        gateway.start()

        await wait_occupant(alice, room, "Bob R",
                            what="bob's occupant rejoining")
        # Both, in whichever order they come: the message said while the
        # gateway was away, and dave's ghost leaving (he left meanwhile).
        seen, left = [], []

        def caught_up(item):
            r, e = item
            if getattr(e, "body", None) is not None:
                seen.append(e.body)
            if isinstance(e, RoomMemberEvent) and r == room_id and \
                    e.state_key == dave_ghost and e.membership == "leave":
                left.append(e)
            return "while you were away" in seen and bool(left)
        await wait_for(bob.events, caught_up, 30,
                       "the message sent while the gateway was away and "
                       "dave's ghost leaving")
        alice.send(room_jid, "after the restart", mtype="groupchat")
        await bob.wait_message(
            lambda r, e: seen.append(e.body) or e.body == "after the restart",
            what="a message after the restart")
        # Nothing already bridged came again.
        assert "before the restart" not in seen, seen
        assert seen.count("while you were away") == 1, seen
        bob_msgs = []
        await bob.send(room_id, "matrix after restart")
        await alice.wait_message(
            lambda m: bob_msgs.append(m["body"]) or
            m["body"] == "matrix after restart",
            what="bob's message after the restart")
    finally:
        await bob.close()
        await dave.disconnect()


async def test_portal_roles_become_power_levels(cluster, gateway, alice):
    room, _ = await create_muc(alice, nick="alice")
    room_jid = f"{room}@{MUC}"
    dave = await XmppUser(cluster.prosody).connect()
    bob = await matrix_user(cluster, "Bob P")
    levels = state_events(bob, PowerLevelsEvent)
    try:
        await muc(dave).join_muc_wait(room_jid, "dave", maxstanzas=0,
                                      timeout=20)
        room_id = await join_portal(bob, room)
        alice_ghost = occupant_ghost(room, "alice")
        dave_ghost = occupant_ghost(room, "dave")
        # The room's owner is an owner on Matrix too.
        await wait_for(levels, lambda e: e[0] == room_id and
                       e[1].power_levels.users.get(alice_ghost) == 100, 20,
                       "alice's ghost at power level 100")
        # Making dave a moderator raises his ghost to 50; revoking lowers it.
        await muc(alice).set_role(room_jid, "dave", "moderator")
        await wait_for(levels, lambda e: e[0] == room_id and
                       e[1].power_levels.users.get(dave_ghost) == 50, 20,
                       "dave's ghost at power level 50")
        await muc(alice).set_role(room_jid, "dave", "participant")
        await wait_for(levels, lambda e: e[0] == room_id and
                       dave_ghost not in e[1].power_levels.users, 20,
                       "dave's ghost back at the default level")
    finally:
        await bob.close()
        await dave.disconnect()


async def test_a_refused_topic_change_is_told_and_undone(cluster, gateway,
                                                         alice):
    """The MUC lets only moderators change its subject: a Matrix member's
    topic change is refused there, so the room hears why and the topic goes
    back to the MUC's subject; the two sides agree again."""
    room, _ = await create_muc(alice, nick="alice", changesubject=False)
    muc(alice).set_subject(f"{room}@{MUC}", "Agreed subject")
    bob = await matrix_user(cluster, "Topic Setter")
    bob_topics = topics(bob)
    try:
        room_id = await join_portal(bob, room)
        await wait_for(bob_topics, lambda t: t[0] == room_id and
                       t[1].topic == "Agreed subject", 20,
                       "the MUC subject as the topic")
        await wait_occupant(alice, room, "Topic Setter")
        await bob.client.room_put_state(room_id, "m.room.topic",
                                        {"topic": "Refused change"})
        _, notice = await bob.wait_message(
            lambda r, e: r == room_id and "refused the topic change" in e.body,
            what="a notice that the MUC refused the topic change")
        assert bob.user_id in notice.body
        assert room in notice.body
        await wait_for(bob_topics, lambda t: t[0] == room_id and
                       t[1].topic == "Agreed subject", 20,
                       "the topic back to the MUC's subject")
    finally:
        await bob.close()


async def test_a_refused_nick_change_is_told(cluster, gateway, alice):
    """A Matrix member renames to a nick an XMPP occupant holds: the MUC
    refuses the change (conflict), and the room hears it."""
    room, _ = await create_muc(alice, nick="alice")
    bob = await matrix_user(cluster, "Renamer")
    try:
        room_id = await join_portal(bob, room)
        await wait_occupant(alice, room, "Renamer")
        await bob.client.set_displayname("alice")
        _, notice = await bob.wait_message(
            lambda r, e: r == room_id and "refused the nick" in e.body,
            what="a notice that the MUC refused the new nick")
        assert '"alice"' in notice.body and "conflict" in notice.body
        assert '"Renamer"' in notice.body
    finally:
        await bob.close()
