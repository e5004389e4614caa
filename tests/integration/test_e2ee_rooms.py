"""Encrypted Matrix rooms beyond DMs, and encrypted files: a gateway-mode
room that is encrypted from its creation, a portal room made encrypted
after the fact, a member who leaves and so gets no later key, and files
(AES-CTR attachments, content.file) both ways. The Matrix users are
matrix-nio clients with their encryption on (vodozemac)."""

import asyncio
import glob
import hashlib
import http.client
import os

import aiohttp
import pytest
import slixmpp
from nio import MegolmEvent
from nio.exceptions import EncryptionError
from nio.crypto.attachments import decrypt_attachment, encrypt_attachment

from harness import COMPONENT, DOMAIN, MUC
from peers import E2eeMatrixUser, unique, wait_for, wait_true
from test_dm import ghost_id, puppet_jid
from test_e2ee import assert_encrypted_on_server, e2ee_user, encrypted_dm
from test_media import hs_download, hs_upload, http_get_blocking, oob_url, \
    png, xmpp_share
from test_muc_gateway import muc as gw_muc
from test_muc_portal import create_muc, join_portal, muc_presences, \
    occupant_ghost, wait_occupant
from test_reactions import Actions, reactions_of, retraction_of, \
    see_reactions, send_retraction, xmpp_reacts
from test_rich import replaced_id, reply_of, stanza_id


async def fetch(url):
    """(status, headers, body) of a GET, or body None when the server cut
    the answer short of its Content-Length (what the proxy does with a
    file whose hash does not match)."""
    def run():
        try:
            return http_get_blocking(url)
        except http.client.IncompleteRead:
            return 200, None, None
    return await asyncio.to_thread(run)


async def send_encrypted_file(user, cluster, room_id, data, name, mimetype,
                              msgtype="m.file", tamper=False):
    """What Element does with a file in an encrypted room: AES-CTR
    encrypt it, upload the ciphertext, and send content.file (inside a
    Megolm event). tamper uploads other bytes under the same keys, as a
    homeserver that altered the file would serve."""
    cipher, keys = encrypt_attachment(data)
    if tamper:
        cipher = bytes([cipher[0] ^ 1]) + cipher[1:]
    mxc = await hs_upload(cluster.synapse.url, user, cipher,
                          "application/octet-stream", "")
    return await user.send(room_id, None, content={
        "msgtype": msgtype, "body": name,
        "info": {"mimetype": mimetype, "size": len(data)},
        "file": {"url": mxc, **keys}})


def synapse_media_holds(cluster, marker):
    """True if any file Synapse stored (its database and media) holds
    marker."""
    for path in glob.glob(str(cluster.synapse.dir / "**"), recursive=True):
        if os.path.isfile(path) and not path.endswith(".log"):
            with open(path, "rb") as f:
                if marker in f.read():
                    return True
    return False


async def file_from_xmpp_is_encrypted(cluster, alice, carol, room_id, to,
                                      mtype):
    """alice shares a text file from XMPP: carol's client gets it as an
    encrypted file it can open, and the homeserver holds only
    ciphertext."""
    marker = unique("file-canary-").encode()
    data = b"minutes of the meeting\n" + marker + b"\n"
    await xmpp_share(alice, to, data, "minutes.txt", "text/plain", mtype)
    _, ev = await carol.wait_file(
        lambda r, e: r == room_id and e.body == "minutes.txt",
        what="alice's file, as an encrypted file in carol's client")
    content = ev.source["content"]
    assert "url" not in content, content
    assert content["file"]["url"] == ev.url
    assert content["info"]["mimetype"] == "text/plain"
    cipher = await hs_download(cluster.synapse.url, carol, ev.url)
    assert marker not in cipher
    assert decrypt_attachment(cipher, ev.key["k"], ev.hashes["sha256"],
                              ev.iv) == data
    await assert_encrypted_on_server(carol, room_id, ev.event_id)
    assert not synapse_media_holds(cluster, marker)


async def test_encrypted_files_cross_a_dm_both_ways(cluster, gateway, alice,
                                                    tmp_path):
    carol = await e2ee_user(cluster, tmp_path)
    try:
        room_id = await encrypted_dm(carol, alice)
        # Matrix -> XMPP: the proxy decrypts the file as it streams, and
        # serves it as what the event says it is.
        image = png(4, 3)
        await send_encrypted_file(carol, cluster, room_id, image, "shot.png",
                                  "image/png", "m.image")
        got = await alice.wait_message(
            lambda m: oob_url(m) is not None and "shot.png" in oob_url(m),
            what="carol's encrypted image on XMPP")
        assert got["body"] == oob_url(got)
        status, headers, body = await fetch(oob_url(got))
        assert status == 200
        assert headers["Content-Type"] == "image/png"
        assert body == image
        # Larger than the proxy's buffer: it streams through whole.
        large = os.urandom(600 * 1024)
        await send_encrypted_file(carol, cluster, room_id, large, "big.bin",
                                  "application/octet-stream")
        got = await alice.wait_message(
            lambda m: oob_url(m) is not None and "big.bin" in oob_url(m),
            what="carol's large encrypted file on XMPP")
        status, _, body = await fetch(oob_url(got))
        assert status == 200
        assert hashlib.sha256(body).digest() == hashlib.sha256(large).digest()
        # A file the homeserver altered is never handed out complete.
        await send_encrypted_file(carol, cluster, room_id, b"x" * 5000,
                                  "altered.txt", "text/plain", tamper=True)
        got = await alice.wait_message(
            lambda m: oob_url(m) is not None and "altered.txt" in oob_url(m),
            what="the altered file's URL on XMPP")
        status, _, body = await fetch(oob_url(got))
        assert body is None or status != 200, (status, body and len(body))

        # XMPP -> Matrix: encrypted before it is uploaded.
        await file_from_xmpp_is_encrypted(cluster, alice, carol, room_id,
                                          puppet_jid(carol), "chat")
    finally:
        await carol.close()


async def join_gateway_room(alice, muc_jid, watcher, room_id):
    await gw_muc(alice).join_muc_wait(muc_jid, "alice", maxstanzas=0,
                                      timeout=30)
    await watcher.wait_member(
        lambda r, e: r == room_id and e.state_key == ghost_id(alice)
        and e.membership == "join", what="alice's ghost joining the room")


async def test_an_encrypted_gateway_room_both_ways(cluster, gateway, alice,
                                                   tmp_path):
    see_reactions(alice)
    bob = await e2ee_user(cluster, tmp_path)
    carol = await e2ee_user(cluster, tmp_path)
    try:
        alias = unique("sealed")
        room_id = await bob.create_encrypted_room(alias)
        await carol.join(room_id)
        muc_jid = f"#{alias}%{DOMAIN}@{COMPONENT}"
        await join_gateway_room(alice, muc_jid, bob, room_id)

        # Matrix -> XMPP, decrypted by the ghost's device.
        marker = unique("room-canary-")
        first = await bob.send(room_id, f"in the sealed room {marker}")
        msg = await alice.wait_message(
            lambda m: m["type"] == "groupchat" and
            m["body"] == f"in the sealed room {marker}",
            what="bob's encrypted room message in the MUC")
        assert msg["id"] == first
        await bob.send(room_id, None, content={
            "msgtype": "m.text", "body": "* fixed",
            "m.new_content": {"msgtype": "m.text", "body": "fixed"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": first}})
        fixed = await alice.wait_message(
            lambda m: m["type"] == "groupchat" and m["body"] == "fixed",
            what="bob's encrypted edit in the MUC")
        assert replaced_id(fixed) == first
        await bob.send(room_id, None, content={
            "msgtype": "m.text", "body": "replying",
            "m.relates_to": {"m.in_reply_to": {"event_id": first}}})
        reply = await alice.wait_message(
            lambda m: m["type"] == "groupchat" and
            (m["body"] or "").endswith("replying"),
            what="bob's encrypted reply in the MUC")
        assert reply_of(reply)[0] == first
        await bob.send_encrypted(room_id, "m.reaction", {
            "m.relates_to": {"rel_type": "m.annotation", "event_id": first,
                             "key": "🔒"}})
        await alice.wait_message(
            lambda m: reactions_of(m) == (first, ["🔒"]),
            what="bob's encrypted reaction in the MUC")
        await bob.client.room_redact(room_id, first)
        await alice.wait_message(
            lambda m: retraction_of(m) == (first, None),
            what="the retraction of bob's redacted message")

        # XMPP -> Matrix: what alice says reaches both members encrypted.
        actions = Actions(bob)
        said = unique("from-the-muc-")
        sent = alice.send(muc_jid, said, mtype="groupchat")
        echo = await alice.wait_message(
            lambda m: m["body"] == said, what="the room's reflection")
        for reader in (bob, carol):
            _, ev = await reader.wait_message(
                lambda r, e: r == room_id and e.body == said,
                what=f"alice's MUC message decrypted by {reader.name}")
            assert ev.decrypted
            assert ev.sender == ghost_id(alice)
        await assert_encrypted_on_server(bob, room_id, ev.event_id)
        # Her correction, her reply, her reactions, her retraction.
        fix = alice.client.make_message(mto=muc_jid, mbody=said + "!",
                                        mtype="groupchat")
        fix.append(slixmpp.ET.fromstring(
            "<replace xmlns='urn:xmpp:message-correct:0' "
            f"id='{sent['id']}'/>"))
        fix.send()
        _, edit = await bob.wait_message(
            lambda r, e: r == room_id and e.source["content"].get(
                "m.new_content", {}).get("body") == said + "!",
            what="alice's correction as an encrypted edit")
        assert edit.decrypted
        assert edit.source["content"]["m.relates_to"]["event_id"] == \
            ev.event_id
        target = await bob.send(room_id, "answer and react to me")
        got = await alice.wait_message(
            lambda m: m["body"] == "answer and react to me",
            what="bob's message to answer")
        answer = alice.client.make_message(mto=muc_jid, mbody="answered",
                                           mtype="groupchat")
        answer.append(slixmpp.ET.fromstring(
            f"<reply xmlns='urn:xmpp:reply:0' id='{stanza_id(got)}'/>"))
        answer.send()
        _, reply = await bob.wait_message(
            lambda r, e: r == room_id and e.body.endswith("answered"),
            what="alice's reply as an encrypted reply")
        assert reply.decrypted
        assert reply.source["content"]["m.relates_to"]["m.in_reply_to"][
            "event_id"] == target
        await xmpp_reacts(alice, bob, actions, room_id, muc_jid, "groupchat",
                          stanza_id(got), target, ghost_id(alice))
        send_retraction(alice, muc_jid, stanza_id(echo), "groupchat")
        await actions.redaction(room_id, ghost_id(alice), stanza_id(echo))
        # A file, both ways.
        await file_from_xmpp_is_encrypted(cluster, alice, carol, room_id,
                                          muc_jid, "groupchat")
        image = png(2, 2)
        await send_encrypted_file(bob, cluster, room_id, image, "room.png",
                                  "image/png", "m.image")
        got = await alice.wait_message(
            lambda m: m["type"] == "groupchat" and oob_url(m) is not None
            and "room.png" in oob_url(m),
            what="bob's encrypted image in the MUC")
        status, _, body = await fetch(oob_url(got))
        assert (status, body) == (200, image)
    finally:
        await bob.close()
        await carol.close()


def session_of(raw):
    return raw["content"]["session_id"]


async def test_a_member_who_leaves_gets_no_next_session(cluster, gateway,
                                                        alice, tmp_path):
    bob = await e2ee_user(cluster, tmp_path)
    dave = await e2ee_user(cluster, tmp_path)
    try:
        alias = unique("leaving")
        room_id = await bob.create_encrypted_room(alias)
        await dave.join(room_id)
        muc_jid = f"#{alias}%{DOMAIN}@{COMPONENT}"
        await join_gateway_room(alice, muc_jid, bob, room_id)
        alice.client.send_message(mto=muc_jid, mbody="all three",
                                          mtype="groupchat")
        _, seen = await dave.wait_message(
            lambda r, e: r == room_id and e.body == "all three",
            what="alice's first message on dave's device")
        _, before = await bob.wait_message(
            lambda r, e: r == room_id and e.body == "all three",
            what="alice's first message on bob's device")
        old_session = session_of(
            await assert_encrypted_on_server(bob, room_id, before.event_id))

        presences = muc_presences(alice)
        await dave.client.room_leave(room_id)
        # The gateway heard of it once alice sees dave leave the MUC.
        await wait_for(presences, lambda p: p["from"].bare == muc_jid and
                       p["type"] == "unavailable" and
                       p["from"].resource != "alice", 30,
                       "dave leaving the MUC, on alice's side")
        alice.client.send_message(mto=muc_jid, mbody="dave is gone",
                                          mtype="groupchat")
        _, after = await bob.wait_message(
            lambda r, e: r == room_id and e.body == "dave is gone",
            what="alice's next message on bob's device")
        new_session = session_of(
            await assert_encrypted_on_server(bob, room_id, after.event_id))
        # A new session began, and its key never reached dave's device.
        assert new_session != old_session
        store = dave.client.olm.inbound_group_store
        sender_key = after.source["content"].get("sender_key") or \
            (await assert_encrypted_on_server(
                bob, room_id, after.event_id))["content"]["sender_key"]
        assert store.get(room_id, sender_key, old_session) is not None
        assert store.get(room_id, sender_key, new_session) is None
    finally:
        await bob.close()
        await dave.close()


async def test_a_portal_made_encrypted(cluster, gateway, alice, tmp_path):
    room, _ = await create_muc(alice, nick="alice")
    bob = await e2ee_user(cluster, tmp_path)
    try:
        await bob.client.set_displayname("Cipher")
        room_id = await join_portal(bob, room)
        await wait_occupant(alice, room, "Cipher")
        await bob.wait_member(
            lambda r, e: r == room_id and
            e.state_key == occupant_ghost(room, "alice") and
            e.membership == "join", what="alice's occupant ghost joining")
        # The room's admin (here the appservice itself, as an operator
        # would) turns encryption on after the room exists.
        url = (f"{cluster.synapse.url}/_matrix/client/v3/rooms/{room_id}"
               "/state/m.room.encryption/")
        async with aiohttp.ClientSession() as s:
            async with s.put(url, json={"algorithm": "m.megolm.v1.aes-sha2"},
                             headers={"Authorization":
                                      f"Bearer {cluster.isthmus.as_token}"}) \
                    as r:
                assert r.status == 200, await r.text()
        await wait_true(lambda: room_id in bob.client.rooms and
                        bob.client.rooms[room_id].encrypted, 30,
                        "bob's client to see the room encrypted")

        # Matrix -> XMPP: bob's encrypted message reaches the MUC.
        said = unique("portal-canary-")
        await bob.send(room_id, said)
        await alice.wait_message(
            lambda m: m["type"] == "groupchat" and m["body"] == said,
            what="bob's encrypted message in the MUC")
        # XMPP -> Matrix: alice's occupant ghost encrypts.
        back = unique("portal-answer-")
        alice.client.send_message(mto=f"{room}@{MUC}", mbody=back,
                                          mtype="groupchat")
        _, ev = await bob.wait_message(
            lambda r, e: r == room_id and e.body == back,
            what="alice's portal message decrypted by bob")
        assert ev.decrypted
        assert ev.sender == occupant_ghost(room, "alice")
        await assert_encrypted_on_server(bob, room_id, ev.event_id)
        await file_from_xmpp_is_encrypted(cluster, alice, bob, room_id,
                                          f"{room}@{MUC}", "groupchat")
        image = png(3, 3)
        await send_encrypted_file(bob, cluster, room_id, image, "portal.png",
                                  "image/png", "m.image")
        got = await alice.wait_message(
            lambda m: m["type"] == "groupchat" and oob_url(m) is not None
            and "portal.png" in oob_url(m),
            what="bob's encrypted image in the MUC")
        status, _, body = await fetch(oob_url(got))
        assert (status, body) == (200, image)
    finally:
        await bob.close()



async def test_key_requests_are_answered_only_where_policy_allows(
        cluster, gateway, alice, tmp_path):
    """A device that lost a key the ghost gave it gets it again, from the
    message it was first given and no earlier; a device never given the
    session, and a request for a session the ghost did not create, get
    nothing."""
    carol = await e2ee_user(cluster, tmp_path)
    laptop = phone = None
    ghost = ghost_id(alice)
    try:
        room_id = await encrypted_dm(carol, alice)
        alice.send(puppet_jid(carol), "before the laptop")
        _, early = await carol.wait_message(
            lambda r, e: r == room_id and e.body == "before the laptop",
            what="the first message on carol's phone")
        changes = gateway.metrics()["isthmus_e2ee_device_list_changes_total"]
        laptop = await E2eeMatrixUser(cluster.synapse.url,
                                      tmp_path / unique("laptop"),
                                      carol.name).login(carol.password)
        await wait_true(
            lambda: gateway.metrics()[
                "isthmus_e2ee_device_list_changes_total"] > changes, 30,
            "the gateway to hear of carol's laptop")
        alice.send(puppet_jid(carol), "for the laptop too")
        _, later = await laptop.wait_message(
            lambda r, e: r == room_id and e.body == "for the laptop too",
            what="the next message on carol's laptop")
        raw_later = await assert_encrypted_on_server(laptop, room_id,
                                                     later.event_id)
        raw_early = await assert_encrypted_on_server(laptop, room_id,
                                                     early.event_id)
        content = raw_later["content"]
        assert raw_early["content"]["session_id"] == content["session_id"]

        # The laptop loses the key and asks the ghost for it.
        laptop.accept_forwards_from(ghost)
        laptop.forget_room_key(room_id, content["sender_key"],
                               content["session_id"])
        before = gateway.metrics()
        event = await laptop.request_room_key(raw_later, ghost)
        await wait_for(laptop.forwarded, lambda e: e.session_id ==
                       content["session_id"], 30,
                       "the ghost's forwarded room key on the laptop")
        assert laptop.client.decrypt_event(event).body == \
            "for the laptop too"
        # From the index it was given, not before: the first message stays
        # closed to the laptop.
        old = MegolmEvent.from_dict(raw_early)
        old.room_id = room_id
        with pytest.raises(EncryptionError, match="unknown message index"):
            laptop.client.decrypt_event(old)
        assert gateway.metrics()["isthmus_e2ee_key_requests_answered_total"] \
            == before.get("isthmus_e2ee_key_requests_answered_total", 0) + 1

        # A device the session never went to asks: refused.
        refused = before.get("isthmus_e2ee_key_requests_refused_total", 0)
        phone = await E2eeMatrixUser(cluster.synapse.url,
                                     tmp_path / unique("phone"),
                                     carol.name).login(carol.password)
        await phone.request_room_key(raw_later, ghost)
        await wait_true(
            lambda: gateway.metrics().get(
                "isthmus_e2ee_key_requests_refused_total", 0) == refused + 1,
            30, "the gateway to refuse the phone's request")
        # A session the ghost did not create (carol's own): refused.
        mine = await carol.send(room_id, "carol's own words")
        raw_mine = await assert_encrypted_on_server(carol, room_id, mine)
        await carol.request_room_key(raw_mine, ghost)
        await wait_true(
            lambda: gateway.metrics().get(
                "isthmus_e2ee_key_requests_refused_total", 0) == refused + 2,
            30, "the gateway to refuse a request for carol's own session")
        assert gateway.metrics()["isthmus_e2ee_key_requests_answered_total"] \
            == before.get("isthmus_e2ee_key_requests_answered_total", 0) + 1
    finally:
        for device in (phone, laptop):
            if device:
                await device.close()
        await carol.close()


async def test_encrypted_history_reads_back_through_mam(cluster, gateway,
                                                        alice, tmp_path):
    """The archive of an encrypted DM shows what both sides said, decrypted
    with the keys the gateway holds (its ghost's own sessions too)."""
    from test_mam import NS_CLIENT, scroll_back
    carol = await e2ee_user(cluster, tmp_path)
    try:
        room_id = await encrypted_dm(carol, alice)
        await carol.send(room_id, "carol says one")
        await alice.wait_message(lambda m: m["body"] == "carol says one",
                                 what="carol's first message")
        alice.send(puppet_jid(carol), "alice says two")
        await carol.wait_message(
            lambda r, e: r == room_id and e.body == "alice says two",
            what="alice's answer on Matrix")
        await carol.send(room_id, "carol says three")
        await alice.wait_message(lambda m: m["body"] == "carol says three",
                                 what="carol's last message")
        results, _ = await scroll_back(alice, puppet_jid(carol), max=10)
        bodies = [m.findtext(f"{{{NS_CLIENT}}}body") for _, m in results]
        # alice has no OMEMO: the gateway told carol's room so, once.
        told = [b for b in bodies if "reach them unencrypted" in b]
        assert len(told) == 1, bodies
        assert [b for b in bodies if b not in told] == \
            ["carol says one", "alice says two", "carol says three"]
    finally:
        await carol.close()


async def test_an_invited_member_gets_keys_only_if_the_room_lets_them_read(
        cluster, gateway, alice, tmp_path):
    """history_visibility "joined": an invited user reads nothing before
    joining, so the ghost shares no key with their devices until they
    join."""
    bob = await e2ee_user(cluster, tmp_path)
    dave = await e2ee_user(cluster, tmp_path)
    try:
        alias = unique("joinedonly")
        room_id = await bob.create_encrypted_room(alias)
        await bob.client.room_put_state(
            room_id, "m.room.history_visibility",
            {"history_visibility": "joined"})
        muc_jid = f"#{alias}%{DOMAIN}@{COMPONENT}"
        await join_gateway_room(alice, muc_jid, bob, room_id)
        await bob.client.room_invite(room_id, dave.user_id)
        await dave.wait_invite()
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == dave.user_id and
            e.membership == "invite", what="dave invited")
        alice.send(muc_jid, "while dave is invited", mtype="groupchat")
        _, first = await bob.wait_message(
            lambda r, e: r == room_id and e.body == "while dave is invited",
            what="alice's first message on bob's device")
        presences = muc_presences(alice)
        await dave.join(room_id)
        # The gateway heard of it once alice sees dave enter the MUC.
        await wait_for(presences, lambda p: p["from"].bare == muc_jid and
                       p["type"] != "unavailable" and
                       p["from"].resource != "alice", 30,
                       "dave entering the MUC, on alice's side")
        alice.send(muc_jid, "now dave is in", mtype="groupchat")
        _, second = await dave.wait_message(
            lambda r, e: r == room_id and e.body == "now dave is in",
            what="alice's next message on dave's device")
        raw = await assert_encrypted_on_server(dave, room_id,
                                               second.event_id)
        first_raw = await assert_encrypted_on_server(bob, room_id,
                                                     first.event_id)
        assert first_raw["content"]["session_id"] == \
            raw["content"]["session_id"]
        # Dave's key starts after the message sent while he was invited:
        # his device was never given the session from before.
        session = dave.client.olm.inbound_group_store.get(
            room_id, raw["content"]["sender_key"],
            raw["content"]["session_id"])
        assert session is not None
        assert session.first_known_index == 1
    finally:
        await bob.close()
        await dave.close()
