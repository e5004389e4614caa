"""OMEMO through the gateway: every Matrix user's JID is a legacy OMEMO
device, served by the component itself, so that an XMPP client with OMEMO
on (here slixmpp-omemo, the python-omemo stack) talks to Matrix users
encrypted, both ways, with the plaintext only in the gateway's memory."""

import asyncio
import glob
import os

import pytest

from omemo_peer import LEGACY, OmemoXmppUser
from peers import unique, wait_for
from test_dm import ghost_id, puppet_jid
from test_e2ee import e2ee_user, encrypted_dm
from test_rich import replaced_id

# slixmpp-omemo 2.2.0 reaches plugins the way slixmpp 1.17 deprecates.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Accessing plugins through the XMPP object:DeprecationWarning")

CORRECT = "urn:xmpp:message-correct:0"


@pytest.fixture
async def dave(cluster, gateway):
    """A fresh XMPP user whose client speaks legacy OMEMO."""
    user = await OmemoXmppUser(cluster.prosody, unique("dave"),
                               versions="legacy").connect()
    yield user
    await user.disconnect()


def assert_not_at_rest(cluster, *markers):
    """No marker in the gateway's store, Synapse's database or Prosody's
    data (its archive included)."""
    files = glob.glob(str(cluster.isthmus.dir / "isthmus.db*")) + \
        glob.glob(str(cluster.synapse.dir / "*.db*")) + \
        glob.glob(str(cluster.prosody.dir / "**" / "*"), recursive=True)
    assert files
    for path in files:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except (IsADirectoryError, PermissionError):
            continue
        for marker in markers:
            assert marker.encode() not in data, f"{marker} in {path}"


async def test_a_puppet_publishes_one_omemo_device(dave, bob):
    devices = await dave.device_ids(puppet_jid(bob), version="legacy")
    assert len(devices) == 1, devices
    device = next(iter(devices))
    assert 0 < device < 2 ** 31
    # Its bundle is a valid one (the peer checks the signature).
    await dave.bundle(puppet_jid(bob), device, "legacy")
    # The same device every time: it is kept, not made anew.
    assert await dave.device_ids(puppet_jid(bob), version="legacy") == \
        devices


async def test_an_omemo_dm_both_ways(cluster, gateway, dave, bob):
    before = gateway.metrics()
    secret = unique("omemo-canary-")
    first = await dave.send_encrypted(puppet_jid(bob), f"hi {secret}",
                                      version="legacy")
    room_id, invite = await bob.wait_invite()
    assert invite.sender == ghost_id(dave)
    await bob.join(room_id)
    _, event = await bob.wait_message(
        lambda r, e: r == room_id and e.body == f"hi {secret}",
        what="dave's OMEMO message, decrypted, on Matrix")
    assert event.sender == ghost_id(dave)

    # The answer reaches dave encrypted, never in clear.
    answer = unique("answer-canary-")
    await bob.send(room_id, f"back {answer}")
    got = await dave.wait_encrypted(
        lambda m: m.body == f"back {answer}",
        what="bob's answer, OMEMO-encrypted")
    assert got.namespace == LEGACY
    assert got.sender.split("/")[0] == puppet_jid(bob)
    assert answer not in str(got.stanza["body"])

    # A correction from XMPP edits the Matrix message.
    await dave.send_encrypted(
        puppet_jid(bob), f"hi again {secret}", version="legacy",
        extra=[f"<replace xmlns='{CORRECT}' id='{first}'/>"])
    _, edit = await bob.wait_message(
        lambda r, e: r == room_id and e.body == f"* hi again {secret}"
        or (e.source["content"].get("m.new_content") or {}).get("body")
        == f"hi again {secret}",
        what="dave's encrypted correction as an edit")
    assert edit.source["content"]["m.relates_to"]["rel_type"] == "m.replace"
    assert edit.source["content"]["m.relates_to"]["event_id"] == \
        event.event_id

    # An edit from Matrix reaches dave encrypted, as a correction.
    bob_first = got.id
    await bob.send(room_id, None, content={
        "msgtype": "m.text", "body": "* fixed answer",
        "m.new_content": {"msgtype": "m.text", "body": "fixed answer"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": bob_first}})
    fixed = await dave.wait_encrypted(lambda m: m.body == "fixed answer",
                                      what="bob's edit, encrypted")
    assert fixed.element(f"{{{CORRECT}}}replace").get("id") == bob_first

    assert dave.plain.empty(), "something reached dave in clear"
    after = gateway.metrics()
    assert after["isthmus_omemo_messages_decrypted_total"] >= \
        before.get("isthmus_omemo_messages_decrypted_total", 0) + 2
    assert after["isthmus_omemo_messages_encrypted_total"] >= \
        before.get("isthmus_omemo_messages_encrypted_total", 0) + 2


async def test_matrix_writes_first_and_both_devices_read_it(cluster,
                                                            gateway, bob):
    phone = await OmemoXmppUser(cluster.prosody, unique("erin"),
                                resource="phone", versions="legacy").connect()
    laptop = await OmemoXmppUser(cluster.prosody, phone.name,
                                 resource="laptop", register=False,
                                 versions="legacy").connect()
    try:
        # The gateway learns erin's devices when the DM opens, so the
        # very first message is already encrypted, to both of them.
        room_id = await bob.create_dm(ghost_id(phone))
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(phone)
            and e.membership == "join", what="the ghost joining the DM")
        await bob.send(room_id, "first, from Matrix")
        for device in (phone, laptop):
            got = await device.wait_encrypted(
                lambda m: m.body == "first, from Matrix",
                what=f"bob's first message on erin's {device.full_jid}")
            assert got.sender.split("/")[0] == puppet_jid(bob)
        assert phone.plain.empty() and laptop.plain.empty()

        await laptop.send_encrypted(puppet_jid(bob), "from the laptop",
                                    version="legacy")
        await bob.wait_message(lambda r, e: e.body == "from the laptop",
                               what="erin's laptop's message")
    finally:
        await laptop.disconnect()
        await phone.disconnect()


async def test_both_sides_encrypted_leave_nothing_at_rest(cluster, gateway,
                                                          dave, tmp_path):
    """Megolm on Matrix, OMEMO on XMPP: the text is in clear only inside
    the gateway."""
    carol = await e2ee_user(cluster, tmp_path)
    try:
        room_id = await encrypted_dm(carol, dave)
        to_xmpp = unique("m2x-canary-")
        await carol.send(room_id, f"sealed {to_xmpp}")
        await dave.wait_encrypted(lambda m: m.body == f"sealed {to_xmpp}",
                                  what="carol's Megolm message as OMEMO")
        to_matrix = unique("x2m-canary-")
        await dave.send_encrypted(puppet_jid(carol), f"sealed {to_matrix}",
                                  version="legacy")
        _, got = await carol.wait_message(
            lambda r, e: r == room_id and e.body == f"sealed {to_matrix}",
            what="dave's OMEMO message as Megolm")
        assert got.decrypted
        assert dave.plain.empty()
        assert_not_at_rest(cluster, to_xmpp, to_matrix)
    finally:
        await carol.close()


async def test_a_message_that_does_not_decrypt_is_refused_with_a_reason(
        dave, bob):
    device = next(iter(await dave.device_ids(puppet_jid(bob),
                                             version="legacy")))
    msg = dave.client.make_message(mto=puppet_jid(bob), mtype="chat")
    msg.append(_xml(
        f"<encrypted xmlns='{LEGACY}'><header sid='4242'>"
        f"<key rid='{device}' prekey='true'>AAECAwQFBgcICQ==</key>"
        "<iv>AAAAAAAAAAAAAAAA</iv></header>"
        "<payload>AAAA</payload></encrypted>"))
    msg["body"] = "I sent you an OMEMO encrypted message"
    msg.send()
    err = await dave.wait_message(
        lambda m: m["type"] == "error" and m["id"] == msg["id"],
        what="an error for the message that does not decrypt")
    assert "could not decrypt" in err["error"]["text"]


def _xml(text):
    import xml.etree.ElementTree as ET
    return ET.fromstring(text)


ISTHMUS_NOTE = "[isthmus]"


async def test_omemo_into_a_clear_matrix_room_is_delivered_and_told_once(
        dave, bob):
    """bob's client has no encryption, so the DM the gateway opens is in
    clear: dave's OMEMO messages reach bob, and dave is told once, in his
    own client (encrypted), that they leave encryption at the gateway."""
    await dave.send_encrypted(puppet_jid(bob), "one", version="legacy")
    room_id, _ = await bob.wait_invite()
    await bob.join(room_id)
    await bob.wait_message(lambda r, e: e.body == "one", what="'one'")
    await dave.send_encrypted(puppet_jid(bob), "two", version="legacy")
    await bob.wait_message(lambda r, e: e.body == "two", what="'two'")
    await bob.send(room_id, "end of test")
    notes = []
    await dave.wait_encrypted(
        lambda m: notes.append(m.body) if m.body.startswith(ISTHMUS_NOTE)
        else m.body == "end of test", what="bob's last message")
    assert len(notes) == 1, notes
    assert "not end-to-end encrypted" in notes[0]
    assert dave.plain.empty()


async def test_megolm_to_an_xmpp_user_without_omemo_is_told_once(
        cluster, gateway, alice, tmp_path):
    carol = await e2ee_user(cluster, tmp_path)
    try:
        room_id = await encrypted_dm(carol, alice)
        await carol.send(room_id, "first")
        await alice.wait_message(lambda m: m["body"] == "first",
                                 what="carol's first message, in clear")
        await carol.send(room_id, "second")
        await alice.wait_message(lambda m: m["body"] == "second",
                                 what="carol's second message, in clear")
        alice.send(puppet_jid(carol), "end of test")
        notes = []
        await carol.wait_message(
            lambda r, e: r == room_id and (
                notes.append(e.body) if "unencrypted" in e.body
                else e.body == "end of test"),
            what="alice's last message")
        # An event can reach a client before its room key does (two
        # streams); matrix-nio does not try it again, so the test does,
        # now that the key of the ghost's session is surely there.
        while not carol.undecrypted.empty():
            r, ev = carol.undecrypted.get_nowait()
            try:
                dec = carol.client.decrypt_event(ev)
            except Exception:
                continue
            body = getattr(dec, "body", "") or ""
            if r == room_id and "unencrypted" in body:
                notes.append(body)
        assert len(notes) == 1, notes
        assert alice.jid in notes[0]
    finally:
        await carol.close()


@pytest.fixture
def refusing(gateway):
    """isthmus restarted with [e2ee] downgrade = refuse, then back."""
    original = gateway.config.read_text()
    gateway.stop()
    gateway.config.write_text(original.replace(
        "[e2ee]\n", "[e2ee]\ndowngrade = refuse\n"))
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()
        gateway.config.write_text(original)
        gateway.start()


async def test_with_downgrade_refuse_nothing_leaves_encryption(
        cluster, refusing, dave, alice, bob, tmp_path):
    # OMEMO into a Matrix room in clear: refused, and dave is told why.
    msg_id = await dave.send_encrypted(puppet_jid(bob), "keep it secret",
                                       version="legacy")
    err = await dave.wait_message(
        lambda m: m["type"] == "error" and m["id"] == msg_id,
        what="the refusal of dave's OMEMO message")
    assert "not end-to-end encrypted" in err["error"]["text"]

    # Megolm to an XMPP user without OMEMO: not delivered, carol is told.
    carol = await e2ee_user(cluster, tmp_path)
    try:
        room_id = await encrypted_dm(carol, alice)
        await carol.send(room_id, "not for plain eyes")
        await carol.wait_message(
            lambda r, e: r == room_id and e.body.startswith("Not delivered"),
            what="the gateway's notice that it was not delivered")
        # Nothing reached alice: what bob sends afterwards comes first.
        bob_room = await bob.create_dm(ghost_id(alice))
        await bob.wait_member(
            lambda r, e: r == bob_room and e.state_key == ghost_id(alice)
            and e.membership == "join", what="the ghost joining bob's DM")
        await bob.send(bob_room, "after the refusal")
        got = await alice.wait_message(lambda m: bool(m["body"]),
                                       what="the next message to alice")
        assert got["body"] == "after the refusal"
    finally:
        await carol.close()


async def test_an_omemo_stream_survives_kills(archive_cluster, gw):
    """SIGKILL of isthmus in the middle of a two-way OMEMO stream, then the
    conversation goes on: every message arrives once, in order, and both
    sides still decrypt (no broken session, no message key used for two
    texts)."""
    import asyncio
    from omemo_peer import OmemoFailure
    from peers import MatrixUser
    from test_dm import open_dm_from_xmpp  # noqa: F401 (same helpers)
    from test_durability import kill_and_restart
    cluster = archive_cluster
    frank = await OmemoXmppUser(cluster.prosody, unique("frank"),
                                versions="legacy").connect()
    bob = await MatrixUser(cluster.synapse.url).register()
    bounced = []
    frank.client.add_event_handler(
        "message_error", lambda m: bounced.append(m["id"]))
    n = 20
    try:
        await frank.send_encrypted(puppet_jid(bob), "open", version="legacy",
                                   msg_id=unique("open-"))
        room_id, _ = await bob.wait_invite()
        await bob.join(room_id)
        await bob.wait_message(lambda r, e: e.body == "open", what="'open'")
        x2m = [unique("x2m-omemo-") for _ in range(n)]
        m2x = [unique("m2x-omemo-") for _ in range(n)]

        async def from_xmpp():
            for body in x2m:
                await frank.send_encrypted(puppet_jid(bob), body,
                                           version="legacy", msg_id=body)
                await asyncio.sleep(0.04)

        async def from_matrix():
            for body in m2x:
                await bob.send(room_id, body)
                await asyncio.sleep(0.04)

        await asyncio.gather(from_xmpp(), from_matrix(),
                             kill_and_restart(gw, 2, 1.0))
        if not gw.running():
            await asyncio.to_thread(gw.start)
        for body in sorted(set(bounced) & set(x2m)):
            # What the server bounced while isthmus was down, sent again.
            await frank.send_encrypted(puppet_jid(bob), body,
                                       version="legacy", msg_id=body)
        await frank.send_encrypted(puppet_jid(bob), "x2m-omemo-end",
                                   version="legacy", msg_id="x2m-omemo-end")
        await bob.send(room_id, "m2x-omemo-end")

        seen = []
        while "x2m-omemo-end" not in seen:
            _, ev = await bob.wait_message(
                lambda r, e: r == room_id and e.body.startswith("x2m-omemo-"),
                timeout=120, what=f"the stream on Matrix ({len(seen)} so far)")
            seen.append(ev.body)
        got = seen[:-1]
        assert not {b for b in got if got.count(b) > 1}, got
        assert set(got) == set(x2m), sorted(set(x2m) - set(got))
        kept = [b for b in got if b not in bounced]
        assert kept == [b for b in x2m if b in kept], kept

        # Towards XMPP: each once (a resend after a kill carries the same
        # id, which a client drops; a copy it cannot decrypt again is such
        # a resend), in order, all decrypted.
        bodies, ids, failures = [], set(), []
        while "m2x-omemo-end" not in bodies:
            item = await asyncio.wait_for(frank.encrypted.get(), 120)
            if isinstance(item, OmemoFailure):
                failures.append(item)
                continue
            if item.body is None or item.body.startswith("[isthmus]"):
                continue
            if item.id in ids:
                continue   # a resend with the same id
            ids.add(item.id)
            bodies.append(item.body)
        assert bodies == m2x + ["m2x-omemo-end"], bodies
        failed_ids = {f.stanza["id"] for f in failures}
        assert failed_ids <= ids, (failures, "a message only ever arrived "
                                   "as one frank could not decrypt")
        assert frank.plain.empty()
    finally:
        await bob.close()
        await frank.disconnect()


def open_aesgcm(link, data):
    """The file behind an aesgcm:// link (XEP-0454): AES-256-GCM, the tag
    after the ciphertext, IV and key in the fragment."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    fragment = bytes.fromhex(link.split("#", 1)[1])
    iv, key = fragment[:-32], fragment[-32:]
    return AESGCM(key).decrypt(iv, data, None)


def aesgcm_fetch_url(link):
    """aesgcm:// means https://; the test gateway's proxy listens on plain
    HTTP on loopback (a real one sits behind TLS)."""
    return "http://" + link[len("aesgcm://"):].split("#", 1)[0]


async def test_a_file_from_matrix_reaches_an_omemo_user_encrypted(
        cluster, gateway, dave, bob, tmp_path):
    """bob's file reaches dave as an aesgcm:// link inside the OMEMO
    message; the proxy serves it AES-GCM-encrypted under the link's key,
    and nothing in clear (no XEP-0066 data, no proxy URL) is left in the
    stanza. An encrypted file from a Megolm room crosses the same way."""
    import hashlib
    import re
    from test_e2ee_rooms import send_encrypted_file
    from test_media import hs_upload, http_get, png, send_media
    await dave.send_encrypted(puppet_jid(bob), "send me a file",
                              version="legacy")
    room_id, _ = await bob.wait_invite()
    await bob.join(room_id)
    await bob.wait_message(lambda r, e: e.body == "send me a file",
                           what="dave's request")
    image = png(3, 2)
    mxc = await hs_upload(cluster.synapse.url, bob, image, "image/png",
                          "dot.png")
    await send_media(bob, room_id, "m.image", mxc, "dot.png", "image/png",
                     len(image))
    got = await dave.wait_encrypted(lambda m: "aesgcm://" in (m.body or ""),
                                    what="the file as an aesgcm:// link")
    raw = str(got.stanza)
    assert "_isthmus" not in raw and "jabber:x:oob" not in raw, raw
    link = re.search(r"aesgcm://\S+", got.body).group(0)
    status, _, body = await http_get(aesgcm_fetch_url(link))
    assert status == 200
    assert len(body) == len(image) + 16
    assert open_aesgcm(link, body) == image
    # Without the key (the fragment), the file says nothing.
    assert image not in body

    # From a Megolm room: the encrypted attachment, decrypted by the proxy,
    # re-encrypted for dave.
    carol = await e2ee_user(cluster, tmp_path)
    try:
        eroom = await encrypted_dm(carol, dave)
        data = os.urandom(5000)
        await send_encrypted_file(carol, cluster, eroom, data, "secret.bin",
                                  "application/octet-stream")
        got = await dave.wait_encrypted(
            lambda m: "aesgcm://" in (m.body or "") and "secret.bin" in m.body,
            what="carol's encrypted file as an aesgcm:// link")
        link = re.search(r"aesgcm://\S+", got.body).group(0)
        status, _, body = await http_get(aesgcm_fetch_url(link))
        assert status == 200
        assert hashlib.sha256(open_aesgcm(link, body)).digest() == \
            hashlib.sha256(data).digest()
        # A link whose sealed part was tampered with is refused.
        bad = aesgcm_fetch_url(link).replace("/g/", "/g/A", 1)
        status, _, _ = await http_get(bad)
        assert status == 403
    finally:
        await carol.close()


@pytest.fixture
def https_files(tmp_path, gateway):
    """An HTTPS file server on loopback (where an XMPP client's upload
    service would keep files), its certificate made now, and isthmus
    restarted trusting it ([media] ca_file), then back. Yields (base URL,
    directory)."""
    import functools
    import http.server
    import ssl
    import subprocess
    import threading
    from harness import free_port
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    root = tmp_path / "files"
    root.mkdir()
    port = free_port()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    original = gateway.config.read_text()
    gateway.stop()
    gateway.config.write_text(original.replace(
        "[media]\n", f"[media]\nca_file = {cert}\n"))
    gateway.start()
    try:
        yield f"127.0.0.1:{port}", root
    finally:
        server.shutdown()
        gateway.stop()
        gateway.config.write_text(original)
        gateway.start()


async def test_an_omemo_users_file_reaches_matrix(cluster, https_files,
                                                  dave, bob):
    """dave's client encrypts a picture (AES-256-GCM), uploads it and sends
    the aesgcm:// link inside an OMEMO message, as Conversations does: the
    gateway fetches it over HTTPS, opens it with the link's key and posts
    the picture on Matrix. A file that does not open is refused, saying
    why."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from test_media import hs_download, media_events, png
    host, root = https_files
    image = png(4, 3)
    key, iv = os.urandom(32), os.urandom(12)
    (root / "pic.png").write_bytes(AESGCM(key).encrypt(iv, image, None))
    link = f"aesgcm://{host}/pic.png#{iv.hex()}{key.hex()}"
    queue = media_events(bob)
    await dave.send_encrypted(puppet_jid(bob), "a picture for you",
                              version="legacy")
    room_id, _ = await bob.wait_invite()
    await bob.join(room_id)
    await dave.send_encrypted(puppet_jid(bob), link, version="legacy")
    from peers import wait_for
    _, event = await wait_for(queue, lambda item: item[0] == room_id, 40,
                              "the picture on Matrix")
    content = event.source["content"]
    assert content["msgtype"] == "m.image", content
    assert content["info"]["w"] == 4 and content["info"]["h"] == 3
    assert await hs_download(cluster.synapse.url, bob, content["url"]) == \
        image
    assert key.hex() not in str(content)

    # Altered on the server: not bridged, and dave is told.
    data = bytearray((root / "pic.png").read_bytes())
    data[5] ^= 1
    (root / "bad.png").write_bytes(bytes(data))
    msg_id = await dave.send_encrypted(
        puppet_jid(bob), f"aesgcm://{host}/bad.png#{iv.hex()}{key.hex()}",
        version="legacy")
    err = await dave.wait_message(
        lambda m: m["type"] == "error" and m["id"] == msg_id,
        what="the refusal of the altered file")
    assert "does not open" in err["error"]["text"]


async def test_a_contact_gets_the_puppets_devices_as_from_pep(alice, bob):
    """Subscribing to a Matrix user's JID brings its OMEMO device list as a
    PEP notification (what a PEP service sends a new contact), and so
    does coming online later, as it would from the contact's own server."""
    import asyncio
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
    events = asyncio.Queue()
    # slixmpp's "message" event skips messages without a body.
    alice.client.register_handler(Callback(
        "pep events", MatchXPath(
            "{jabber:client}message/"
            "{http://jabber.org/protocol/pubsub#event}event"),
        events.put_nowait))
    node = "eu.siacs.conversations.axolotl.devicelist"

    async def next_list(what):
        while True:
            msg = await asyncio.wait_for(events.get(), 20)
            items = msg.xml.find(
                "{http://jabber.org/protocol/pubsub#event}event/"
                "{http://jabber.org/protocol/pubsub#event}items")
            if items is not None and items.get("node") == node:
                return msg, [d.get("id") for d in items.iter(
                    f"{{{LEGACY}}}device")]

    alice.client.send_presence(pto=puppet_jid(bob), ptype="subscribe")
    msg, devices = await next_list("the device list after subscribing")
    assert msg["from"].bare == puppet_jid(bob)
    assert len(devices) == 1 and int(devices[0]) > 0
    alice.client.send_presence(pto=puppet_jid(bob))
    _, again = await next_list("the device list on coming online")
    assert again == devices


async def test_an_omemo2_dm_both_ways(cluster, gateway, bob):
    """OMEMO 2 (urn:xmpp:omemo:2, what Kaidan and newer clients speak): the
    puppet publishes its device in OMEMO 2's nodes too; messages cross both
    ways inside SCE envelopes, a correction inside the envelope included."""
    from omemo_peer import V2
    kai = await OmemoXmppUser(cluster.prosody, unique("kai"),
                              versions="v2").connect()
    try:
        devices = await kai.device_ids(puppet_jid(bob), version="v2")
        assert len(devices) == 1, devices
        await kai.bundle(puppet_jid(bob), next(iter(devices)), "v2")
        secret = unique("v2-canary-")
        first = await kai.send_encrypted(puppet_jid(bob), f"hallo {secret}",
                                         version="v2")
        room_id, _ = await bob.wait_invite()
        await bob.join(room_id)
        _, event = await bob.wait_message(
            lambda r, e: r == room_id and e.body == f"hallo {secret}",
            what="kai's OMEMO 2 message on Matrix")
        await kai.send_encrypted(
            puppet_jid(bob), f"hallo again {secret}", version="v2",
            encrypted_extra=[f"<replace xmlns='{CORRECT}' id='{first}'/>"])
        _, edit = await bob.wait_message(
            lambda r, e: (e.source["content"].get("m.new_content") or {})
            .get("body") == f"hallo again {secret}",
            what="kai's correction, from inside the envelope")
        assert edit.source["content"]["m.relates_to"]["event_id"] == \
            event.event_id
        await bob.send(room_id, "back in OMEMO 2")
        got = await kai.wait_encrypted(lambda m: m.body == "back in OMEMO 2",
                                       what="bob's answer in OMEMO 2")
        assert got.namespace == V2
        assert kai.plain.empty()
    finally:
        await kai.disconnect()


async def test_a_user_with_a_legacy_and_an_omemo2_device_gets_both(
        cluster, gateway, bob):
    """One message, both versions: the legacy device reads the legacy
    element, the OMEMO 2 one the OMEMO 2 element."""
    old = await OmemoXmppUser(cluster.prosody, unique("lena"),
                              resource="old", versions="legacy").connect()
    new = await OmemoXmppUser(cluster.prosody, old.name, resource="new",
                              register=False, versions="v2").connect()
    try:
        room_id = await bob.create_dm(ghost_id(old))
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(old)
            and e.membership == "join", what="the ghost joining the DM")
        await bob.send(room_id, "to both of your devices")
        a = await old.wait_encrypted(
            lambda m: m.body == "to both of your devices",
            what="the message on the legacy device")
        b = await new.wait_encrypted(
            lambda m: m.body == "to both of your devices",
            what="the message on the OMEMO 2 device")
        assert a.version == "legacy" and b.version == "v2"
        assert old.plain.empty() and new.plain.empty()
    finally:
        await new.disconnect()
        await old.disconnect()


async def test_fingerprints_of_a_conversation_on_both_sides(
        cluster, gateway, dave, tmp_path):
    """The fingerprints command lists a conversation's keys on both sides,
    from XMPP (ad-hoc) and from Matrix (the bot): dave's OMEMO device as
    the gateway trusted it, the puppet's, carol's Matrix device, dave's
    ghost's; each as the other side's client shows it."""
    from test_commands import adhoc, ask, fields_of, note_of, open_bot_dm
    carol = await e2ee_user(cluster, tmp_path)
    try:
        room_id = await encrypted_dm(carol, dave)
        await carol.send(room_id, "keys?")
        await dave.wait_encrypted(lambda m: m.body == "keys?",
                                  what="carol's message")
        await dave.send_encrypted(puppet_jid(carol), "keys!",
                                  version="legacy")
        await carol.wait_message(lambda r, e: e.body == "keys!",
                                 what="dave's answer")
        iq = await adhoc(dave, "fingerprints", carol.client.user_id)
        assert iq["type"] == "result", iq
        text = " ".join([str(note_of(iq))] + [str(v) for v in
                                              fields_of(iq).values()])
        mine = dave.fingerprint.replace(" ", "").lower()
        assert mine in text.replace(" ", "").lower(), text
        puppet_fp = (await dave.device_fingerprints(puppet_jid(carol)))
        for fp in puppet_fp.values():
            assert fp.replace(" ", "").lower() in \
                text.replace(" ", "").lower(), (fp, text)
        carol_ed = carol.client.olm.account.identity_keys["ed25519"]
        assert carol_ed in text, text
        # From Matrix, through the bot.
        bot_room = await open_bot_dm(carol)
        answer = await ask(carol, bot_room, f"fingerprints {dave.jid}")
        assert mine in answer.replace(" ", "").lower(), answer
        assert carol_ed in answer
        # A wrong argument gets a clear message.
        iq = await adhoc(dave, "fingerprints", "not an address")
        assert "Give the other side" in str(iq), iq
    finally:
        await carol.close()


async def test_omemo2_replies_reactions_and_retractions_inside_envelopes(
        cluster, gateway, bob):
    """OMEMO 2 carries what is about the text inside its envelope: a reply,
    a reaction and a retraction from kai reach Matrix as such; bob's reply
    reaches kai with its reply element inside the envelope, nothing of it
    in clear."""
    from nio import ReactionEvent, RedactionEvent
    kai = await OmemoXmppUser(cluster.prosody, unique("kai"),
                              versions="v2").connect()
    events = asyncio.Queue()

    async def on_event(room, event):
        await events.put(event)
    bob.client.add_event_callback(on_event, (ReactionEvent, RedactionEvent))
    try:
        first = await kai.send_encrypted(puppet_jid(bob), "the original",
                                         version="v2")
        room_id, _ = await bob.wait_invite()
        await bob.join(room_id)
        _, original = await bob.wait_message(
            lambda r, e: e.body == "the original", what="the original")
        await kai.send_encrypted(
            puppet_jid(bob), "> the original\nmy reply", version="v2",
            encrypted_extra=[
                f"<reply xmlns='urn:xmpp:reply:0' id='{first}' "
                f"to='{puppet_jid(bob)}'/>",
                "<fallback xmlns='urn:xmpp:fallback:0' "
                "for='urn:xmpp:reply:0'><body start='0' end='15'/>"
                "</fallback>"])
        _, reply = await bob.wait_message(
            lambda r, e: (e.source["content"].get("m.relates_to") or {})
            .get("m.in_reply_to"), what="kai's reply")
        assert reply.source["content"]["m.relates_to"]["m.in_reply_to"][
            "event_id"] == original.event_id
        await kai.send_encrypted(
            puppet_jid(bob), None, version="v2",
            encrypted_extra=[f"<reactions xmlns='urn:xmpp:reactions:0' "
                             f"id='{first}'><reaction>👍</reaction>"
                             "</reactions>"])
        reaction = await wait_for(
            events, lambda e: isinstance(e, ReactionEvent), 20,
            "kai's reaction")
        assert reaction.reacts_to == original.event_id
        assert reaction.key == "👍"
        await kai.send_encrypted(
            puppet_jid(bob), None, version="v2",
            encrypted_extra=[f"<retract xmlns='urn:xmpp:message-retract:1' "
                             f"id='{first}'/>"])
        redaction = await wait_for(
            events, lambda e: isinstance(e, RedactionEvent) and
            e.redacts == original.event_id, 20, "kai's retraction")
        assert redaction
        # Matrix -> XMPP: bob's reply, its reference inside the envelope.
        await bob.send(room_id, None, content={
            "msgtype": "m.text", "body": "bob answers",
            "m.relates_to": {"m.in_reply_to": {
                "event_id": reply.event_id}}})
        got = await kai.wait_encrypted(
            lambda m: (m.body or "").endswith("bob answers"),
            what="bob's reply, in OMEMO 2")
        ref = got.element("{urn:xmpp:reply:0}reply")
        assert ref is not None, got.content
        assert got.stanza.xml.find("{urn:xmpp:reply:0}reply") is None
    finally:
        await kai.disconnect()


async def test_a_contacts_new_device_is_pushed_to_the_puppet(
        cluster, gateway, bob):
    """A contact subscribed both ways with a puppet: the puppet's presence
    announces OMEMO's +notify (XEP-0115 caps), so the contact's server
    pushes their device-list changes to it, and a new device gets the next
    message from Matrix without having written first."""
    import re
    from harness import wait_until
    phone = await OmemoXmppUser(cluster.prosody, unique("nina"),
                                resource="phone", versions="legacy").connect()
    laptop = None
    try:
        room_id = await bob.create_dm(ghost_id(phone))
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(phone)
            and e.membership == "join", what="the ghost joining the DM")
        phone.client.send_presence(pto=puppet_jid(bob), ptype="subscribe")
        await bob.send(room_id, "one")
        await phone.wait_encrypted(lambda m: m.body == "one",
                                   what="the first message on the phone")
        mark = len(gateway.log_text())
        laptop = await OmemoXmppUser(cluster.prosody, phone.name,
                                     resource="laptop", register=False,
                                     versions="legacy").connect()
        want = re.compile(rf"has an OMEMO session with device "
                          rf"{laptop.own_device_id} of {phone.jid}")
        await asyncio.to_thread(
            wait_until, lambda: "announced 2 OMEMO device(s)" in
            gateway.log_text()[mark:] and want.search(
                gateway.log_text()[mark:]), 20,
            "the new device's list pushed to the puppet, and a session")
        await bob.send(room_id, "two")
        await laptop.wait_encrypted(lambda m: m.body == "two",
                                    what="the next message on the laptop")
    finally:
        if laptop:
            await laptop.disconnect()
        await phone.disconnect()
