"""The issue's whole scene: a Profanity user and a Converse.js user, in one
Matrix room reached through isthmus, talk with two Matrix users. Everyone
sees the right nicks, the subject and each other's messages."""

import re


from harness import DOMAIN
from peers import unique

from clients import ghost_id, matrix_room, message_lines, shows


async def scene(cluster, web, profanity, converse):
    """Bob and Dora on Matrix; Alice on Profanity and Carl on Converse.js,
    all in one room, everyone's join seen by the XMPP clients."""
    topic = unique("Everyone's lounge ")
    (bob, dora), room_id, muc_jid = await matrix_room(cluster, topic,
                                                      "Bob B", "Dora D")
    alice, carl = unique("alice"), unique("carl")
    for name in (alice, carl):
        cluster.prosody.register(name, "secret")
    prof = profanity()
    await prof.connect(f"{alice}@{DOMAIN}", "secret",
                       cluster.prosody.c2s_port)
    await prof.join(muc_jid, "Alice")
    conv = await converse()
    await conv.open(web, f"ws://127.0.0.1:{cluster.prosody.http_port}"
                    "/xmpp-websocket", f"{carl}@{DOMAIN}", "secret",
                    muc_jid, "Carl")
    await conv.wait(shows(topic, "Bob B", "Dora D", "4 Participants"),
                    "the subject and four participants with Bob B and "
                    "Dora D among them")
    await conv.screenshot("joined")
    await prof.wait(shows(f"Room subject: {topic}", "Bob B", "Dora D"),
                    "the subject and the occupants Bob B and Dora D")
    return dict(bob=bob, dora=dora, room_id=room_id, muc_jid=muc_jid,
                alice=alice, carl=carl, prof=prof, conv=conv)


def said(text, body):
    """Profanity's message lines with this body, whoever the author."""
    return [line for line in text.splitlines()
            if re.match(r"^\d\d:\d\d:\d\d - .+: " + re.escape(body) +
                        r"(\s|$)", line)]


async def test_profanity_converse_and_matrix_together(cluster, gateway, web,
                                                      profanity, converse):
    s = await scene(cluster, web, profanity, converse)
    bob, dora, prof, conv = s["bob"], s["dora"], s["prof"], s["conv"]
    room_id, muc_jid = s["room_id"], s["muc_jid"]
    try:
        async def on_matrix(body, sender):
            for user in (bob, dora):
                _, event = await user.wait_message(
                    lambda r, e: r == room_id and e.body == body,
                    what=f"{body!r} on Matrix for {user.user_id}")
                assert event.sender == sender

        # Profanity speaks: both Matrix users and Converse.js see it.
        from_prof = unique("Profanity says ")
        prof.type(from_prof)
        await on_matrix(from_prof, ghost_id(s["alice"]))
        await conv.wait_message(lambda m: m["text"] == from_prof,
                                f"Alice's {from_prof!r}")

        # Converse.js speaks: both Matrix users and Profanity see it.
        from_conv = unique("Converse says ")
        await conv.send(from_conv)
        await on_matrix(from_conv, ghost_id(s["carl"]))
        await prof.wait(lambda t: said(t, from_conv), f"'…: {from_conv}'")

        # Each Matrix user speaks: both XMPP clients see it under the
        # speaker's display name.
        for user, nick in ((bob, "Bob B"), (dora, "Dora D")):
            body = unique(f"{nick} answers ")
            await user.send(room_id, body)
            await prof.wait(lambda t: message_lines(t, nick, body),
                            f"'{nick}: {body}'")
            shown = await conv.wait_message(lambda m: m["text"] == body,
                                            f"{nick}'s {body!r}")
            assert shown["from"] == f"{muc_jid}/{nick}", shown
        await conv.screenshot("talked")
        prof.save(await prof.screen())
    finally:
        await bob.close()
        await dora.close()


async def test_xmpp_users_see_each_others_nick(cluster, gateway, web,
                                               profanity, converse):
    s = await scene(cluster, web, profanity, converse)
    prof, conv, muc_jid = s["prof"], s["conv"], s["muc_jid"]
    try:
        from_prof = unique("Profanity says ")
        prof.type(from_prof)
        shown = await conv.wait_message(lambda m: m["text"] == from_prof,
                                        f"Alice's {from_prof!r}")
        from_conv = unique("Converse says ")
        await conv.send(from_conv)
        screen = await prof.wait(lambda t: said(t, from_conv),
                                 f"'…: {from_conv}'")
        prof.save(screen)
        page = await conv.text()
        await conv.screenshot("nicks")
        # Converse.js: Alice's message is from room/Alice, and the
        # participant list names her Alice, not by her JID's localpart.
        assert shown["from"] == f"{muc_jid}/Alice", shown
        assert s["alice"] not in page, page
        # Profanity: Carl's line and the occupant list say Carl.
        assert message_lines(screen, "Carl", from_conv), screen
        assert s["carl"] not in screen, screen
    finally:
        await s["bob"].close()
        await s["dora"].close()
