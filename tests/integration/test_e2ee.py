"""Encrypted Matrix rooms through the gateway (end-to-bridge encryption):
each XMPP user's ghost has its own device, cross-signed by the ghost, and
what a Matrix client encrypts to it reaches XMPP: messages, edits, replies,
reactions and redactions. A message whose key comes late waits for it; one
whose key never comes is told to both sides. The Matrix users are
matrix-nio clients with their encryption on (vodozemac)."""

import glob
import os

import aiohttp
import vodozemac

from harness import DOMAIN
from peers import E2eeMatrixUser, unique, wait_for, wait_true
from test_dm import ghost_id, puppet_jid
from test_reactions import reactions_of, retraction_of, see_reactions
from test_rich import replaced_id, reply_of


def canonical(obj):
    import json
    obj = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    return json.dumps(obj, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def verify(obj, user, key_id, key):
    sig = obj["signatures"][user][key_id]
    vodozemac.Ed25519PublicKey.from_base64(key).verify_signature(
        canonical(obj), vodozemac.Ed25519Signature.from_base64(sig))


async def client_api(user, method, path, body=None):
    url = f"{user.client.homeserver}/_matrix/client/v3{path}"
    async with aiohttp.ClientSession() as s:
        async with s.request(method, url, json=body, headers={
                "Authorization": f"Bearer {user.client.access_token}"}) as r:
            out = await r.json()
            assert r.status == 200, out
            return out


async def e2ee_user(cluster, tmp_path, name=None):
    return await E2eeMatrixUser(cluster.synapse.url,
                                tmp_path / unique("nio-store"), name).register()


async def encrypted_dm(carol, alice):
    room_id = await carol.create_encrypted_dm(ghost_id(alice))
    await carol.wait_member(
        lambda r, e: r == room_id and e.state_key == ghost_id(alice)
        and e.membership == "join", what="the ghost joining the DM")
    return room_id


async def test_the_ghost_has_a_cross_signed_device(cluster, gateway, alice,
                                                   tmp_path):
    carol = await e2ee_user(cluster, tmp_path)
    try:
        await encrypted_dm(carol, alice)
        ghost = ghost_id(alice)
        keys = await client_api(carol, "POST", "/keys/query",
                                {"device_keys": {ghost: []}})
        devices = keys["device_keys"][ghost]
        assert len(devices) == 1, devices
        (device_id, device), = devices.items()
        assert device_id.startswith("ISTHMUS_")
        # The device signed its own keys...
        ed = device["keys"][f"ed25519:{device_id}"]
        verify(device, ghost, f"ed25519:{device_id}", ed)
        # ...the ghost's self-signing key signed the device, and its master
        # key signed the self-signing key: what clients that refuse
        # devices their owner did not sign look for.
        master = keys["master_keys"][ghost]
        (_, master_key), = master["keys"].items()
        ssk = keys["self_signing_keys"][ghost]
        (ssk_id, ssk_key), = ssk["keys"].items()
        verify(ssk, ghost, f"ed25519:{master_key}", master_key)
        verify(device, ghost, ssk_id, ssk_key)
        # One-time keys are there to start sessions with.
        claimed = await client_api(carol, "POST", "/keys/claim", {
            "one_time_keys": {ghost: {device_id: "signed_curve25519"}}})
        otk, = claimed["one_time_keys"][ghost][device_id].values()
        verify(otk, ghost, f"ed25519:{device_id}", ed)
    finally:
        await carol.close()


async def test_an_encrypted_dm_from_matrix_reaches_xmpp(cluster, gateway,
                                                        alice, tmp_path):
    see_reactions(alice)
    carol = await e2ee_user(cluster, tmp_path)
    before = gateway.metrics()
    try:
        room_id = await encrypted_dm(carol, alice)
        marker = unique("plaintext-canary-")
        first = await carol.send(room_id, f"the secret is {marker}")
        msg = await alice.wait_message(
            lambda m: m["body"] == f"the secret is {marker}",
            what="carol's encrypted message, decrypted, on XMPP")
        assert msg["from"].bare == puppet_jid(carol)
        assert msg["id"] == first
        # It really was encrypted on Matrix.
        raw = await client_api(carol, "GET",
                               f"/rooms/{room_id}/event/{first}")
        assert raw["type"] == "m.room.encrypted"
        assert marker not in str(raw)

        # An edit, a reply, a reaction (encrypted too) and a redaction.
        await carol.send(room_id, None, content={
            "msgtype": "m.text", "body": "* the secret is out",
            "m.new_content": {"msgtype": "m.text",
                              "body": "the secret is out"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": first}})
        fixed = await alice.wait_message(
            lambda m: m["body"] == "the secret is out",
            what="carol's encrypted edit")
        assert replaced_id(fixed) == first
        await carol.send(room_id, None, content={
            "msgtype": "m.text", "body": "a reply",
            "m.relates_to": {"m.in_reply_to": {"event_id": first}}})
        reply = await alice.wait_message(
            lambda m: (m["body"] or "").endswith("a reply"),
            what="carol's encrypted reply")
        assert reply_of(reply)[0] == first
        await carol.send_encrypted(room_id, "m.reaction", {
            "m.relates_to": {"rel_type": "m.annotation", "event_id": first,
                             "key": "🔐"}})
        await alice.wait_message(
            lambda m: reactions_of(m) == (first, ["🔐"]),
            what="carol's encrypted reaction")
        await carol.client.room_redact(room_id, first)
        await alice.wait_message(
            lambda m: retraction_of(m) == (first, None),
            what="the retraction of carol's redacted message")

        # And back: what alice answers is encrypted into carol's room.
        back = unique("answer-canary-")
        alice.send(puppet_jid(carol), back)
        _, answer = await carol.wait_message(
            lambda r, e: r == room_id and e.body == back,
            what="alice's answer, decrypted by carol's client")
        assert answer.decrypted
        await assert_encrypted_on_server(carol, room_id, answer.event_id)

        after = gateway.metrics()
        assert after["isthmus_e2ee_events_decrypted_total"] >= \
            before.get("isthmus_e2ee_events_decrypted_total", 0) + 4
        assert after["isthmus_e2ee_room_keys_received_total"] >= \
            before.get("isthmus_e2ee_room_keys_received_total", 0) + 1

        # Nothing of the plaintext at rest: not in the gateway's store nor
        # in Synapse's database (the keys that open it are sealed too).
        files = glob.glob(str(cluster.isthmus.dir / "isthmus.db*")) + \
            glob.glob(str(cluster.synapse.dir / "*.db*"))
        assert files
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
                assert marker.encode() not in data, path
                assert back.encode() not in data, path
    finally:
        await carol.close()


async def send_with_unshared_key(carol, room_id, body):
    """Sends body under a new Megolm session whose key nobody has been
    given yet; returns (event id, the m.room_key content to give later)."""
    olm = carol.client.olm
    olm.create_outbound_group_session(room_id)
    session = olm.outbound_group_sessions[room_id]
    room_key = {"algorithm": "m.megolm.v1.aes-sha2", "room_id": room_id,
                "session_id": session.id,
                "session_key": session.session_key}  # from message 0 on
    session.shared = True   # so that nio encrypts without sharing first
    _, content = carol.client.encrypt(
        room_id, "m.room.message", {"msgtype": "m.text", "body": body})
    event_id = await carol.put_event(room_id, "m.room.encrypted", content)
    return event_id, room_key


async def give_room_key(carol, ghost, room_key):
    """Sends room_key to every device of ghost over the Olm sessions carol
    already has with them, as a client sharing a key does."""
    olm = carol.client.olm
    messages = {}
    for device in olm.device_store.active_user_devices(ghost):
        session = olm.session_store.get(device.curve25519)
        assert session, f"no Olm session with {ghost}'s {device.id}"
        messages[device.id] = olm._olm_encrypt(session, device, "m.room_key",
                                               room_key)
    assert messages, f"carol knows no device of {ghost}"
    url = (f"{carol.client.homeserver}/_matrix/client/v3/sendToDevice/"
           f"m.room.encrypted/{unique('txn')}")
    async with aiohttp.ClientSession() as s:
        async with s.put(url, json={"messages": {ghost: messages}}, headers={
                "Authorization": f"Bearer {carol.client.access_token}"}) \
                as r:
            assert r.status == 200, await r.text()


async def test_a_key_that_comes_late_opens_its_waiting_message(
        cluster, gateway, alice, tmp_path):
    carol = await e2ee_user(cluster, tmp_path)
    try:
        room_id = await encrypted_dm(carol, alice)
        await carol.send(room_id, "with a key")
        await alice.wait_message(lambda m: m["body"] == "with a key",
                                 what="the first message")
        event_id, room_key = await send_with_unshared_key(
            carol, room_id, "the key comes later")
        # The gateway waits for the key, and asks carol's devices for it.
        request = await wait_for(
            carol.key_requests,
            lambda r: r.session_id == room_key["session_id"], 30,
            "the ghost's request for the missing key")
        assert request.sender == ghost_id(alice)
        assert not any(m["body"] == "the key comes later"
                       for m in list(alice.messages._queue))
        await give_room_key(carol, ghost_id(alice), room_key)
        msg = await alice.wait_message(
            lambda m: m["body"] == "the key comes later",
            what="the waiting message, once its key came")
        assert msg["id"] == event_id
    finally:
        await carol.close()


async def test_a_key_that_never_comes_is_told_both_ways(cluster, gateway,
                                                        alice, tmp_path):
    carol = await e2ee_user(cluster, tmp_path)
    try:
        room_id = await encrypted_dm(carol, alice)
        await carol.send(room_id, "before the lost key")
        await alice.wait_message(lambda m: m["body"] == "before the lost key",
                                 what="the first message")
        event_id, _ = await send_with_unshared_key(carol, room_id,
                                                   "nobody reads this")
        # key_wait_seconds is 5 in the test cluster.
        msg = await alice.wait_message(
            lambda m: m["id"] == event_id, timeout=30,
            what="word of the message that could not be decrypted")
        assert "could not decrypt" in msg["body"]
        assert "never reached" in msg["body"]
        assert carol.user_id in msg["body"]
        _, notice = await carol.wait_message(
            lambda r, e: r == room_id and "not delivered" in e.body,
            what="a notice to carol that her message did not cross")
        assert notice.sender == ghost_id(alice)
    finally:
        await carol.close()


async def assert_encrypted_on_server(user, room_id, event_id):
    raw = await client_api(user, "GET", f"/rooms/{room_id}/event/{event_id}")
    assert raw["type"] == "m.room.encrypted", raw
    return raw


async def test_an_encrypted_dm_from_xmpp_reaches_matrix(cluster, gateway,
                                                        alice, tmp_path):
    carol = await e2ee_user(cluster, tmp_path)
    before = gateway.metrics()
    try:
        # The DM the gateway opens is encrypted (encrypt_new_dms), and
        # carol, invited, gets the key of the first message before she
        # joins.
        first = alice.send(puppet_jid(carol), "hello, encrypted")
        room_id, invite = await carol.wait_invite()
        assert invite.sender == ghost_id(alice)
        await carol.join(room_id)
        _, event = await carol.wait_message(
            lambda r, e: r == room_id and e.body == "hello, encrypted",
            what="alice's first message, decrypted by carol's client")
        assert event.decrypted
        assert event.sender == ghost_id(alice)
        await assert_encrypted_on_server(carol, room_id, event.event_id)
        assert carol.client.rooms[room_id].encrypted

        # Both ways in the same room, a correction included.
        await carol.send(room_id, "hello back")
        await alice.wait_message(lambda m: m["body"] == "hello back",
                                 what="carol's encrypted answer")
        fix = alice.client.make_message(mto=puppet_jid(carol),
                                        mbody="hello, encrypted!",
                                        mtype="chat")
        fix.append(__import__("slixmpp").ET.fromstring(
            "<replace xmlns='urn:xmpp:message-correct:0' "
            f"id='{first['id']}'/>"))
        fix.send()
        _, edit = await carol.wait_message(
            lambda r, e: r == room_id and
            e.source.get("content", {}).get("m.new_content", {})
            .get("body") == "hello, encrypted!",
            what="alice's correction as an encrypted edit")
        assert edit.decrypted
        assert edit.source["content"]["m.relates_to"]["event_id"] == \
            event.event_id
        after = gateway.metrics()
        assert after["isthmus_e2ee_events_encrypted_total"] >= \
            before.get("isthmus_e2ee_events_encrypted_total", 0) + 2
        # The key went to carol's device once, not again with each message.
        assert after["isthmus_e2ee_key_shares_sent_total"] == \
            before.get("isthmus_e2ee_key_shares_sent_total", 0) + 1
    finally:
        await carol.close()


async def test_a_second_device_gets_the_keys_for_what_follows(
        cluster, gateway, alice, tmp_path):
    carol = await e2ee_user(cluster, tmp_path)
    laptop = None
    try:
        room_id = await encrypted_dm(carol, alice)
        alice.send(puppet_jid(carol), "before the laptop")
        await carol.wait_message(
            lambda r, e: r == room_id and e.body == "before the laptop",
            what="the first message on carol's first device")
        # carol logs in on a second device mid-conversation; the gateway
        # hears of it (device_lists in a transaction) before alice writes.
        changes = gateway.metrics()["isthmus_e2ee_device_list_changes_total"]
        laptop = E2eeMatrixUser(cluster.synapse.url,
                                tmp_path / unique("laptop"), carol.name)
        await laptop.login(carol.password)
        await wait_true(
            lambda: gateway.metrics()[
                "isthmus_e2ee_device_list_changes_total"] > changes, 30,
            "the gateway to hear of carol's new device")
        alice.send(puppet_jid(carol), "after the laptop")
        _, ev = await laptop.wait_message(
            lambda r, e: r == room_id and e.body == "after the laptop",
            what="the next message, decrypted on carol's second device")
        assert ev.decrypted
    finally:
        if laptop:
            await laptop.close()
        await carol.close()


async def test_an_encrypted_stream_survives_kills(archive_cluster, gw,
                                                  tmp_path):
    """SIGKILL of isthmus in the middle of an encrypted two-way stream,
    then the conversation goes on in the same room: every message arrives
    once, in order, and both sides still decrypt (no Megolm index used
    twice, no session lost)."""
    import asyncio
    from peers import XmppUser
    from test_durability import kill_and_restart
    from test_faults import collect_xmpp
    cluster = archive_cluster
    alice = await XmppUser(cluster.prosody).connect()
    carol = await e2ee_user(cluster, tmp_path)
    bounced = []
    alice.client.add_event_handler(
        "message_error", lambda m: bounced.append(m["id"]))
    n = 20
    try:
        room_id = await encrypted_dm(carol, alice)
        await carol.send(room_id, "open")
        await alice.wait_message(lambda m: m["body"] == "open",
                                 what="the first message")
        x2m = [unique("x2m-enc-") for _ in range(n)]
        m2x = [unique("m2x-enc-") for _ in range(n)]

        def xmpp_send(body):
            msg = alice.client.make_message(mto=puppet_jid(carol),
                                            mbody=body, mtype="chat")
            msg["id"] = body
            msg["origin_id"]["id"] = body
            msg.send()

        async def from_xmpp():
            for body in x2m:
                xmpp_send(body)
                await asyncio.sleep(0.04)

        async def from_matrix():
            for body in m2x:
                await carol.send(room_id, body)
                await asyncio.sleep(0.04)

        await asyncio.gather(from_xmpp(), from_matrix(),
                             kill_and_restart(gw, 2, 1.0))
        if not gw.running():
            await asyncio.to_thread(gw.start)
        for body in sorted(set(bounced) & set(x2m)):
            xmpp_send(body)   # what the server bounced, sent again
        # The same room goes on, both ways.
        xmpp_send("x2m-enc-end")
        await carol.send(room_id, "m2x-enc-end")

        seen = []
        while "x2m-enc-end" not in seen:
            _, ev = await carol.wait_message(
                lambda r, e: r == room_id and e.body.startswith("x2m-enc-"),
                timeout=120, what=f"the stream on Matrix ({len(seen)} so far)")
            assert ev.decrypted
            seen.append(ev.body)
        got = seen[:-1]
        assert not {b for b in got if got.count(b) > 1}, got
        assert set(got) == set(x2m), sorted(set(x2m) - set(got))
        kept = [b for b in got if b not in bounced]
        assert kept == [b for b in x2m if b in kept], kept

        got, copies = await collect_xmpp(alice, "m2x-enc-", n + 1, 120)
        assert copies == 0
        assert got == m2x + ["m2x-enc-end"], got
        # Nothing was told as undecryptable on either side.
        assert not any("could not decrypt" in (m["body"] or "")
                       for m in list(alice.messages._queue))
        assert carol.undecrypted.empty()
    finally:
        await carol.close()
        await alice.disconnect()
