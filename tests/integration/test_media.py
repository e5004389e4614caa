"""Files both ways, in a DM, a gateway-mode room and a portal room.

XMPP -> Matrix: slixmpp uploads with XEP-0363 (Prosody's http_file_share)
and sends the URL as body and XEP-0066 OOB; the gateway downloads it and
posts m.image/m.file with the file in the Matrix media repository.
Matrix -> XMPP: an m.image/m.file event becomes the URL of the gateway's
media proxy (body + OOB), which streams the file from the homeserver.
The test cluster's isthmus has a 1 MB media limit (harness.py)."""

import asyncio
import hashlib
import io
import json
import os
import struct
import urllib.error
import urllib.parse
import urllib.request
import zlib

import slixmpp
from nio import RoomMessageMedia, RoomMessageNotice, RoomMessageText, \
    RoomSendResponse

from harness import MEDIA_MAX_BYTES, MUC
from peers import XmppUser, wait_for
from test_dm import ghost_id, open_dm_from_xmpp, puppet_jid
from test_muc_gateway import make_room, matrix_pair, muc
from test_muc_portal import create_muc, join_portal, matrix_user, \
    occupant_ghost, wait_occupant

NS_OOB = "jabber:x:oob"


def png(width=3, height=2):
    """A valid RGB PNG of the given size, built by hand."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data)))
    rows = b"".join(b"\x00" + bytes(((x * 70) % 256, (y * 90) % 256, 200)[i]
                                    for x in range(width) for i in range(3))
                    for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0,
                                       0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def http_get_blocking(url, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


async def http_get(url, token=None):
    """(status, headers, body) of a GET, off the event loop."""
    return await asyncio.to_thread(http_get_blocking, url, token)


async def hs_upload(synapse_url, user, data, content_type, filename):
    """Uploads to the Matrix media repository as user; returns the mxc."""
    def run():
        req = urllib.request.Request(
            f"{synapse_url}/_matrix/media/v3/upload?filename="
            f"{urllib.parse.quote(filename)}", data=data, method="POST",
            headers={"Content-Type": content_type,
                     "Authorization": f"Bearer {user.client.access_token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())["content_uri"]
    return await asyncio.to_thread(run)


async def hs_download(synapse_url, user, mxc):
    server, media_id = mxc[len("mxc://"):].split("/", 1)
    status, headers, body = await http_get(
        f"{synapse_url}/_matrix/client/v1/media/download/{server}/{media_id}",
        user.client.access_token)
    assert status == 200, (status, body[:200])
    return body


async def send_media(user, room_id, msgtype, mxc, filename, mimetype,
                     size=None):
    info = {"mimetype": mimetype}
    if size is not None:
        info["size"] = size
    resp = await user.client.room_send(room_id, "m.room.message", {
        "msgtype": msgtype, "body": filename, "url": mxc, "info": info})
    assert isinstance(resp, RoomSendResponse), resp
    return resp.event_id


def media_events(user):
    """A queue of (room id, event) for every media event user sees."""
    queue = asyncio.Queue()

    async def on_event(room, event):
        await queue.put((room.room_id, event))
    user.client.add_event_callback(on_event, RoomMessageMedia)
    return queue


async def xmpp_share(user, to, data, filename, content_type, mtype,
                     desc=None):
    """Uploads with XEP-0363 and sends the URL as body and OOB, as
    Conversations, Dino and Gajim do. Returns the upload URL."""
    if "xep_0363" not in user.client.plugin:
        user.client.register_plugin("xep_0363")
    url = await user.client.plugin["xep_0363"].upload_file(
        filename, size=len(data), content_type=content_type,
        input_file=io.BytesIO(data), timeout=20)
    msg = user.client.make_message(mto=to, mbody=url, mtype=mtype)
    x = slixmpp.ET.Element(f"{{{NS_OOB}}}x")
    slixmpp.ET.SubElement(x, f"{{{NS_OOB}}}url").text = url
    if desc is not None:
        slixmpp.ET.SubElement(x, f"{{{NS_OOB}}}desc").text = desc
    msg.append(x)
    msg.send()
    return url


def oob_url(msg):
    url = msg.xml.find(f"{{{NS_OOB}}}x/{{{NS_OOB}}}url")
    return url.text if url is not None else None


async def xmpp_image_reaches_matrix(cluster, xmpp_user, matrix, queue,
                                    room_id, to, mtype, sender):
    """(a) A PNG shared from XMPP arrives as m.image with its info, and the
    mxc holds the same bytes."""
    image = png(3, 2)
    url = await xmpp_share(xmpp_user, to, image, "dot.png", "image/png",
                           mtype)
    if mtype == "groupchat":
        # The room echoes it to its sender still as a file (with OOB).
        echo = await xmpp_user.wait_message(
            lambda m: m["type"] == "groupchat" and m["body"] == url,
            what="the room's echo of the shared image")
        assert oob_url(echo) == url
    _, event = await wait_for(
        queue, lambda item: item[0] == room_id and
        item[1].source["content"].get("msgtype") == "m.image", 40,
        "the XMPP image as m.image")
    content = event.source["content"]
    assert event.sender == sender
    assert content["body"] == "dot.png"
    assert content["info"] == {"mimetype": "image/png", "size": len(image),
                               "w": 3, "h": 2}
    assert content["url"].startswith("mxc://")
    assert await hs_download(cluster.synapse.url, matrix,
                             content["url"]) == image


async def matrix_files_reach_xmpp(cluster, xmpp_user, matrix, room_id):
    """(b) m.file and m.image from Matrix arrive as a proxy URL in body and
    OOB; the proxy serves the same bytes, type and length. (c) Forged URLs
    are refused."""
    notes = b"minutes of the meeting\n" * 40
    mxc = await hs_upload(cluster.synapse.url, matrix, notes, "text/plain",
                          "notes.txt")
    await send_media(matrix, room_id, "m.file", mxc, "notes.txt",
                     "text/plain", len(notes))
    got = await xmpp_user.wait_message(
        lambda m: oob_url(m) is not None and "notes.txt" in oob_url(m),
        what="the Matrix file on XMPP")
    url = oob_url(got)
    assert got["body"] == url
    assert url.startswith(cluster.isthmus.url + "/_isthmus/media/v1/")
    status, headers, body = await http_get(url)
    assert status == 200
    assert body == notes
    assert headers["Content-Type"].startswith("text/plain")
    assert int(headers["Content-Length"]) == len(notes)

    image = png(5, 4)
    mxc = await hs_upload(cluster.synapse.url, matrix, image, "image/png",
                          "shot.png")
    await send_media(matrix, room_id, "m.image", mxc, "shot.png",
                     "image/png", len(image))
    got = await xmpp_user.wait_message(
        lambda m: oob_url(m) is not None and "shot.png" in oob_url(m),
        what="the Matrix image on XMPP")
    status, headers, body = await http_get(oob_url(got))
    assert (status, body) == (200, image)
    assert headers["Content-Type"] == "image/png"
    assert int(headers["Content-Length"]) == len(image)

    # A sticker (its own event type, a description for body) arrives as an
    # image: the description, then the link, with OOB.
    resp = await matrix.client.room_send(room_id, "m.sticker", {
        "body": "a waving square", "url": mxc,
        "info": {"mimetype": "image/png", "w": 5, "h": 4,
                 "size": len(image)}})
    assert isinstance(resp, RoomSendResponse), resp
    got = await xmpp_user.wait_message(
        lambda m: oob_url(m) is not None and "sticker.png" in oob_url(m),
        what="the Matrix sticker on XMPP")
    assert got["body"] == "a waving square\n" + oob_url(got)
    status, headers, body = await http_get(oob_url(got))
    assert (status, body) == (200, image)
    assert headers["Content-Type"] == "image/png"

    # (c) The URL's MAC covers the media and the file name.
    prefix, rest = url.split("/_isthmus/media/v1/", 1)
    mac, server, media_id, name = rest.split("/")
    flipped = ("0" if mac[0] != "0" else "1") + mac[1:]
    for forged in (f"{prefix}/_isthmus/media/v1/{flipped}/{server}/"
                   f"{media_id}/{name}",
                   f"{prefix}/_isthmus/media/v1/{mac}/{server}/"
                   f"{media_id}/other.txt",
                   f"{prefix}/_isthmus/media/v1/{mac}/{server}/"
                   f"AAAAnotthatone/{name}"):
        status, _, body = await http_get(forged)
        assert status == 403, (forged, status)
        assert b"not issued by this gateway" in body
    status, _, _ = await http_get(f"{prefix}/_isthmus/media/v1/junk")
    assert status == 404
    # The hs_token's routes stay closed to the public.
    status, _, _ = await http_get(f"{prefix}/_matrix/app/v1/users/@x:y")
    assert status == 401


async def matrix_too_large_gets_a_notice(cluster, matrix, room_id):
    """(d) A Matrix file whose info announces more than the limit does not
    cross, and its sender is told so in the room."""
    mxc = await hs_upload(cluster.synapse.url, matrix, b"tiny",
                          "application/octet-stream", "huge.bin")
    await send_media(matrix, room_id, "m.file", mxc, "huge.bin",
                     "application/octet-stream", MEDIA_MAX_BYTES + 1)
    _, notice = await matrix.wait_message(
        lambda r, e: r == room_id and isinstance(e, RoomMessageNotice),
        what="the notice for a too large file")
    assert "larger than the gateway's media size limit" in notice.body


async def test_media_in_a_dm(cluster, alice, bob):
    room_id = await open_dm_from_xmpp(alice, bob, "files coming")
    queue = media_events(bob)
    await xmpp_image_reaches_matrix(cluster, alice, bob, queue, room_id,
                                    puppet_jid(bob), "chat", ghost_id(alice))
    await matrix_files_reach_xmpp(cluster, alice, bob, room_id)

    # An OOB description becomes the Matrix caption.
    await xmpp_share(alice, puppet_jid(bob), png(2, 2), "logo.png",
                     "image/png", "chat", desc="our new logo")
    _, event = await wait_for(
        queue, lambda item: item[0] == room_id and
        item[1].source["content"].get("filename") == "logo.png", 40,
        "the captioned image")
    assert event.source["content"]["body"] == "our new logo"
    assert event.source["content"]["info"]["w"] == 2

    # A file larger than the proxy's buffer streams through whole (the
    # homeserver transfer pauses while the client catches up).
    large = os.urandom(MEDIA_MAX_BYTES - 1000)
    mxc = await hs_upload(cluster.synapse.url, bob, large,
                          "application/octet-stream", "large.bin")
    await send_media(bob, room_id, "m.file", mxc, "large.bin",
                     "application/octet-stream", len(large))
    got = await alice.wait_message(
        lambda m: oob_url(m) is not None and "large.bin" in oob_url(m),
        what="the large file on XMPP")
    status, headers, body = await http_get(oob_url(got))
    assert status == 200
    assert int(headers["Content-Length"]) == len(large)
    assert hashlib.sha256(body).digest() == hashlib.sha256(large).digest()

    # (d) Over the limit, XMPP -> Matrix: the sender gets an error.
    big = bytes(range(256)) * (MEDIA_MAX_BYTES // 256 + 50)
    await xmpp_share(alice, puppet_jid(bob), big, "big.bin",
                     "application/octet-stream", "chat")
    error = await alice.wait_message(
        lambda m: m["type"] == "error", what="the error for a too large file")
    assert error["error"]["condition"] == "not-acceptable"
    assert "larger than the gateway's limit" in error["error"]["text"]

    # Over the limit, Matrix -> XMPP: announced in info, the sender gets a
    # notice; not announced, the proxy refuses with 413.
    await matrix_too_large_gets_a_notice(cluster, bob, room_id)
    mxc = await hs_upload(cluster.synapse.url, bob, big,
                          "application/octet-stream", "big.bin")
    await send_media(bob, room_id, "m.file", mxc, "quiet.bin",
                     "application/octet-stream")
    got = await alice.wait_message(
        lambda m: oob_url(m) is not None and "quiet.bin" in oob_url(m),
        what="the unannounced large file on XMPP")
    status, _, body = await http_get(oob_url(got))
    assert status == 413
    assert b"larger than this gateway's limit" in body


async def test_media_in_a_gateway_room(cluster, gateway, alice):
    bob, carol = await matrix_pair(cluster)
    try:
        room_id, muc_jid = await make_room(bob, carol, "files")
        queue = media_events(bob)
        await muc(alice).join_muc_wait(muc_jid, "alice", maxstanzas=0,
                                       timeout=30)
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(alice)
            and e.membership == "join", what="alice's ghost joining")
        await xmpp_image_reaches_matrix(cluster, alice, bob, queue, room_id,
                                        muc_jid, "groupchat", ghost_id(alice))
        await matrix_files_reach_xmpp(cluster, alice, bob, room_id)

        big = b"\x01" * (MEDIA_MAX_BYTES + 1)
        await xmpp_share(alice, muc_jid, big, "big.bin",
                         "application/octet-stream", "groupchat")
        error = await alice.wait_message(
            lambda m: m["type"] == "error",
            what="the error for a too large file")
        assert "larger than the gateway's limit" in error["error"]["text"]
        await matrix_too_large_gets_a_notice(cluster, bob, room_id)

        # History on joining carries the files as links with OOB too.
        dave = await XmppUser(cluster.prosody).connect()
        try:
            _, _, _, history = await muc(dave).join_muc_wait(
                muc_jid, "dave", maxstanzas=20, timeout=30)
            shots = [m for m in history
                     if oob_url(m) and "shot.png" in oob_url(m)]
            assert shots, [m["body"] for m in history]
            assert shots[0]["body"] == oob_url(shots[0])
            status, _, body = await http_get(oob_url(shots[0]))
            assert (status, body) == (200, png(5, 4))
        finally:
            await dave.disconnect()
    finally:
        await bob.close()
        await carol.close()


async def test_media_in_a_portal(cluster, gateway, alice):
    room, _ = await create_muc(alice, nick="alice")
    room_jid = f"{room}@{MUC}"
    bob = await matrix_user(cluster, "Bob M")
    try:
        queue = media_events(bob)
        room_id = await join_portal(bob, room)
        await wait_occupant(alice, room, "Bob M")
        await bob.wait_member(
            lambda r, e: r == room_id and
            e.state_key == occupant_ghost(room, "alice") and
            e.membership == "join", what="alice's ghost in the portal")
        await xmpp_image_reaches_matrix(cluster, alice, bob, queue, room_id,
                                        room_jid, "groupchat",
                                        occupant_ghost(room, "alice"))
        await matrix_files_reach_xmpp(cluster, alice, bob, room_id)

        # Over the limit in a MUC: nobody to send an error to without
        # bothering the room, so the file is posted as its link.
        big = b"\x02" * (MEDIA_MAX_BYTES + 1)
        url = await xmpp_share(alice, room_jid, big, "big.bin",
                               "application/octet-stream", "groupchat")
        _, link = await bob.wait_message(
            lambda r, e: r == room_id and isinstance(e, RoomMessageText)
            and e.body == url, what="the too large file as a link")
        assert link.sender == occupant_ghost(room, "alice")
        await matrix_too_large_gets_a_notice(cluster, bob, room_id)
    finally:
        await bob.close()


async def test_many_files_at_once_all_arrive(cluster, gateway, bob):
    """More files in flight than the gateway downloads at once (4): the
    rest wait their turn, and every one arrives."""
    senders = [await XmppUser(cluster.prosody).connect() for _ in range(6)]
    try:
        rooms = {}
        for i, user in enumerate(senders):
            rooms[await open_dm_from_xmpp(user, bob, f"hello {i}")] = i
        queue = media_events(bob)
        images = [png(i + 1, 1) for i in range(len(senders))]
        await asyncio.gather(*(
            xmpp_share(user, puppet_jid(bob), images[i], f"p{i}.png",
                       "image/png", "chat")
            for i, user in enumerate(senders)))
        seen = set()
        while len(seen) < len(senders):
            room_id, event = await wait_for(
                queue, lambda item: item[0] in rooms, 60,
                f"the files of all senders (got {sorted(seen)})")
            i = rooms[room_id]
            assert event.source["content"]["info"]["w"] == i + 1
            seen.add(i)
    finally:
        for user in senders:
            await user.disconnect()
