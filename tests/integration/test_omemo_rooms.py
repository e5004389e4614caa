"""OMEMO in gateway-mode rooms: an invite-only, Megolm-encrypted Matrix room
that XMPP users with OMEMO join as a MUC, the component playing the MUC
service.

What the tests prove:
- the room presents itself as MUC OMEMO clients require before they
  encrypt (members-only and non-anonymous in disco#info, a public room
  open), and answers the muc#admin member, admin and owner lists with each
  member's real JID (Matrix users by their puppet JID, XMPP users by their
  own), to occupants only;
- an OMEMO groupchat message from an XMPP occupant, legacy or OMEMO 2,
  encrypted for every member's real JID, reaches Matrix Megolm-encrypted
  from the sender's ghost, while the other XMPP occupants get the very
  ciphertext the sender wrote (from room/nick, with the Matrix event id as
  stanza-id) and decrypt it with their own sessions, and the sender gets
  its reflection under the id it sent; nobody on XMPP gets its text in
  clear;
- a Matrix member's message reaches each OMEMO occupant encrypted by that
  member's puppet (OMEMO 2 where the device runs it, else legacy), an
  occupant without OMEMO in clear;
- corrections and replies cross both ways: in clear next to a legacy
  OMEMO body, inside the SCE envelope with OMEMO 2;
- files: an aesgcm:// file (XEP-0454) from an OMEMO occupant reaches
  Matrix as an encrypted file, a Matrix file reaches OMEMO occupants as an
  aesgcm:// link inside the OMEMO message;
- an occupant's second device (same nick) reads what the first wrote, as
  the room's original stanza, and gets Matrix messages encrypted too,
  whether it was online when its user joined or came in later;
- a Matrix user who joins later is encrypted for at once, and is in the
  member list the XMPP side encrypts for;
- reactions and retractions inside OMEMO 2's envelope reach Matrix as
  such, and the other occupants as their sender wrote them;
- the room's archive (MAM) does not hand out an OMEMO text in clear;
- none of the texts is at rest in Synapse's database, the gateway's store
  or Prosody's data.

The Matrix users are matrix-nio clients with encryption on; the XMPP
users slixmpp with the OMEMO peer of omemo_peer.py (lena: legacy only;
kai: OMEMO 2 first, legacy too, so that both can read each other), and pat,
a plain client without OMEMO."""

import asyncio
import contextlib
import os
import re
import types

import pytest
from slixmpp.exceptions import IqError

from harness import COMPONENT, DOMAIN
from omemo_peer import FALLBACK, LEGACY, MUC_ADMIN, V2, OmemoXmppUser
from peers import MEGOLM, XmppUser, unique, wait_for, wait_true
from test_dm import ghost_id, puppet_jid
from test_e2ee import assert_encrypted_on_server, e2ee_user
from test_omemo import aesgcm_fetch_url, assert_not_at_rest, https_files, \
    open_aesgcm  # noqa: F401 (https_files: a fixture)
from test_rich import NS_CORRECT, NS_REPLY, NS_FALLBACK, stanza_id

# slixmpp-omemo 2.2.0 reaches plugins the way slixmpp 1.17 deprecates.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Accessing plugins through the XMPP object:DeprecationWarning")

DISCO_INFO = "http://jabber.org/protocol/disco#info"


def record(user):
    """Every message stanza user receives from now on, as text."""
    seen = []
    user.client.add_event_handler("message", lambda m: seen.append(str(m)))
    return seen


def session_logged(gateway, since, puppet, user, device):
    """True once isthmus logged a session of puppet with user's device."""
    return re.search(
        rf"omemo: {re.escape(puppet)} has an OMEMO( 2)? session with "
        rf"device {device} of {re.escape(user)}\b",
        gateway.log_text()[since:]) is not None


async def knows_devices(member, mxids, timeout=30):
    """Until member's client knows a device of each of mxids, asking the
    homeserver again while it does not: nio takes the device lists of the
    users a new room invites as current, and may send its first message
    to the ghosts (whose devices are made when they join) with none of
    theirs, so that no ghost gets the room key."""
    olm = member.client.olm

    def missing():
        return [m for m in mxids
                if not list(olm.device_store.active_user_devices(m))]
    deadline = asyncio.get_running_loop().time() + timeout
    while missing():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{member.name}'s client never learnt a "
                                 f"device of {missing()}")
        olm.users_for_key_query.update(missing())
        await member.client.keys_query()
        await asyncio.sleep(0.1)


async def second_device(cluster, user):
    return await OmemoXmppUser(cluster.prosody, user.name, resource="laptop",
                               register=False, versions="legacy").connect()


@contextlib.asynccontextmanager
async def omemo_room(cluster, gateway, tmp_path, laptop=False):
    """bob (the creator: owner) makes an invite-only room, encrypted from its
    creation, inviting carol (power 50) and the ghosts of lena (legacy
    OMEMO), kai (OMEMO 2) and pat (no OMEMO); carol joins on Matrix, the
    others as a MUC (laptop "early" or "late": lena's second device too,
    r.laptop, with the same nick, online before the room is made or only
    after everyone joined). Yields once the gateway has OMEMO sessions
    between both puppets and every OMEMO device, and the OMEMO clients see
    every occupant's real JID."""
    from nio import RoomPreset
    from nio.responses import RoomCreateResponse
    r = types.SimpleNamespace()
    mark = len(gateway.log_text())
    users = []
    try:
        r.bob = await e2ee_user(cluster, tmp_path, unique("bob"))
        users.append(r.bob)
        r.carol = await e2ee_user(cluster, tmp_path, unique("carol"))
        users.append(r.carol)
        r.lena = await OmemoXmppUser(cluster.prosody, unique("lena"),
                                     versions="legacy").connect()
        users.append(r.lena)
        r.laptop = None
        if laptop == "early":
            r.laptop = await second_device(cluster, r.lena)
            users.append(r.laptop)
        r.kai = await OmemoXmppUser(cluster.prosody, unique("kai"),
                                    versions=("v2", "legacy")).connect()
        users.append(r.kai)
        r.pat = await XmppUser(cluster.prosody, unique("pat")).connect()
        users.append(r.pat)
        r.xmpp = (r.lena, r.kai, r.pat)
        r.seen = {u.name: record(u) for u in r.xmpp}
        alias = unique("omemoclub")
        resp = await r.bob.client.room_create(
            alias=alias, name="OMEMO club", preset=RoomPreset.private_chat,
            invite=[r.carol.user_id] + [ghost_id(u) for u in r.xmpp],
            initial_state=[{"type": "m.room.encryption", "state_key": "",
                            "content": {"algorithm": MEGOLM}}],
            # (bob, the creator, is above every level in room version
            # 12 and must not be listed.)
            power_level_override={"users": {r.carol.user_id: 50}})
        assert isinstance(resp, RoomCreateResponse), resp
        r.room_id = resp.room_id
        r.muc = f"#{alias}%{DOMAIN}@{COMPONENT}"
        await r.carol.join(r.room_id)
        for user in r.xmpp:
            if isinstance(user, OmemoXmppUser):
                await user.join_room(r.muc, user.name)
            else:
                user.client.register_plugin("xep_0045")
                await user.client.plugin["xep_0045"].join_muc_wait(
                    r.muc, user.name, maxstanzas=0, timeout=30)
            await r.bob.wait_member(
                lambda rid, e: rid == r.room_id and
                e.state_key == ghost_id(user) and e.membership == "join",
                what=f"{user.name}'s ghost joining the room")
        if laptop == "late":
            r.laptop = await second_device(cluster, r.lena)
            users.append(r.laptop)
        if r.laptop:
            await r.laptop.join_room(r.muc, r.lena.name)
        r.puppets = [puppet_jid(r.bob), puppet_jid(r.carol)]
        for user in filter(None, (r.lena, r.kai, r.laptop)):
            others = {*r.puppets, *(u.jid for u in r.xmpp)} - {user.jid}
            await wait_true(
                lambda: set(user.occupant_jids(r.muc)) == others, 30,
                f"{user.full_jid} to see every occupant's real JID "
                f"({sorted(others)})")
            for puppet in r.puppets:
                await wait_true(
                    lambda: session_logged(gateway, mark, puppet, user.jid,
                                           user.own_device_id), 30,
                    f"the gateway's OMEMO session of {puppet} with "
                    f"{user.name}'s device {user.own_device_id}")
        # Each occupant's nick by real JID: the puppets' as the room
        # shows them, the XMPP users' as they joined.
        r.nicks = {jid: nick for nick, jid in r.lena.occupants(r.muc).items()
                   if jid in r.puppets}
        r.nicks.update((u.jid, u.name) for u in r.xmpp)
        for member in (r.bob, r.carol):
            await knows_devices(member, [ghost_id(u) for u in r.xmpp])
        yield r
    finally:
        for user in reversed(users):
            await (user.close() if hasattr(user, "close")
                   else user.disconnect())


def features(iq):
    return {f.get("var") for f in iq.xml.iter(f"{{{DISCO_INFO}}}feature")}


async def affiliation_list(user, room, affiliation):
    """{(real JID, nick)} of the muc#admin list of that affiliation."""
    iq = await user.iq_get(
        room, f"<query xmlns='{MUC_ADMIN}'>"
              f"<item affiliation='{affiliation}'/></query>")
    items = list(iq.xml.iter(f"{{{MUC_ADMIN}}}item"))
    assert all(i.get("affiliation") == affiliation for i in items), \
        [dict(i.attrib) for i in items]
    return {(i.get("jid"), i.get("nick")) for i in items}


async def test_an_invite_only_room_presents_itself_for_omemo(
        cluster, gateway, alice, tmp_path):
    """What a MUC OMEMO client checks before it encrypts, and the member
    lists it reads to know whom to encrypt for; alice, not in the room,
    may not read them."""
    async with omemo_room(cluster, gateway, tmp_path) as r:
        info = features(await r.lena.iq_get(
            r.muc, f"<query xmlns='{DISCO_INFO}'/>"))
        assert {"muc_membersonly", "muc_nonanonymous"} <= info, info
        assert "muc_open" not in info, info

        # The lists a MUC OMEMO client reads to know whom to encrypt for.
        nick = r.nicks
        want = {
            "owner": {(puppet_jid(r.bob), nick[puppet_jid(r.bob)])},
            "admin": {(puppet_jid(r.carol), nick[puppet_jid(r.carol)])},
            "member": {(u.jid, nick[u.jid]) for u in r.xmpp},
        }
        for asker in (r.lena, r.pat):
            for affiliation, members in want.items():
                got = await affiliation_list(asker, r.muc, affiliation)
                assert got == members, (asker.name, affiliation, got)

        # Someone not in the room gets nothing.
        for affiliation in want:
            with pytest.raises(IqError) as refused:
                await affiliation_list(alice, r.muc, affiliation)
            assert refused.value.condition == "forbidden", \
                refused.value.iq

        # A public room is open, not members-only.
        public = unique("openclub")
        await r.bob.create_encrypted_room(public)
        open_muc = f"#{public}%{DOMAIN}@{COMPONENT}"
        await r.lena.join_room(open_muc, r.lena.name)
        info = features(await r.lena.iq_get(
            open_muc, f"<query xmlns='{DISCO_INFO}'/>"))
        assert {"muc_open", "muc_nonanonymous"} <= info, info
        assert "muc_membersonly" not in info, info


async def from_matrix(r, sender, body):
    """sender says body on Matrix: lena gets it as legacy OMEMO, kai as
    OMEMO 2, from room/nick and encrypted by sender's puppet; pat in
    clear. Returns (event id, lena's message, kai's message)."""
    puppet = puppet_jid(sender)
    event_id = await sender.send(r.room_id, body)
    occupant = f"{r.muc}/{r.nicks[puppet]}"
    got = {}
    for user, ns in ((r.lena, LEGACY), (r.kai, V2)):
        msg = await user.wait_encrypted(
            lambda m: m.body == body,
            what=f"{sender.name}'s message, OMEMO-encrypted, on {user.name}")
        assert msg.namespace == ns, msg
        assert msg.sender == occupant and msg.real_jid == puppet
        assert msg.id == event_id and stanza_id(msg.stanza) == event_id
        assert msg.device_id in await user.device_ids(puppet, ns)
        assert body not in str(msg.stanza)
        got[user.name] = msg
    plain = await r.pat.wait_message(
        lambda m: m["type"] == "groupchat" and m["body"] == body,
        what=f"{sender.name}'s message in clear on pat (no OMEMO)")
    assert plain["from"] == occupant
    return event_id, got[r.lena.name], got[r.kai.name]


def payloads(stanza):
    """{namespace: payload text} of an OMEMO stanza (an ET element)."""
    out = {}
    for ns in (LEGACY, V2):
        p = stanza.find(f"{{{ns}}}encrypted/{{{ns}}}payload")
        if p is not None:
            out[ns] = p.text
    return out


async def recipients(r, sender):
    """Whom sender encrypts for, as Conversations does in a members-only,
    non-anonymous room: every member in the room's muc#admin lists. pat
    has no OMEMO: a real client would refuse to encrypt; the test leaves
    him out."""
    jids = await sender.member_jids(r.muc)
    reader = r.kai if sender is r.lena else r.lena
    assert set(jids) == {*r.puppets, reader.jid, r.pat.jid}, jids
    return [j for j in jids if j != r.pat.jid]


async def from_xmpp(r, sender, body, version, **kw):
    """sender says body in the room with OMEMO, encrypted for every
    member's real JID: both Matrix members read it Megolm-encrypted from
    sender's ghost; the other OMEMO occupant decrypts the very stanza
    sender wrote; sender gets it reflected under its id; pat only the
    fallback. Returns (message id, the Matrix event, the reader's
    OmemoMessage)."""
    reader = r.kai if sender is r.lena else r.lena
    msg_id = await sender.send_encrypted(r.muc, body, version=version,
                                         mtype="groupchat",
                                         recipients=await recipients(
                                             r, sender), **kw)
    assert not sender.last_encryption_errors, sender.last_encryption_errors
    events = {}
    for member in (r.bob, r.carol):
        _, ev = await member.wait_message(
            lambda rid, e: rid == r.room_id and e.body == body,
            what=f"{sender.name}'s OMEMO message, on {member.name}'s "
                 "Matrix client")
        assert ev.decrypted and ev.sender == ghost_id(sender), ev
        events[member.name] = ev
    event = events[r.bob.name]
    assert events[r.carol.name].event_id == event.event_id
    await assert_encrypted_on_server(r.bob, r.room_id, event.event_id)

    occupant = f"{r.muc}/{r.nicks[sender.jid]}"
    got = await reader.wait_encrypted(
        lambda m: m.body == body,
        what=f"{sender.name}'s OMEMO message on {reader.name}, decrypted "
             f"with {reader.name}'s own session with {sender.name}")
    assert got.sender == occupant and got.real_jid == sender.jid, got
    assert not got.reflected and got.device_id == sender.own_device_id
    assert got.id == msg_id
    assert stanza_id(got.stanza) == event.event_id
    sent = sender.sent_stanza(msg_id)
    assert payloads(sent), sent
    assert payloads(got.stanza.xml) == payloads(sent), \
        "the room did not pass on the ciphertext the sender wrote"

    echo = await sender.wait_encrypted(
        lambda m: m.reflected and m.id == msg_id,
        what=f"the room's reflection of {sender.name}'s message, with the "
             "id it was sent with")
    assert echo.sender == occupant and echo.body == body
    assert stanza_id(echo.stanza) == event.event_id
    assert payloads(echo.stanza.xml) == payloads(sent)

    fallback = await r.pat.wait_message(
        lambda m: m["type"] == "groupchat" and m["from"] == occupant,
        what=f"{sender.name}'s OMEMO message on pat, who has no OMEMO")
    assert fallback["body"] == FALLBACK, fallback
    return msg_id, event, got


def edit_of(event):
    content = event.source.get("content", {})
    rel = content.get("m.relates_to", {})
    if rel.get("rel_type") != "m.replace":
        return None
    return rel.get("event_id"), content.get("m.new_content", {}).get("body")


def in_reply_to(event):
    rel = event.source.get("content", {}).get("m.relates_to", {})
    return rel.get("m.in_reply_to", {}).get("event_id")


async def test_omemo_in_an_encrypted_gateway_room_both_ways(
        cluster, gateway, tmp_path):
    async with omemo_room(cluster, gateway, tmp_path) as r:
        before = gateway.metrics()
        # The real JIDs the room shows are those to encrypt for: the
        # puppets' and the XMPP users' own.
        assert set(r.lena.occupant_jids(r.muc)) == \
            {*r.puppets, r.kai.jid, r.pat.jid}

        # Matrix first: the puppets' sessions were made as lena and kai
        # joined.
        m2x = unique("m2x-room-canary-")
        bob_first, _, kai_saw_bob = await from_matrix(
            r, r.bob, f"bob says {m2x}")

        # Legacy OMEMO from lena, then OMEMO 2 from kai (legacy for lena).
        x2m_lena = unique("x2m-legacy-canary-")
        lena_first, lena_event, _ = await from_xmpp(
            r, r.lena, f"lena says {x2m_lena}", "legacy")
        x2m_kai = unique("x2m-v2-canary-")
        kai_first, kai_event, lena_saw_kai = await from_xmpp(
            r, r.kai, f"kai says {x2m_kai}", "auto")
        assert lena_saw_kai.namespace == LEGACY

        # carol, whose puppet lena and kai both wrote to first.
        m2x_carol = unique("m2x-carol-canary-")
        await from_matrix(r, r.carol, f"carol says {m2x_carol}")

        # lena's correction, in clear next to her legacy OMEMO body.
        fixed = f"lena said {x2m_lena}"
        await r.lena.send_encrypted(
            r.muc, fixed, version="legacy", mtype="groupchat",
            recipients=await recipients(r, r.lena),
            extra=[f"<replace xmlns='{NS_CORRECT}' id='{lena_first}'/>"])
        _, edit = await r.bob.wait_message(
            lambda rid, e: rid == r.room_id and edit_of(e) is not None and
            edit_of(e)[1] == fixed, what="lena's correction as an edit")
        assert edit_of(edit)[0] == lena_event.event_id and edit.decrypted
        got = await r.kai.wait_encrypted(lambda m: m.body == fixed,
                                         what="lena's correction on kai")
        assert got.element(f"{{{NS_CORRECT}}}replace").get("id") == \
            lena_first

        # kai's reply to bob and his correction, inside the envelope.
        quote = f"> bob says {m2x}\n"
        answer = f"{quote}kai answers"
        quoted = stanza_id(kai_saw_bob.stanza)
        reply_id = await r.kai.send_encrypted(
            r.muc, answer, version="auto", mtype="groupchat",
            recipients=await recipients(r, r.kai), encrypted_extra=[
                f"<reply xmlns='{NS_REPLY}' id='{quoted}'"
                f" to='{kai_saw_bob.sender}'/>",
                f"<fallback xmlns='{NS_FALLBACK}' for='{NS_REPLY}'>"
                f"<body start='0' end='{len(quote)}'/></fallback>"])
        sent = r.kai.sent_stanza(reply_id)
        assert sent.find(f"{{{NS_REPLY}}}reply") is None
        _, reply = await r.bob.wait_message(
            lambda rid, e: rid == r.room_id and in_reply_to(e) is not None,
            what="kai's encrypted reply as a Matrix reply")
        assert in_reply_to(reply) == bob_first and reply.decrypted
        assert reply.body == "kai answers"
        kai_fixed = f"kai said {x2m_kai}"
        await r.kai.send_encrypted(
            r.muc, kai_fixed, version="auto", mtype="groupchat",
            recipients=await recipients(r, r.kai), encrypted_extra=[
                f"<replace xmlns='{NS_CORRECT}' id='{kai_first}'/>"])
        _, edit = await r.bob.wait_message(
            lambda rid, e: rid == r.room_id and edit_of(e) is not None and
            edit_of(e)[1] == kai_fixed,
            what="kai's correction, from inside the envelope, as an edit")
        assert edit_of(edit)[0] == kai_event.event_id

        # bob's edit and reply: in clear around lena's legacy body, inside
        # kai's envelope.
        await r.bob.send(r.room_id, None, content={
            "msgtype": "m.text", "body": f"* bob fixed {m2x}",
            "m.new_content": {"msgtype": "m.text",
                              "body": f"bob fixed {m2x}"},
            "m.relates_to": {"rel_type": "m.replace",
                             "event_id": bob_first}})
        await r.bob.send(r.room_id, None, content={
            "msgtype": "m.text", "body": "bob answers kai",
            "m.relates_to": {"m.in_reply_to": {
                "event_id": kai_event.event_id}}})
        for user in (r.lena, r.kai):
            edit = await user.wait_encrypted(
                lambda m: m.body == f"bob fixed {m2x}",
                what=f"bob's edit as an OMEMO correction on {user.name}")
            assert edit.element(f"{{{NS_CORRECT}}}replace").get("id") == \
                bob_first
            answer = await user.wait_encrypted(
                lambda m: (m.body or "").endswith("bob answers kai"),
                what=f"bob's reply as an OMEMO reply on {user.name}")
            ref = answer.element(f"{{{NS_REPLY}}}reply")
            assert ref is not None and ref.get("id") == \
                kai_event.event_id, answer.content
            clear = (edit.stanza.xml.find(f"{{{NS_CORRECT}}}replace"),
                     answer.stanza.xml.find(f"{{{NS_REPLY}}}reply"))
            if user is r.kai:
                assert clear == (None, None), \
                    "OMEMO 2 left a correction or reply in clear"
            else:
                assert None not in clear

        # Nothing of the XMPP side's words reached an XMPP client in
        # clear, nor Matrix's words an OMEMO one; and none is at rest.
        for user in r.xmpp:
            for text in r.seen[user.name]:
                assert x2m_lena not in text and x2m_kai not in text, \
                    (user.name, text)
                if user is not r.pat:
                    assert m2x not in text and m2x_carol not in text, \
                        (user.name, text)
        assert r.lena.plain.empty() and r.kai.plain.empty()
        after = gateway.metrics()
        assert after["isthmus_omemo_messages_decrypted_total"] >= \
            before.get("isthmus_omemo_messages_decrypted_total", 0) + 5
        assert after["isthmus_omemo_messages_encrypted_total"] >= \
            before.get("isthmus_omemo_messages_encrypted_total", 0) + 4
        assert_not_at_rest(cluster, m2x, m2x_carol, x2m_lena, x2m_kai)


LEGACY_NS = "eu.siacs.conversations.axolotl"
V2_NS = "urn:xmpp:omemo:2"


async def test_the_rooms_archive_does_not_open_omemo_messages(
        cluster, gateway, tmp_path):
    """The room's archive (MAM, which the gateway reads from Matrix, where
    it can decrypt) must not hand out in clear what an XMPP user wrote
    with OMEMO: not to an occupant without OMEMO, nor to one with it (a
    placeholder says why). A Matrix member's encrypted words come back
    OMEMO-encrypted to an occupant with OMEMO, in clear to one without,
    as they did live."""
    import xml.etree.ElementTree as ET
    from test_mam import scroll_back
    async with omemo_room(cluster, gateway, tmp_path) as r:
        await from_matrix(r, r.bob, "before the secret")
        secret = unique("archived-canary-")
        await from_xmpp(r, r.lena, f"lena says {secret}", "legacy")
        await from_matrix(r, r.bob, "after the secret")
        for user in r.xmpp:
            results, _ = await scroll_back(user, r.muc, max=10)
            texts = [ET.tostring(m, encoding="unicode") for _, m in results]
            assert any("end-to-end encrypted on XMPP" in t for t in texts), \
                (user.name, texts)
            if user is r.pat:
                assert any("after the secret" in t for t in texts), \
                    (user.name, texts)
            else:
                assert not any("after the secret" in t for t in texts), \
                    (user.name, texts)
                sealed = [t for t in texts if LEGACY_NS in t or V2_NS in t]
                assert len(sealed) >= 2, (user.name, texts)
            leaked = [t for t in texts if secret in t]
            assert not leaked, \
                f"lena's OMEMO text, in clear in {user.name}'s MAM " \
                f"results: {leaked}"


async def test_a_member_who_joins_later_is_encrypted_for_both_ways(
        cluster, gateway, tmp_path):
    """dave joins on Matrix after lena and kai are in: his first word
    reaches them encrypted by his puppet, and the member list lena
    encrypts for names him, so that he reads her next message."""
    async with omemo_room(cluster, gateway, tmp_path) as r:
        dave = await e2ee_user(cluster, tmp_path, unique("dave"))
        try:
            await r.bob.client.room_invite(r.room_id, dave.user_id)
            await dave.join(r.room_id)
            puppet = puppet_jid(dave)
            await wait_true(lambda: puppet in r.lena.occupant_jids(r.muc),
                            30, "dave's occupant presence on lena's side")
            late = unique("latecomer-canary-")
            await dave.send(r.room_id, f"dave says {late}")
            for user, ns in ((r.lena, LEGACY), (r.kai, V2)):
                got = await user.wait_encrypted(
                    lambda m: m.body == f"dave says {late}",
                    what=f"dave's first word, OMEMO-encrypted, on "
                         f"{user.name}")
                assert got.namespace == ns and got.real_jid == puppet
            members = await r.lena.member_jids(r.muc)
            assert set(members) == {*r.puppets, puppet, r.kai.jid,
                                    r.pat.jid}, members
            answer = unique("welcome-canary-")
            await r.lena.send_encrypted(
                r.muc, f"welcome {answer}", version="legacy",
                mtype="groupchat",
                recipients=[m for m in members if m != r.pat.jid])
            _, ev = await dave.wait_message(
                lambda rid, e: rid == r.room_id and
                e.body == f"welcome {answer}",
                what="lena's OMEMO answer on dave's Matrix client")
            assert ev.decrypted and ev.sender == ghost_id(r.lena)
            await r.kai.wait_encrypted(
                lambda m: m.body == f"welcome {answer}",
                what="lena's answer on kai")
            assert r.lena.plain.empty() and r.kai.plain.empty()
            assert_not_at_rest(cluster, late, answer)
        finally:
            await dave.close()


@pytest.mark.parametrize("laptop", ["early", "late"])
async def test_an_occupants_other_device_reads_both_ways(
        cluster, gateway, tmp_path, laptop):
    """lena in the room from her phone and her laptop, under one nick: what
    she writes from the phone, encrypted for her laptop too, reaches the
    laptop as the room's original stanza, which it decrypts (the phone
    gets its reflection); bob's message reaches both devices encrypted.
    The laptop is online before the room is made ("early": the gateway
    reads both devices when lena joins) or comes in after everyone
    ("late": its joining the room must make the gateway meet it)."""
    async with omemo_room(cluster, gateway, tmp_path, laptop=laptop) as r:
        said = unique("two-devices-canary-")
        msg_id, event, _ = await from_xmpp(r, r.lena, f"phone: {said}",
                                           "legacy")
        got = await r.laptop.wait_encrypted(
            lambda m: m.body == f"phone: {said}",
            what="the phone's message, decrypted on lena's laptop")
        assert not got.reflected and got.id == msg_id
        assert got.real_jid == r.lena.jid
        assert got.device_id == r.lena.own_device_id
        assert stanza_id(got.stanza) == event.event_id
        assert payloads(got.stanza.xml) == \
            payloads(r.lena.sent_stanza(msg_id))

        back = unique("to-both-canary-")
        event_id = await r.bob.send(r.room_id, f"bob: {back}")
        for device in (r.lena, r.laptop):
            got = await device.wait_encrypted(
                lambda m: m.body == f"bob: {back}",
                what=f"bob's message, OMEMO-encrypted, on {device.full_jid}")
            assert got.real_jid == puppet_jid(r.bob)
            assert got.id == event_id
        assert r.lena.plain.empty() and r.laptop.plain.empty()
        assert_not_at_rest(cluster, said, back)


async def test_files_in_an_omemo_room(cluster, gateway, https_files,
                                      tmp_path):
    """lena's and kai's aesgcm:// files (what Conversations and Dino
    upload) reach Matrix as encrypted files; bob's encrypted file reaches
    both as an aesgcm:// link inside the OMEMO message, pat (no OMEMO) as
    a link in clear."""
    import hashlib
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from nio.crypto.attachments import decrypt_attachment
    from test_e2ee_rooms import send_encrypted_file
    from test_media import hs_download, http_get, oob_url, png
    host, root = https_files
    async with omemo_room(cluster, gateway, tmp_path) as r:
        keys = []
        for sender, version, (w, h) in ((r.lena, "legacy", (4, 3)),
                                        (r.kai, "v2", (2, 5))):
            image = png(w, h)
            key, iv = os.urandom(32), os.urandom(12)
            keys.append(key.hex())
            name = f"{sender.name}.png"
            (root / name).write_bytes(AESGCM(key).encrypt(iv, image, None))
            link = f"aesgcm://{host}/{name}#{iv.hex()}{key.hex()}"
            reader = r.kai if sender is r.lena else r.lena
            await sender.send_encrypted(
                r.muc, link, version="auto" if version == "v2" else version,
                mtype="groupchat",
                recipients=await recipients(r, sender))
            _, ev = await r.bob.wait_file(
                lambda rid, e: rid == r.room_id and
                e.sender == ghost_id(sender),
                what=f"{sender.name}'s {version} OMEMO file as an "
                     "encrypted file on Matrix")
            content = ev.source["content"]
            assert content["msgtype"] == "m.image", content
            assert content["info"]["w"] == w and content["info"]["h"] == h
            assert "url" not in content and key.hex() not in str(content)
            cipher = await hs_download(cluster.synapse.url, r.bob, ev.url)
            assert image not in cipher
            assert decrypt_attachment(cipher, ev.key["k"],
                                      ev.hashes["sha256"], ev.iv) == image
            await assert_encrypted_on_server(r.bob, r.room_id, ev.event_id)
            # The other OMEMO occupant reads the link as the sender wrote
            # it.
            await reader.wait_encrypted(
                lambda m: m.body == link,
                what=f"{sender.name}'s file link on {reader.name}")

        data = os.urandom(3000)
        await send_encrypted_file(r.bob, cluster, r.room_id, data,
                                  "notes.bin", "application/octet-stream")
        for user in (r.lena, r.kai):
            got = await user.wait_encrypted(
                lambda m: "aesgcm://" in (m.body or "") and
                "notes.bin" in m.body,
                what=f"bob's encrypted file as an aesgcm:// link on "
                     f"{user.name}")
            raw = str(got.stanza)
            assert "_isthmus" not in raw and "jabber:x:oob" not in raw, raw
            link = re.search(r"aesgcm://\S+", got.body).group(0)
            status, _, body = await http_get(aesgcm_fetch_url(link))
            assert status == 200
            assert hashlib.sha256(open_aesgcm(link, body)).digest() == \
                hashlib.sha256(data).digest()
        plain = await r.pat.wait_message(
            lambda m: m["type"] == "groupchat" and oob_url(m) is not None
            and "notes.bin" in oob_url(m),
            what="bob's file, a link in clear, on pat (no OMEMO)")
        status, _, body = await http_get(oob_url(plain))
        assert (status, body) == (200, data)
        assert r.lena.plain.empty() and r.kai.plain.empty()
        # The XMPP users' file keys never left OMEMO: not in clear on
        # XMPP, not at rest.
        for user in r.xmpp:
            assert not [t for t in r.seen[user.name]
                        for k in keys if k in t], user.name
        assert_not_at_rest(cluster, *keys)


async def test_reactions_and_retractions_in_an_omemo_room(
        cluster, gateway, tmp_path):
    """kai reacts to bob's message and retracts his own, both inside OMEMO
    2's envelope: bob sees a reaction and a redaction from kai's ghost;
    the room passes both on to lena as kai wrote them, nothing in clear.
    bob's reaction and his redaction reach kai inside OMEMO 2's envelope
    too, from bob's puppet."""
    from nio import ReactionEvent, RedactionEvent
    async with omemo_room(cluster, gateway, tmp_path) as r:
        events = asyncio.Queue()

        async def on_event(room, event):
            await events.put(event)
        r.bob.client.add_event_callback(on_event,
                                        (ReactionEvent, RedactionEvent))
        event_id, _, _ = await from_matrix(r, r.bob, "react to this")
        # OMEMO 2 only, so not for lena's legacy device: the room passes
        # it on to her all the same, as a MUC passes on any message. (With
        # the usual fallback body: slixmpp reports no message without.)
        v2_readers = [j for j in await recipients(r, r.kai)
                      if j != r.lena.jid]
        react_id = await r.kai.send_encrypted(
            r.muc, None, version="v2", mtype="groupchat",
            recipients=v2_readers,
            encrypted_extra=[f"<reactions xmlns='urn:xmpp:reactions:0' "
                             f"id='{event_id}'><reaction>🔒</reaction>"
                             "</reactions>"])
        reaction = await wait_for(
            events, lambda e: isinstance(e, ReactionEvent), 20,
            "kai's reaction on Matrix")
        assert reaction.reacts_to == event_id and reaction.key == "🔒"
        assert reaction.sender == ghost_id(r.kai)
        await wait_true(
            lambda: any(react_id in t and V2 in t and "reaction>" not in t
                        for t in r.seen[r.lena.name]), 20,
            "kai's reaction passed on to lena, still encrypted")

        _, kai_event, _ = await from_xmpp(r, r.kai, "soon gone", "auto")
        # Matrix -> XMPP: bob's reaction to kai's message (and, below, bob
        # taking his own first message back); kai's device runs OMEMO 2,
        # so both travel inside the envelope.
        await r.bob.send_encrypted(r.room_id, "m.reaction", {
            "m.relates_to": {"rel_type": "m.annotation",
                             "event_id": kai_event.event_id, "key": "🔑"}})
        got = await r.kai.wait_encrypted(
            lambda m: not m.reflected and
            m.element("{urn:xmpp:reactions:0}reactions") is not None,
            what="bob's reaction inside kai's OMEMO 2")
        assert got.namespace == V2
        assert got.element("{urn:xmpp:reactions:0}reactions").get("id") == \
            kai_event.event_id
        assert got.stanza.xml.find("{urn:xmpp:reactions:0}reactions") is None
        assert got.real_jid == puppet_jid(r.bob)
        await r.kai.send_encrypted(
            r.muc, None, version="v2", mtype="groupchat",
            recipients=v2_readers,
            encrypted_extra=[f"<retract xmlns='urn:xmpp:message-retract:1' "
                             f"id='{kai_event.event_id}'/>"])
        redaction = await wait_for(
            events, lambda e: isinstance(e, RedactionEvent) and
            e.redacts == kai_event.event_id, 20, "kai's retraction")
        assert redaction.sender == ghost_id(r.kai)

        await r.bob.client.room_redact(r.room_id, event_id)
        gone = await r.kai.wait_encrypted(
            lambda m: not m.reflected and
            m.element("{urn:xmpp:message-retract:1}retract") is not None,
            what="bob's retraction inside kai's OMEMO 2")
        assert gone.element("{urn:xmpp:message-retract:1}retract").get(
            "id") == event_id
        assert gone.stanza.xml.find(
            "{urn:xmpp:message-retract:1}retract") is None
