"""Profanity (under tmux) in a Matrix room reached through isthmus."""


from harness import DOMAIN
from peers import unique

from clients import ghost_id, matrix_room, message_lines, shows


async def test_profanity_talks_with_matrix(cluster, gateway, profanity):
    topic = unique("Topic of the lounge ")
    (bob,), room_id, muc_jid = await matrix_room(cluster, topic, "Bob B")
    name = unique("alice")
    cluster.prosody.register(name, "secret")
    prof = profanity()
    try:
        await prof.connect(f"{name}@{DOMAIN}", "secret",
                           cluster.prosody.c2s_port)
        await prof.join(muc_jid, "alice")
        # The subject is the room's topic; the Matrix user is an occupant
        # under their display name.
        await prof.wait(shows(f"Room subject: {topic}"), "the room subject")
        await prof.wait(shows("Bob B"), "Bob's display name among the "
                        "occupants")

        # Profanity -> Matrix
        hello = unique("hello from profanity ")
        prof.type(hello)
        _, event = await bob.wait_message(
            lambda r, e: r == room_id and e.body == hello,
            what="Profanity's message on Matrix")
        assert event.sender == ghost_id(name)

        # Matrix -> Profanity, under the display name
        reply = unique("hi alice, from Matrix ")
        await bob.send(room_id, reply)
        screen = await prof.wait(lambda t: message_lines(t, "Bob B", reply),
                                 f"'Bob B: {reply}'")
        prof.save(screen)
    finally:
        await bob.close()


async def test_profanity_shows_its_own_message_once(cluster, gateway,
                                                    profanity):
    """Profanity prints what it sends at once and drops the MUC's reflection
    of it by the <origin-id> it put in (XEP-0359). A reflection without that
    element is shown as a second copy."""
    (bob,), room_id, muc_jid = await matrix_room(cluster, "Once", "Bob B")
    name = unique("alice")
    cluster.prosody.register(name, "secret")
    prof = profanity()
    try:
        await prof.connect(f"{name}@{DOMAIN}", "secret",
                           cluster.prosody.c2s_port)
        await prof.join(muc_jid, "alice")
        hello = unique("just once ")
        prof.type(hello)
        await bob.wait_message(lambda r, e: r == room_id and e.body == hello,
                               what="Profanity's message on Matrix")
        # Bob's reply comes after the reflection, so once it is on screen
        # the reflection has been handled too.
        reply = unique("after the reflection ")
        await bob.send(room_id, reply)
        screen = await prof.wait(lambda t: message_lines(t, "Bob B", reply),
                                 f"'Bob B: {reply}'")
        prof.save(screen)
        lines = message_lines(screen, "alice", hello)
        assert len(lines) == 1, (
            f"Profanity shows its own message {len(lines)} times:\n{screen}")
    finally:
        await bob.close()


async def test_profanity_talks_omemo_with_matrix(cluster, gateway, profanity):
    """Profanity with /omemo on writes to a Matrix user through the
    gateway's puppet JID, which is an OMEMO device: both ways encrypted on
    the XMPP side, Profanity trusting the puppet's device blindly."""
    from harness import COMPONENT
    from peers import MatrixUser

    bob = await MatrixUser(cluster.synapse.url).register()
    puppet = f"{bob.name}%{DOMAIN}@{COMPONENT}"
    name = unique("alice")
    cluster.prosody.register(name, "secret")
    prof = profanity()
    try:
        await prof.connect(f"{name}@{DOMAIN}", "secret",
                           cluster.prosody.c2s_port)
        prof.type("/omemo trustmode blind")
        prof.type("/omemo gen")
        await prof.wait(shows("materials generated. Your Device ID"),
                        "its OMEMO keys generated")
        prof.type(f"/msg {puppet}")
        prof.type("/omemo start")
        # The chat window's title bar says [OMEMO] once Profanity has the
        # puppet's device list (served by the gateway) and encrypts.
        await prof.wait(shows(f"{puppet} [offline] [OMEMO]"),
                        "OMEMO on in the chat with the puppet")

        hello = unique("omemo from profanity ")
        prof.type(hello)
        room_id, _ = await bob.wait_invite()
        await bob.join(room_id)
        _, event = await bob.wait_message(
            lambda r, e: r == room_id and e.body == hello,
            what="Profanity's OMEMO message, decrypted, on Matrix")
        assert event.sender == ghost_id(name)

        reply = unique("encrypted reply from Matrix ")
        await bob.send(room_id, reply)
        screen = await prof.wait(shows(reply), f"bob's reply '{reply}'")
        prof.save(screen)
        # Profanity marks what arrived OMEMO-encrypted with "~" (what it
        # sent too), and bob's client has no encryption, so the gateway
        # said once that the conversation leaves encryption there.
        import re
        assert re.search(r"^\d\d:\d\d:\d\d ~ " + re.escape(puppet) +
                         ": " + re.escape(reply), screen, re.M), screen
        assert re.search(r"^\d\d:\d\d:\d\d ~ me: " + re.escape(hello),
                         screen, re.M), screen
        assert screen.count("not end-to-end encrypted") == 1, screen
    finally:
        await bob.close()
