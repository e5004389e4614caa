"""Presence and names across: XMPP show/status <-> m.presence, in a DM, a
gateway-mode room and a portal room, both ways; several resources of one
person reconciled; bursts coalesced into a bounded number of updates;
XEP-0172 nicks <-> display names."""

import asyncio

import pytest
import slixmpp
from nio import PresenceEvent

from harness import MUC
from peers import XmppUser, wait_for
from test_dm import ghost_id, open_dm_from_xmpp, puppet_jid
from test_muc_gateway import make_room, matrix_pair, muc
from test_muc_portal import create_muc, join_portal, matrix_user, \
    muc_presences, occupant_ghost, wait_occupant

# The whole module runs against ejabberd too (conftest.py, core).
pytestmark = pytest.mark.core

NS_NICK = "http://jabber.org/protocol/nick"


def scrape(gateway):
    return gateway.metrics()


def matrix_presences(user):
    """The m.presence events a nio user's sync delivers."""
    if not hasattr(user, "presence_events"):
        user.presence_events = asyncio.Queue()

        async def on_presence(event):
            await user.presence_events.put(event)
        user.client.add_presence_callback(on_presence, PresenceEvent)
    return user.presence_events


async def wait_matrix_presence(user, mxid, presence, status, timeout=30):
    return await wait_for(
        matrix_presences(user),
        lambda e: e.user_id == mxid and e.presence == presence
        and (e.status_msg or None) == status, timeout,
        f"{mxid} {presence} with status {status!r} on Matrix")


def xmpp_presences(user):
    """Every presence stanza an XMPP user gets, subscriptions included."""
    if not hasattr(user, "all_presences"):
        user.all_presences = asyncio.Queue()
        user.client.add_event_handler("presence",
                                      user.all_presences.put_nowait)
    return user.all_presences


def show_of(p):
    """offline, or the show ("" for plain available); slixmpp's p["type"]
    mixes the two, so the attribute is read as sent."""
    return "offline" if p.xml.get("type") == "unavailable" else \
        (p["show"] or "")


async def wait_xmpp_presence(user, jid, show, status, timeout=30):
    return await wait_for(
        xmpp_presences(user),
        lambda p: p["from"].bare == jid and p.xml.get("type") in
        (None, "unavailable") and show_of(p) == show
        and (p["status"] or None) == status, timeout,
        f"{jid} with show {show!r} and status {status!r} on XMPP")


async def subscribe(alice, bob):
    """alice subscribes to bob's JID; the gateway subscribes back, which
    slixmpp approves on its own, so each sees the other's presence."""
    queue = xmpp_presences(alice)
    alice.client.send_presence_subscription(pto=puppet_jid(bob),
                                            ptype="subscribe")
    await wait_for(queue, lambda p: p["from"].bare == puppet_jid(bob)
                   and p["type"] == "subscribed", 20,
                   "the gateway accepting the subscription")
    # The gateway asks back; once slixmpp approved, the roster says both.
    for _ in range(100):
        item = alice.client.client_roster[puppet_jid(bob)]
        if item["subscription"] == "both":
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the gateway never subscribed back to alice: "
                         f"{alice.client.client_roster[puppet_jid(bob)]}")


async def dm_with_presence(alice, bob):
    room_id = await open_dm_from_xmpp(alice, bob, "presence, please")
    await subscribe(alice, bob)
    return room_id


async def test_presence_in_a_dm_both_ways(cluster, gateway, alice, bob):
    await dm_with_presence(alice, bob)
    ghost = ghost_id(alice)
    # XMPP -> Matrix: away with a status becomes unavailable + status_msg.
    alice.client.send_presence(pshow="away", pstatus="out for lunch")
    await wait_matrix_presence(bob, ghost, "unavailable", "out for lunch")
    alice.client.send_presence(pshow="dnd", pstatus="in a call")
    await wait_matrix_presence(bob, ghost, "unavailable", "in a call")
    alice.client.send_presence(pstatus="back")
    await wait_matrix_presence(bob, ghost, "online", "back")

    # Matrix -> XMPP: unavailable becomes show=away, online plain presence.
    await bob.client.set_presence("unavailable", "in a meeting")
    await wait_xmpp_presence(alice, puppet_jid(bob), "away", "in a meeting")
    await bob.client.set_presence("online", "free now")
    await wait_xmpp_presence(alice, puppet_jid(bob), "", "free now")

    # A probe is answered with the stored state, not "available".
    await bob.client.set_presence("unavailable", "gone fishing")
    await wait_xmpp_presence(alice, puppet_jid(bob), "away", "gone fishing")
    alice.client.send_presence(pto=puppet_jid(bob), ptype="probe")
    await wait_xmpp_presence(alice, puppet_jid(bob), "away", "gone fishing")
    # A second resource logging in gets it from its server's probe too.
    phone = XmppUser(cluster.prosody, name=alice.name, register=False,
                     resource="phone")
    xmpp_presences(phone)  # listening before the server's probe answer
    await phone.connect()
    try:
        await wait_xmpp_presence(phone, puppet_jid(bob), "away",
                                 "gone fishing")
    finally:
        await phone.disconnect()


async def test_two_resources_are_one_person(cluster, gateway, alice, bob):
    await dm_with_presence(alice, bob)
    ghost = ghost_id(alice)
    alice.client.send_presence(pstatus="at my desk")
    await wait_matrix_presence(bob, ghost, "online", "at my desk")
    phone = XmppUser(cluster.prosody, name=alice.name, register=False,
                     resource="phone")
    await phone.connect()
    try:
        # The newest status wins; one resource online keeps her online.
        phone.client.send_presence(pshow="xa", pstatus="on the phone")
        await wait_matrix_presence(bob, ghost, "online", "on the phone")
    finally:
        await phone.disconnect()
    # The phone leaves: still online, with the desk's status again.
    await wait_matrix_presence(bob, ghost, "online", "at my desk")
    # The last resource going away makes her unavailable, then offline.
    alice.client.send_presence(pshow="away", pstatus="brb")
    await wait_matrix_presence(bob, ghost, "unavailable", "brb")
    alice.client.send_presence(ptype="unavailable", pstatus="bye")
    await wait_matrix_presence(bob, ghost, "offline", "bye")


async def test_bursts_are_coalesced(cluster, gateway, alice, bob):
    await dm_with_presence(alice, bob)
    ghost = ghost_id(alice)
    alice.client.send_presence(pstatus="ready")
    await wait_matrix_presence(bob, ghost, "online", "ready")

    # XMPP -> Matrix: 50 changes over 2.5 s, then a final state.
    before = scrape(gateway)
    for i in range(50):
        alice.client.send_presence(pshow="away" if i % 2 else "dnd",
                                   pstatus=f"burst {i}")
        await asyncio.sleep(0.05)
    alice.client.send_presence(pstatus="burst over")
    await wait_matrix_presence(bob, ghost, "online", "burst over")
    await asyncio.sleep(1.5)  # let a last coalesced update show itself
    sent = scrape(gateway)["isthmus_presence_to_matrix_total"] - \
        before["isthmus_presence_to_matrix_total"]
    assert 1 <= sent <= 6, f"{sent} presence updates for 51 changes"

    # Matrix -> XMPP: 50 changes by the Matrix user; alice counts what
    # arrives from bob's JID until the final state, and a little after.
    queue = xmpp_presences(alice)
    received = await matrix_storm(bob, queue,
                                  lambda p: p["from"].bare == puppet_jid(bob))
    assert len(received) <= 6, f"{len(received)} stanzas: {received}"


async def matrix_storm(bob, queue, match):
    """bob changes presence 50 times, then settles on "storm over"; returns
    what the XMPP side got (matching stanzas in queue) until 2 s after the
    final state arrived."""
    while not queue.empty():
        queue.get_nowait()
    for i in range(50):
        await bob.client.set_presence("unavailable" if i % 2 else "online",
                                      f"storm {i}")
    await bob.client.set_presence("online", "storm over")
    received = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    settled = None
    while loop.time() < (settled or deadline):
        try:
            p = await asyncio.wait_for(queue.get(), 0.2)
        except asyncio.TimeoutError:
            continue
        if not match(p):
            continue
        received.append((show_of(p), p["status"]))
        if p["status"] == "storm over" and settled is None:
            settled = loop.time() + 2
    assert ("", "storm over") in received, \
        f"the final state never arrived: {received}"
    return received


async def test_presence_in_a_gateway_room(cluster, gateway, alice):
    bob, carol = await matrix_pair(cluster)
    try:
        room_id, muc_jid = await make_room(bob, carol, "presence")
        await muc(alice).join_muc_wait(muc_jid, "alice", maxstanzas=0,
                                       timeout=30)
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(alice)
            and e.membership == "join", what="alice's ghost joining")
        occupants = muc_presences(alice)
        # Matrix -> XMPP: the member's occupant presence gets show/status.
        await bob.client.set_presence("unavailable", "coffee break")
        p = await wait_for(
            occupants, lambda p: p["from"] == f"{muc_jid}/Bob B"
            and p["show"] == "away" and p["status"] == "coffee break", 30,
            "Bob B away in the room")
        assert p["muc"]["role"] == "moderator"  # he made the room
        # XMPP -> Matrix: show and status sent to the room.
        alice.client.send_presence(pto=f"{muc_jid}/alice", pshow="dnd",
                                   pstatus="focus time")
        await wait_matrix_presence(bob, ghost_id(alice), "unavailable",
                                   "focus time")
        # A burst of 50 changes by a member: a bounded number of occupant
        # presences, the last one the final state.
        received = await matrix_storm(
            bob, occupants, lambda p: p["from"] == f"{muc_jid}/Bob B")
        assert len(received) <= 6, f"{len(received)} stanzas: {received}"
        # Someone joining later sees the members as they are, not all
        # available.
        await bob.client.set_presence("unavailable", "gone home")
        await wait_for(occupants, lambda p: p["from"] == f"{muc_jid}/Bob B"
                       and p["status"] == "gone home", 30,
                       "Bob B gone home")
        dave = await XmppUser(cluster.prosody).connect()
        try:
            _, _, present, _ = await muc(dave).join_muc_wait(
                muc_jid, "dave", maxstanzas=0, timeout=30)
            seen = {p["from"].resource: p for p in present}
            assert "Bob B" in seen, list(seen)
            assert seen["Bob B"]["show"] == "away"
            assert seen["Bob B"]["status"] == "gone home"
        finally:
            await dave.disconnect()
    finally:
        await bob.close()
        await carol.close()


async def test_presence_in_a_portal(cluster, gateway, alice):
    room, _ = await create_muc(alice, nick="alice")
    bob = await matrix_user(cluster, "Bob P")
    try:
        room_id = await join_portal(bob, room)
        await wait_occupant(alice, room, "Bob P")
        ghost = occupant_ghost(room, "alice")
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost and
            e.membership == "join", what="alice's ghost in the portal")
        # Matrix -> XMPP: the Matrix user's occupant shows away.
        await bob.client.set_presence("unavailable", "afk")
        await wait_for(
            muc_presences(alice),
            lambda p: p["from"] == f"{room}@{MUC}/Bob P"
            and p["show"] == "away" and p["status"] == "afk", 30,
            "Bob P away in the MUC")
        # XMPP -> Matrix: an occupant's show reaches its ghost.
        alice.client.send_presence(pto=f"{room}@{MUC}/alice", pshow="xa",
                                   pstatus="asleep")
        await wait_matrix_presence(bob, ghost, "unavailable", "asleep")
    finally:
        await bob.close()


async def test_names_cross_in_a_dm(cluster, gateway, alice, bob):
    room_id = await dm_with_presence(alice, bob)
    # Matrix -> XMPP: a new display name comes as a XEP-0172 nick.
    await bob.client.set_displayname("Robert the Builder")
    p = await wait_for(
        xmpp_presences(alice),
        lambda p: p["from"].bare == puppet_jid(bob) and
        p.xml.find(f"{{{NS_NICK}}}nick") is not None, 30,
        "a presence with bob's new nick")
    assert p.xml.find(f"{{{NS_NICK}}}nick").text == "Robert the Builder"
    # XMPP -> Matrix: a nick in her presence renames her ghost.
    pres = alice.client.make_presence(pstatus="renamed")
    pres.append(slixmpp.ET.fromstring(
        f"<nick xmlns='{NS_NICK}'>Alice Wonder</nick>"))
    pres.send()
    await bob.wait_member(
        lambda r, e: r == room_id and e.state_key == ghost_id(alice) and
        e.content.get("displayname") == "Alice Wonder",
        what="the ghost renamed to Alice Wonder")


# A 1x1 PNG: what it shows does not matter, that the bytes cross does.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5d9d6e8"
    "0000000049454e44ae426082")
NS_UPDATE = "vcard-temp:x:update"


async def test_avatars_cross_in_a_dm(cluster, gateway, alice, bob):
    import base64
    import hashlib
    import io

    from nio.responses import UploadResponse
    room_id = await dm_with_presence(alice, bob)
    # Matrix -> XMPP: the avatar's hash comes in a presence, the image in
    # the vCard of bob's JID.
    uploaded, _ = await bob.client.upload(io.BytesIO(PNG),
                                          content_type="image/png",
                                          filesize=len(PNG))
    assert isinstance(uploaded, UploadResponse), uploaded
    await bob.client.set_avatar(uploaded.content_uri)
    digest = hashlib.sha1(PNG).hexdigest()
    await wait_for(
        xmpp_presences(alice),
        lambda p: p["from"].bare == puppet_jid(bob) and
        p.xml.findtext(f"{{{NS_UPDATE}}}x/{{{NS_UPDATE}}}photo") == digest,
        30, "a presence from bob's JID with his avatar's hash")
    vcard = await alice.iq_get(puppet_jid(bob), "<vCard xmlns='vcard-temp'/>")
    photo = vcard.xml.find("{vcard-temp}vCard/{vcard-temp}PHOTO")
    assert photo is not None, vcard
    assert photo.findtext("{vcard-temp}TYPE") == "image/png"
    assert base64.b64decode(photo.findtext("{vcard-temp}BINVAL")) == PNG
    # XEP-0084: the component serves the avatar nodes for bob's JID.
    ps = "http://jabber.org/protocol/pubsub"
    meta = await alice.iq_get(
        puppet_jid(bob), f"<pubsub xmlns='{ps}'><items "
        "node='urn:xmpp:avatar:metadata'/></pubsub>")
    info = meta.xml.find(f"{{{ps}}}pubsub/{{{ps}}}items/{{{ps}}}item/"
                         "{urn:xmpp:avatar:metadata}metadata/"
                         "{urn:xmpp:avatar:metadata}info")
    assert info is not None, meta
    assert info.get("id") == digest and int(info.get("bytes")) == len(PNG)
    data = await alice.iq_get(
        puppet_jid(bob), f"<pubsub xmlns='{ps}'><items "
        "node='urn:xmpp:avatar:data'/></pubsub>")
    b64 = data.xml.findtext(f"{{{ps}}}pubsub/{{{ps}}}items/{{{ps}}}item/"
                            "{urn:xmpp:avatar:data}data")
    assert b64 and base64.b64decode(b64) == PNG, data

    # XMPP -> Matrix: alice publishes a photo in her vCard; the hash in
    # her presence makes her ghost show it.
    other = PNG[:-12] + b"\x00" * 4 + PNG[-8:]  # different bytes, same size
    alice.client.register_plugin("xep_0153")
    await alice.client.plugin["xep_0153"].set_avatar(avatar=other,
                                                     mtype="image/png")
    _, member = await bob.wait_member(
        lambda r, e: r == room_id and e.state_key == ghost_id(alice) and
        e.content.get("avatar_url"), what="alice's ghost getting an avatar")
    got = await bob.client.download(mxc=member.content["avatar_url"])
    assert getattr(got, "body", None) == other, got
    # The same hash again (any presence carries it) uploads nothing new.
    alice.client.send_presence(pstatus="same face")
    await wait_matrix_presence(bob, ghost_id(alice), "online", "same face")
    log = gateway.log_text()[gateway.mark:]
    assert log.count(f"{ghost_id(alice)} shows photo") == 1, \
        "the ghost's photo was uploaded more than once"


async def test_avatars_cross_in_a_gateway_room(cluster, gateway, alice):
    import base64
    import hashlib
    import io

    bob, carol = await matrix_pair(cluster)
    try:
        room_id, muc_jid = await make_room(bob, carol, "faces")
        await muc(alice).join_muc_wait(muc_jid, "alice", maxstanzas=0,
                                       timeout=30)
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(alice)
            and e.membership == "join", what="alice's ghost joining")
        # Matrix -> XMPP: the member's occupant presence carries the hash,
        # and the occupant JID serves the vCard with the photo.
        uploaded, _ = await bob.client.upload(io.BytesIO(PNG),
                                              content_type="image/png",
                                              filesize=len(PNG))
        await bob.client.set_avatar(uploaded.content_uri)
        digest = hashlib.sha1(PNG).hexdigest()
        await wait_for(
            muc_presences(alice),
            lambda p: p["from"] == f"{muc_jid}/Bob B" and
            p.xml.findtext(f"{{{NS_UPDATE}}}x/{{{NS_UPDATE}}}photo") ==
            digest, 30, "Bob B's occupant presence with his avatar's hash")
        vcard = await alice.iq_get(f"{muc_jid}/Bob B",
                                   "<vCard xmlns='vcard-temp'/>")
        binval = vcard.xml.findtext(
            "{vcard-temp}vCard/{vcard-temp}PHOTO/{vcard-temp}BINVAL")
        assert binval and base64.b64decode(binval) == PNG, vcard

        # XMPP -> Matrix: her new photo becomes her ghost's avatar.
        other = PNG[:-12] + b"\x01" * 4 + PNG[-8:]
        alice.client.register_plugin("xep_0153")
        await alice.client.plugin["xep_0153"].set_avatar(avatar=other,
                                                         mtype="image/png")
        # Clients tell their rooms themselves (servers do not pass
        # broadcast presence on to MUCs); slixmpp adds the new hash.
        alice.client.send_presence(pto=f"{muc_jid}/alice")
        # The homeserver copies her global name into the room with the
        # avatar; the gateway puts her MUC nick back.
        _, member = await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(alice)
            and e.content.get("avatar_url") and
            e.content.get("displayname") == "alice",
            what="alice's ghost with an avatar, still called alice")
        got = await bob.client.download(mxc=member.content["avatar_url"])
        assert getattr(got, "body", None) == other, got
    finally:
        await bob.close()
        await carol.close()


async def test_names_cross_in_a_portal(cluster, gateway, alice):
    room, _ = await create_muc(alice, nick="alice")
    bob = await matrix_user(cluster, "Bob N")
    try:
        room_id = await join_portal(bob, room)
        await wait_occupant(alice, room, "Bob N")
        # Matrix -> XMPP: a new display name is a nick change in the MUC.
        await bob.client.set_displayname("Bobby N")
        await wait_occupant(alice, room, "Bobby N",
                            what="Bob's occupant under his new name")
        # XMPP -> Matrix: a new nick names the occupant's ghost.
        alice.client.send_presence(pto=f"{room}@{MUC}/Alicia")
        await bob.wait_member(
            lambda r, e: r == room_id and
            e.state_key == occupant_ghost(room, "Alicia") and
            e.membership == "join" and
            e.content.get("displayname") == "Alicia",
            what="alice's occupant named Alicia on Matrix")
    finally:
        await bob.close()
