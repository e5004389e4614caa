"""Gateway mode: XMPP users join Matrix rooms as MUCs (XEP-0045)."""

import asyncio

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from nio.api import RoomPreset
from nio.responses import RoomCreateResponse

from harness import COMPONENT, DOMAIN
from peers import MatrixUser, XmppUser, populate, unique, wait_for
from test_dm import ghost_id

# The whole module runs against ejabberd too (conftest.py, core).
pytestmark = pytest.mark.core


async def make_room(bob, carol, topic):
    alias = unique("club")
    resp = await bob.client.room_create(alias=alias, topic=topic or None,
                                        name="The Club",
                                        preset=RoomPreset.public_chat)
    assert isinstance(resp, RoomCreateResponse), resp
    await carol.join(resp.room_id)
    return resp.room_id, f"#{alias}%{DOMAIN}@{COMPONENT}"


async def matrix_pair(cluster):
    bob = await MatrixUser(cluster.synapse.url).register()
    carol = await MatrixUser(cluster.synapse.url).register()
    await bob.client.set_displayname("Bob B")
    await carol.client.set_displayname("Carol C")
    return bob, carol


def room_jid(room_id):
    """!AbC:server -> !\\41b\\43%server@gw, upper case escaped; room
    version 12 ids have no server part."""
    local, _, server = room_id[1:].partition(":")
    escaped = "".join("\\%02x" % ord(c) if c.isupper() else c for c in local)
    return f"!{escaped}%{server}@{COMPONENT}" if server else \
        f"!{escaped}@{COMPONENT}"


def muc(user):
    user.client.register_plugin("xep_0045")
    return user.client.plugin["xep_0045"]


async def test_join_talk_and_leave(cluster, gateway):
    bob, carol = await matrix_pair(cluster)
    alice = await XmppUser(cluster.prosody).connect()
    try:
        room_id, muc_jid = await make_room(bob, carol, "Club topic")
        me, subject, occupants, _history = await muc(alice).join_muc_wait(
            muc_jid, "alice", maxstanzas=0, timeout=30)
        # Self-presence with 110 (and 100: real JIDs are shown).
        assert 110 in me["muc"]["status_codes"]
        assert me["from"].resource == "alice"
        assert subject["subject"] == "Club topic"
        nicks = {p["from"].resource: p for p in occupants}
        assert {"Bob B", "Carol C"} <= set(nicks)
        # The room's creator has power level 100: owner and moderator.
        assert nicks["Bob B"]["muc"]["affiliation"] == "owner"
        assert nicks["Bob B"]["muc"]["role"] == "moderator"
        assert nicks["Carol C"]["muc"]["role"] == "participant"
        assert nicks["Bob B"]["muc"]["jid"].bare == \
            f"{bob.name}%{DOMAIN}@{COMPONENT}"
        # The ghost is now a member on the Matrix side.
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(alice)
            and e.membership == "join", what="alice's ghost joining")

        # XMPP -> Matrix, with the reflection MUC clients expect.
        sent = alice.client.make_message(mto=muc_jid, mbody="hello room",
                                         mtype="groupchat")
        sent.send()
        _, event = await bob.wait_message(
            lambda r, e: r == room_id and e.body == "hello room",
            what="alice's group message on Matrix")
        assert event.sender == ghost_id(alice)
        echo = await alice.wait_message(
            lambda m: m["type"] == "groupchat" and m["body"] == "hello room",
            what="the reflection of alice's message")
        assert echo["from"].resource == "alice"
        assert echo["id"] == sent["id"]
        assert echo["stanza_id"]["id"] == event.event_id
        assert echo["stanza_id"]["by"] == muc_jid

        # Matrix -> XMPP, from room/nick.
        await bob.send(room_id, "hi alice")
        msg = await alice.wait_message(
            lambda m: m["type"] == "groupchat" and m["body"] == "hi alice",
            what="bob's message in the MUC")
        assert msg["from"] == f"{muc_jid}/Bob B"

        # Membership changes become presence.
        offline = asyncio.Queue()
        alice.client.add_event_handler(f"muc::{muc_jid}::got_offline",
                                       offline.put_nowait)
        await carol.client.room_leave(room_id)
        gone = await wait_for(
            offline, lambda p: p["from"] == f"{muc_jid}/Carol C", 20,
            "Carol leaving the MUC")
        assert gone["muc"]["role"] == "none"

        # Leaving the MUC takes the ghost out of the room.
        muc(alice).leave_muc(muc_jid, "alice")
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(alice)
            and e.membership == "leave", what="alice's ghost leaving")
    finally:
        await bob.close()
        await carol.close()
        await alice.disconnect()


async def test_two_resources_one_ghost_and_nick_conflict(cluster, gateway):
    bob, carol = await matrix_pair(cluster)
    first = await XmppUser(cluster.prosody, resource="laptop").connect()
    second = await XmppUser(cluster.prosody, name=first.name, register=False,
                            resource="phone").connect()
    dave = await XmppUser(cluster.prosody).connect()
    try:
        room_id, muc_jid = await make_room(bob, carol, "")
        await muc(first).join_muc_wait(muc_jid, "al", maxstanzas=0,
                                       timeout=30)
        me, subject, occupants, _ = await muc(second).join_muc_wait(
            muc_jid, "al", maxstanzas=0, timeout=30)
        assert 110 in me["muc"]["status_codes"]
        assert subject["subject"] == "The Club"   # no topic: the name

        # A nick a Matrix member already has is refused with 409.
        try:
            await muc(dave).join_muc_wait(muc_jid, "Bob B", maxstanzas=0,
                                          timeout=30)
            raise AssertionError("joining with a taken nick succeeded")
        except Exception as e:   # slixmpp raises PresenceError
            assert getattr(e, "condition", "") == "conflict", e

        # Both resources see Matrix messages; one ghost speaks for both.
        await bob.send(room_id, "to both")
        for user in (first, second):
            await user.wait_message(
                lambda m: m["type"] == "groupchat" and m["body"] == "to both",
                what="the message on each resource")
        first.client.make_message(mto=muc_jid, mbody="from the laptop",
                                  mtype="groupchat").send()
        for user in (first, second):
            await user.wait_message(
                lambda m: m["type"] == "groupchat"
                and m["body"] == "from the laptop",
                what="the reflection on each resource")
        _, event = await bob.wait_message(
            lambda r, e: e.body == "from the laptop",
            what="the laptop's message on Matrix")
        assert event.sender == ghost_id(first)

        # The ghost stays until the last resource leaves.
        muc(first).leave_muc(muc_jid, "al")
        await bob.send(room_id, "still there?")
        await second.wait_message(lambda m: m["body"] == "still there?",
                                  what="the message after one resource left")
        muc(second).leave_muc(muc_jid, "al")
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(first)
            and e.membership == "leave", what="the ghost leaving at last")
    finally:
        await bob.close()
        await carol.close()
        for user in (first, second, dave):
            await user.disconnect()


async def test_join_by_room_id_and_unknown_alias(cluster, gateway):
    bob, carol = await matrix_pair(cluster)
    alice = await XmppUser(cluster.prosody).connect()
    try:
        room_id, _ = await make_room(bob, carol, "by id")
        by_id = room_jid(room_id)
        _, subject, occupants, _ = await muc(alice).join_muc_wait(
            by_id, "alice", maxstanzas=0, timeout=30)
        assert subject["subject"] == "by id"
        assert len(occupants) >= 2
        try:
            await muc(alice).join_muc_wait(
                f"#no-such-room%{DOMAIN}@{COMPONENT}", "alice",
                maxstanzas=0, timeout=30)
            raise AssertionError("joined a room that does not exist")
        except Exception as e:
            assert getattr(e, "condition", "") == "item-not-found", e
        # Writing to a room one has not joined is refused.
        alice.client.make_message(mto=f"#elsewhere%{DOMAIN}@{COMPONENT}",
                                  mbody="hi", mtype="groupchat").send()
        err = await alice.wait_message(lambda m: m["type"] == "error",
                                       what="an error for a room not joined")
        assert err["error"]["condition"] == "not-acceptable"
        await asyncio.sleep(0)
    finally:
        await bob.close()
        await carol.close()
        await alice.disconnect()


async def test_history_on_join(cluster, gateway, alice):
    bob, carol = await matrix_pair(cluster)
    try:
        room_id, muc_jid = await make_room(bob, carol, "history")
        for k in range(3):
            await bob.send(room_id, f"old {k}")
        _, _, _, history = await muc(alice).join_muc_wait(
            muc_jid, "alice", maxstanzas=2, timeout=30)
        assert [m["body"] for m in history] == ["old 1", "old 2"]
        for m in history:
            assert m["from"] == f"{muc_jid}/Bob B"
            assert m["delay"]["from"] == muc_jid
            assert m["stanza_id"]["id"].startswith("$")
        muc(alice).leave_muc(muc_jid, "alice")
    finally:
        await bob.close()
        await carol.close()


async def test_nick_change_kick_and_ban(cluster, gateway, alice):
    bob, carol = await matrix_pair(cluster)
    dave = await MatrixUser(cluster.synapse.url).register()
    try:
        room_id, muc_jid = await make_room(bob, carol, "moderation")
        await dave.join(room_id)
        offline = asyncio.Queue()
        alice.client.add_event_handler(f"muc::{muc_jid}::got_offline",
                                       offline.put_nowait)
        await muc(alice).join_muc_wait(muc_jid, "alice", maxstanzas=0,
                                       timeout=30)

        await carol.client.set_displayname("Caroline")
        renamed = await wait_for(
            offline, lambda p: p["from"] == f"{muc_jid}/Carol C", 20,
            "Carol's old nick going away")
        assert 303 in renamed["muc"]["status_codes"]
        item = renamed.xml.find(
            "{http://jabber.org/protocol/muc#user}x/"
            "{http://jabber.org/protocol/muc#user}item")
        assert item.get("nick") == "Caroline"

        await bob.client.room_kick(room_id, carol.user_id)
        kicked = await wait_for(
            offline, lambda p: p["from"] == f"{muc_jid}/Caroline", 20,
            "Carol being kicked")
        assert 307 in kicked["muc"]["status_codes"]

        await bob.client.room_ban(room_id, dave.user_id)
        banned = await wait_for(
            offline, lambda p: p["from"].resource == dave.name, 20,
            "Dave being banned")
        assert 301 in banned["muc"]["status_codes"]
        assert banned["muc"]["affiliation"] == "outcast"

        # Kicking the XMPP user's ghost ends their MUC session.
        await bob.client.room_kick(room_id, ghost_id(alice))
        me = await wait_for(
            offline, lambda p: p["from"] == f"{muc_jid}/alice", 20,
            "alice's own session ending")
        assert {110, 307} <= set(me["muc"]["status_codes"])
        alice.client.make_message(mto=muc_jid, mbody="am I still here?",
                                  mtype="groupchat").send()
        err = await alice.wait_message(lambda m: m["type"] == "error",
                                       what="an error after being kicked")
        assert err["error"]["condition"] == "not-acceptable"
    finally:
        await bob.close()
        await carol.close()
        await dave.close()


async def test_matrix_invite_becomes_a_direct_invitation(cluster, gateway,
                                                         alice, bob):
    alice.client.register_plugin("xep_0249")
    invites = asyncio.Queue()
    alice.client.add_event_handler("groupchat_direct_invite",
                                   invites.put_nowait)
    resp = await bob.client.room_create(name="Private",
                                        invite=[ghost_id(alice)])
    assert isinstance(resp, RoomCreateResponse), resp
    invite = await wait_for(invites, lambda m: True, 30,
                            "a XEP-0249 invitation")
    assert invite["from"].bare == f"{bob.name}%{DOMAIN}@{COMPONENT}"
    room = invite.xml.find("{jabber:x:conference}x").get("jid")
    assert room == room_jid(resp.room_id)
    # The invitation is good: the private room can be joined from XMPP.
    me, _, occupants, _ = await muc(alice).join_muc_wait(
        room, "alice", maxstanzas=0, timeout=30)
    assert 110 in me["muc"]["status_codes"]
    others = [p["from"].resource for p in occupants
              if p["from"].resource != "alice"]   # slixmpp lists self too
    assert others == [bob.name]


async def test_room_directory_with_rsm(cluster, gateway, alice, bob):
    from nio.api import RoomVisibility
    names = []
    for _ in range(2):
        alias = unique("public")
        resp = await bob.client.room_create(
            alias=alias, name=alias, preset=RoomPreset.public_chat,
            visibility=RoomVisibility.public)
        assert isinstance(resp, RoomCreateResponse), resp
        names.append(alias)
    rsm = "{http://jabber.org/protocol/rsm}"
    items_ns = "{http://jabber.org/protocol/disco#items}"
    seen, after = [], None
    for _ in range(10):   # pages of one, until the directory ends
        page = "<max>1</max>" + (f"<after>{after}</after>" if after else "")
        result = await alice.iq_get(
            COMPONENT, "<query xmlns='http://jabber.org/protocol/disco#items'>"
            f"<set xmlns='http://jabber.org/protocol/rsm'>{page}</set>"
            "</query>")
        query = result.xml.find(f"{items_ns}query")
        items = query.findall(f"{items_ns}item")
        assert len(items) <= 1
        seen += [i.get("jid") for i in items]
        last = query.find(f"{rsm}set/{rsm}last")
        if last is None or not items:
            break
        after = last.text
    for alias in names:
        assert f"#{alias}%{DOMAIN}@{COMPONENT}" in seen, seen


async def test_power_level_change_updates_roles(cluster, gateway, alice):
    bob, carol = await matrix_pair(cluster)
    try:
        room_id, muc_jid = await make_room(bob, carol, "roles")
        online = asyncio.Queue()
        alice.client.add_event_handler(f"muc::{muc_jid}::presence",
                                       online.put_nowait)
        await muc(alice).join_muc_wait(muc_jid, "alice", maxstanzas=0,
                                       timeout=30)
        state = await bob.client.room_get_state_event(room_id,
                                                      "m.room.power_levels")
        levels = state.content
        levels.setdefault("users", {})[carol.user_id] = 50
        await bob.client.room_put_state(room_id, "m.room.power_levels", levels)
        promoted = await wait_for(
            online, lambda p: p["from"] == f"{muc_jid}/Carol C"
            and p["muc"]["role"] == "moderator", 20,
            "Carol's presence as a moderator")
        assert promoted["muc"]["affiliation"] == "admin"
    finally:
        await bob.close()
        await carol.close()


async def test_client_gone_while_gateway_was_down(cluster, gateway):
    bob, carol = await matrix_pair(cluster)
    alice = await XmppUser(cluster.prosody).connect()
    try:
        room_id, muc_jid = await make_room(bob, carol, "stale")
        await muc(alice).join_muc_wait(muc_jid, "alice", maxstanzas=0,
                                       timeout=30)
        gateway.stop(kill=True)
        await alice.disconnect()   # its unavailable presence bounces
        gateway.start()
        # The occupant is stale until its first bounce removes it and the
        # ghost leaves the room.
        await bob.send(room_id, "anyone?")
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(alice)
            and e.membership == "leave", timeout=30,
            what="the stale occupant's ghost leaving")
    finally:
        await bob.close()
        await carol.close()


async def test_join_a_thousand_member_room(cluster, gateway, alice, bob):
    import time
    resp = await bob.client.room_create(alias=unique("crowd"),
                                        preset=RoomPreset.public_chat)
    assert isinstance(resp, RoomCreateResponse), resp
    room_id = resp.room_id
    await populate(cluster.synapse.url, gateway.as_token, room_id, 999,
                   unique("crowd"))
    log = cluster.synapse.dir / "homeserver.log"
    mark = len(log.read_text())
    started = time.monotonic()
    me, _, occupants, _ = await muc(alice).join_muc_wait(
        room_jid(room_id), "alice", maxstanzas=0, timeout=120)
    took = time.monotonic() - started
    print(f"joined a 1,000-member room in {took:.2f} s")
    assert 110 in me["muc"]["status_codes"]
    others = [p for p in occupants if p["from"].resource != "alice"]
    assert len(others) == 1000   # bob and the 999
    # One members query answers the join; no call per member. (Synapse
    # flushes its log every few seconds.)
    from harness import wait_until
    wait_until(lambda: "/joined_members" in log.read_text()[mark:], 20,
               "Synapse to log the members query")
    requests = log.read_text()[mark:]
    assert requests.count("/joined_members") == 1
    assert "\"GET /_matrix/client/v3/profile" not in requests


async def test_xmpp_nick_change(cluster, gateway, alice):
    bob, carol = await matrix_pair(cluster)
    try:
        room_id, muc_jid = await make_room(bob, carol, "renames")
        offline = asyncio.Queue()
        online = asyncio.Queue()
        alice.client.add_event_handler(f"muc::{muc_jid}::got_offline",
                                       offline.put_nowait)
        alice.client.add_event_handler(f"muc::{muc_jid}::got_online",
                                       online.put_nowait)
        errors = asyncio.Queue()
        alice.client.register_handler(Callback(
            "nick errors", MatchXPath("{jabber:client}presence[@type='error']"),
            errors.put_nowait))
        await muc(alice).join_muc_wait(muc_jid, "alice", maxstanzas=0,
                                       timeout=30)
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(alice)
            and e.membership == "join", what="alice's ghost joining")

        alice.client.send_presence(pto=f"{muc_jid}/Alicia")
        gone = await wait_for(offline, lambda p: p["from"] ==
                              f"{muc_jid}/alice", 20, "the old nick leaving")
        assert {303, 110} <= set(gone["muc"]["status_codes"])
        item = gone.xml.find("{http://jabber.org/protocol/muc#user}x/"
                             "{http://jabber.org/protocol/muc#user}item")
        assert item.get("nick") == "Alicia"
        await wait_for(online, lambda p: p["from"] == f"{muc_jid}/Alicia",
                       20, "the new nick arriving")
        # Matrix users see the ghost under the new nick.
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(alice)
            and e.content.get("displayname") == "Alicia",
            what="the ghost's name in the room becoming Alicia")
        # Her messages now come from the new nick.
        alice.send(muc_jid, "renamed", mtype="groupchat")
        echo = await alice.wait_message(
            lambda m: m["type"] == "groupchat" and m["body"] == "renamed",
            what="the reflection under the new nick")
        assert echo["from"].resource == "Alicia", echo

        # A nick a Matrix member holds is refused; the old one stays.
        alice.client.send_presence(pto=f"{muc_jid}/Bob B")
        err = await wait_for(errors, lambda p: True, 20, "a conflict error")
        assert err["error"]["condition"] == "conflict"
    finally:
        await bob.close()
        await carol.close()
