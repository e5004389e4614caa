"""Converse.js (headless Chromium, Prosody's websocket) in a Matrix room
reached through isthmus. Screenshots are kept in tests/clients/artifacts/."""

from harness import DOMAIN
from peers import unique

from clients import ghost_id, matrix_room, shows


async def test_converse_talks_with_matrix(cluster, gateway, web, converse):
    topic = unique("Converse lounge topic ")
    (bob,), room_id, muc_jid = await matrix_room(cluster, topic, "Bob B")
    name = unique("carl")
    cluster.prosody.register(name, "secret")
    conv = await converse()
    try:
        await conv.open(web, f"ws://127.0.0.1:{cluster.prosody.http_port}"
                        "/xmpp-websocket", f"{name}@{DOMAIN}", "secret",
                        muc_jid, "carl")
        # Joined: the topic is the subject; Bob is a participant under his
        # display name.
        await conv.wait(shows(topic, "Bob B", "carl"),
                        "the subject and the participants Bob B and carl")
        await conv.screenshot("joined")

        # Converse.js -> Matrix
        hello = unique("hello from converse ")
        await conv.send(hello)
        _, event = await bob.wait_message(
            lambda r, e: r == room_id and e.body == hello,
            what="Converse's message on Matrix")
        assert event.sender == ghost_id(name)

        # Matrix -> Converse.js, from room/<display name>
        reply = unique("hi carl, from Matrix ")
        await bob.send(room_id, reply)
        shown = await conv.wait_message(lambda m: m["text"] == reply,
                                        f"Bob's reply {reply!r}")
        assert shown["from"] == f"{muc_jid}/Bob B", shown
        await conv.wait(shows(f"Bob B"), "Bob B as the author")
        await conv.screenshot("replied")

        # Its own message once: the reflection replaced the local copy.
        mine = [m for m in await conv.messages() if m["text"] == hello]
        assert len(mine) == 1, mine
        assert mine[0]["from"] == f"{muc_jid}/carl", mine
    finally:
        await bob.close()
