"""Hostile and careless input: every case is refused cleanly, logged
without secrets, and leaves the gateway serving everyone else."""

import socket

from harness import COMPONENT, DOMAIN
from peers import MatrixUser, XmppUser
from test_dm import ghost_id, open_dm_from_xmpp, puppet_jid
from test_robustness import appservice, txn_path


def test_the_bot_lies_outside_the_ghosts(cluster, gateway):
    """The registration gives the bot to the appservice as its sender, not
    through the ghosts' regex, and the homeserver knows it by that name."""
    import json
    import re
    import urllib.request
    text = cluster.isthmus.registration.read_text()
    assert "sender_localpart: '_xmpp'\n" in text, text
    users = re.search(r"users:\n    - exclusive: true\n      regex: '(.*)'",
                      text).group(1)
    assert not re.fullmatch(users, f"@_xmpp:{DOMAIN}")
    assert re.fullmatch(users, f"@_xmpp_alice=40{DOMAIN}:{DOMAIN}")
    req = urllib.request.Request(
        cluster.synapse.url + "/_matrix/client/v3/account/whoami",
        headers={"Authorization": f"Bearer {gateway.as_token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert json.load(r)["user_id"] == f"@_xmpp:{DOMAIN}"


def raw_http(port, request: bytes):
    """Sends a raw request and returns the status line and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head, _, body = data.partition(b"\r\n\r\n")
                length = [int(line.split(b":")[1]) for line in
                          head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")]
                if length and len(body) >= length[0]:
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), body


def test_oversized_request_body_gets_413(cluster, gateway):
    # Announced size over the limit: refused before any body is read.
    status, body = raw_http(gateway.port, (
        f"PUT {txn_path('huge')} HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {gateway.hs_token}\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 20000000\r\n\r\n").encode())
    assert " 413 " in status and b"M_TOO_LARGE" in body
    # Chunked, with no size announced: cut off once it passes the limit.
    chunk = b"[" + b"0," * (1 << 20) + b"0]"
    request = (f"PUT {txn_path('huge-chunked')} HTTP/1.1\r\nHost: x\r\n"
               f"Authorization: Bearer {gateway.hs_token}\r\n"
               "Transfer-Encoding: chunked\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", gateway.port),
                                  timeout=10) as s:
        s.sendall(request)
        try:
            for _ in range(12):   # 12 x 2 MiB > the 10 MiB default
                s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = s.recv(65536)
    assert b" 413 " in reply.split(b"\r\n")[0]
    assert gateway.running()
    assert appservice(gateway, "POST", "/_matrix/app/v1/ping",
                      {"transaction_id": "after"})[0] == 200


def test_invalid_utf8_in_a_transaction_is_rejected(cluster, gateway):
    body = (b'{"events":[{"type":"m.room.message","room_id":"!r:localhost",'
            b'"sender":"@x:localhost","event_id":"$bad","content":'
            b'{"msgtype":"m.text","body":"bad \xc3\x28 bytes"}}]}')
    status, reply = appservice(gateway, "PUT", txn_path("utf8"), raw=body)
    assert status == 400 and reply["errcode"] == "M_NOT_JSON"


async def test_spoofed_from_is_not_believed(cluster, gateway, alice, bob):
    carol = XmppUser(cluster.prosody)   # exists, but is not logged in
    await open_dm_from_xmpp(alice, bob, "hello")
    msg = alice.client.make_message(mto=puppet_jid(bob), mbody="i am carol",
                                    mtype="chat")
    msg["from"] = carol.jid
    msg.send()
    _, event = await bob.wait_message(lambda r, e: e.body == "i am carol",
                                      what="the message with a forged from")
    # The server stamps the real sender; the gateway trusts only that.
    assert event.sender == ghost_id(alice)


async def test_nobody_can_speak_through_a_ghost(cluster, gateway, alice):
    # Addressing a ghost as if it were a Matrix user would let a message be
    # attributed to another XMPP user; the mapping refuses it, and the
    # gateway's own bot (outside the ghosts' namespace) too.
    for to in (f"_xmpp_carol=40{DOMAIN}%{DOMAIN}@{COMPONENT}",
               f"_xmpp_bot%{DOMAIN}@{COMPONENT}",
               f"_xmpp%{DOMAIN}@{COMPONENT}"):
        sent = alice.send(to, "pretending")
        err = await alice.wait_message(
            lambda m, i=sent["id"]: m["type"] == "error" and m["id"] == i,
            what=f"an error for {to}")
        assert err["error"]["condition"] == "item-not-found"
    # Transactions carrying events from ghosts are never bridged back.
    status, _ = appservice(gateway, "PUT", txn_path("ghost-echo"), {
        "events": [{"type": "m.room.message", "room_id": "!any:localhost",
                    "sender": ghost_id(alice), "event_id": "$echo",
                    "content": {"msgtype": "m.text", "body": "echo"}}]})
    assert status == 200


async def test_xml_bomb_from_a_client_does_not_reach_the_gateway(
        cluster, gateway, alice, bob):
    """The connection policy: isthmus talks XML only with its own XMPP
    server, which refuses DTDs and oversized stanzas on client streams; a
    client that tries is cut off and the gateway never sees it."""
    bomb = ("<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaaaaaaaa'>"
            "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>]>"
            "<stream:stream to='localhost' xmlns='jabber:client' "
            "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
    with socket.create_connection(("127.0.0.1", cluster.prosody.c2s_port),
                                  timeout=10) as s:
        s.sendall(bomb.encode())
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    assert b"stream:error" in reply or reply == b""
    # Meanwhile the bridge works as before.
    await open_dm_from_xmpp(alice, bob, "still fine after the bomb")


async def test_a_flood_is_limited_without_starving_others(cluster, gateway,
                                                          alice, bob):
    carol = await XmppUser(cluster.prosody).connect()
    try:
        room_id = await open_dm_from_xmpp(alice, bob, "flood 0")
        flood = 400   # more than the default burst of 200
        ids = [alice.send(puppet_jid(bob), f"flood {i}")["id"]
               for i in range(1, flood + 1)]
        for i in range(5):
            carol.send(puppet_jid(bob), f"carol {i}")
        # Alice hears at once which of hers were refused.
        flood_ids = set(ids)
        refused = set()
        while True:
            try:
                m = await alice.wait_message(
                    lambda m: m["type"] == "error" and m["id"] in flood_ids,
                    timeout=3 if refused else 20,
                    what="resource-constraint errors for the flood")
            except AssertionError:
                if refused:
                    break
                raise
            assert m["error"]["condition"] == "resource-constraint"
            assert m["error"]["type"] == "wait"
            refused.add(m["id"])
        accepted = [i + 1 for i, sid in enumerate(ids) if sid not in refused]
        assert 200 <= len(accepted) < flood

        # Carol gets through during the flood, and every accepted message
        # of alice's arrives once, in order. One pass over bob's timeline,
        # since waiting for one kind would skip the other.
        carol_room, _ = await bob.wait_invite()
        await bob.join(carol_room)
        carols, floods = [], []
        while len(carols) < 5 or len(floods) < len(accepted):
            r, e = await bob.wait_message(
                lambda r, e: (r == carol_room and e.body.startswith("carol "))
                or (r == room_id and e.body.startswith("flood ")
                    and e.body != "flood 0"),
                what=f"carol's 5 and alice's {len(accepted)} messages "
                     f"(have {len(carols)} and {len(floods)})")
            (carols if r == carol_room else floods).append(e.body)
        assert carols == [f"carol {i}" for i in range(5)]
        assert floods == [f"flood {i}" for i in accepted]
    finally:
        await carol.disconnect()


async def test_tokens_never_reach_the_log(cluster, gateway):
    log = gateway.log_text()
    assert gateway.hs_token not in log
    assert gateway.as_token not in log
    assert MatrixUser  # the peers module is importable for the others
