"""1:1 chats between a slixmpp user and a matrix-nio user through isthmus."""

import pytest
import slixmpp
from nio.responses import ProfileGetDisplayNameResponse

from harness import COMPONENT, DOMAIN
from peers import MatrixUser

# The whole module runs against ejabberd too (conftest.py, core).
pytestmark = pytest.mark.core


def puppet_jid(matrix_user):
    """The JID a Matrix user has on the XMPP side."""
    return f"{matrix_user.name}%{DOMAIN}@{COMPONENT}"


def ghost_id(xmpp_user):
    """The Matrix ID an XMPP user has on the Matrix side."""
    return f"@_xmpp_{xmpp_user.name}=40{DOMAIN}:{DOMAIN}"


async def open_dm_from_xmpp(alice, bob, body):
    """alice writes first; bob accepts the DM and reads the message."""
    alice.send(puppet_jid(bob), body)
    room_id, invite = await bob.wait_invite()
    assert invite.sender == ghost_id(alice)
    await bob.join(room_id)
    _, event = await bob.wait_message(
        lambda r, e: r == room_id and e.body == body, what=f"'{body}'")
    assert event.sender == ghost_id(alice)
    return room_id


async def test_xmpp_user_writes_first_and_gets_the_reply(alice, bob):
    vcard = alice.client.plugin["xep_0054"].make_vcard()
    vcard["FN"] = "Alice Example"
    await alice.client.plugin["xep_0054"].publish_vcard(vcard)

    room_id = await open_dm_from_xmpp(alice, bob, "hello from XMPP")

    name = await bob.client.get_displayname(ghost_id(alice))
    assert isinstance(name, ProfileGetDisplayNameResponse), name
    assert name.displayname == "Alice Example"

    room = bob.client.rooms.get(room_id)
    await bob.send(room_id, "hello from Matrix")
    msg = await alice.wait_message(
        lambda m: m["body"] == "hello from Matrix",
        what="bob's reply on XMPP")
    assert msg["from"].bare == puppet_jid(bob)
    assert msg["type"] == "chat"
    # The stanza id is the Matrix event id: stable across resends.
    assert msg["id"].startswith("$")
    assert room is not None


async def test_matrix_user_invites_the_ghost(alice, bob):
    room_id = await bob.create_dm(ghost_id(alice))
    await bob.wait_member(
        lambda r, e: r == room_id and e.state_key == ghost_id(alice)
        and e.membership == "join", what="the ghost joining the DM")

    await bob.send(room_id, "hi alice, from Matrix")
    msg = await alice.wait_message(
        lambda m: m["body"] == "hi alice, from Matrix",
        what="bob's message on XMPP")
    assert msg["from"].bare == puppet_jid(bob)

    alice.send(puppet_jid(bob), "hi bob, from XMPP")
    _, event = await bob.wait_message(
        lambda r, e: e.body == "hi bob, from XMPP",
        what="alice's answer on Matrix")
    # The answer lands in the DM bob opened, not in a new room.
    assert _ == room_id
    assert event.sender == ghost_id(alice)


async def test_unicode_emote_and_notice_cross_both_ways(alice, bob):
    room_id = await open_dm_from_xmpp(alice, bob, "start")
    text = "Grüße 👋🏽 — 你好, Ελληνικά, עברית, 𝕏 & <tags> \"quotes\""
    alice.send(puppet_jid(bob), text)
    _, event = await bob.wait_message(lambda r, e: e.body == text,
                                      what="unicode text on Matrix")
    assert event.source["content"]["msgtype"] == "m.text"

    alice.send(puppet_jid(bob), "/me waves 👋")
    _, event = await bob.wait_message(lambda r, e: e.body == "waves 👋",
                                      what="the emote on Matrix")
    assert event.source["content"]["msgtype"] == "m.emote"

    alice.send(puppet_jid(bob), "system notice", mtype="headline")
    _, event = await bob.wait_message(lambda r, e: e.body == "system notice",
                                      what="the notice on Matrix")
    assert event.source["content"]["msgtype"] == "m.notice"

    await bob.send(room_id, text)
    msg = await alice.wait_message(lambda m: m["body"] == text,
                                   what="unicode text on XMPP")
    await bob.send(room_id, "dances", msgtype="m.emote")
    msg = await alice.wait_message(lambda m: m["body"] == "/me dances",
                                   what="the emote on XMPP")
    await bob.send(room_id, "bot says hi", msgtype="m.notice")
    msg = await alice.wait_message(lambda m: m["body"] == "bot says hi",
                                   what="the notice on XMPP")
    assert msg["type"] == "chat"


async def test_too_large_message_gets_an_error_back(alice, bob):
    await open_dm_from_xmpp(alice, bob, "before the big one")
    big = "x" * 70000
    sent = alice.send(puppet_jid(bob), big)
    err = await alice.wait_message(
        lambda m: m["type"] == "error" and m["id"] == sent["id"],
        what="an error reply for the oversized message")
    assert err["error"]["condition"] == "not-acceptable"
    assert "at most" in err["error"]["text"]
    # Nothing was lost or stuck: the next message still crosses.
    alice.send(puppet_jid(bob), "after the big one")
    await bob.wait_message(lambda r, e: e.body == "after the big one",
                           what="the message after the rejected one")


def send_numbered(alice, to, body, msg_id):
    """A message with the stanza id and origin-id a numbering client gives."""
    msg = alice.client.make_message(mto=to, mbody=body, mtype="chat")
    msg["id"] = msg_id
    msg["origin_id"]["id"] = msg_id
    msg.send()


async def test_the_same_id_to_another_contact_is_a_new_message(cluster,
                                                               alice, bob):
    """Clients that number their messages reuse ids across contacts: a
    resend is the same sender, recipient and id, and anything else must
    cross."""
    carol = await MatrixUser(cluster.synapse.url).register()
    try:
        send_numbered(alice, puppet_jid(bob), "to bob, numbered 1", "n1")
        room_bob, _ = await bob.wait_invite()
        await bob.join(room_bob)
        _, to_bob = await bob.wait_message(
            lambda r, e: r == room_bob and e.body == "to bob, numbered 1",
            what="alice's first message to bob")
        send_numbered(alice, puppet_jid(carol), "to carol, numbered 1", "n1")
        room_carol, invite = await carol.wait_invite()
        assert invite.sender == ghost_id(alice)
        await carol.join(room_carol)
        await carol.wait_message(lambda r, e: r == room_carol and
                                 e.body == "to carol, numbered 1",
                                 what="alice's message to carol, with the id "
                                 "her message to bob had")
        # A correction of n1 sent to bob edits bob's n1, not carol's (the
        # later message with that id).
        msg = alice.client.make_message(mto=puppet_jid(bob),
                                        mbody="to bob, corrected",
                                        mtype="chat")
        msg.append(slixmpp.ET.fromstring(
            "<replace xmlns='urn:xmpp:message-correct:0' id='n1'/>"))
        msg.send()
        _, edit = await bob.wait_message(
            lambda r, e: r == room_bob and "corrected" in e.body,
            what="alice's correction of her message to bob")
        rel = edit.source["content"].get("m.relates_to", {})
        assert rel.get("rel_type") == "m.replace", edit.source
        assert rel.get("event_id") == to_bob.event_id, (
            "the correction edits another conversation's message with the "
            "same id", rel, to_bob.event_id)
    finally:
        await carol.close()


async def test_messages_keep_their_order(alice, bob):
    room_id = await open_dm_from_xmpp(alice, bob, "order 0")
    for i in range(1, 21):
        alice.send(puppet_jid(bob), f"order {i}")
    got = []
    while len(got) < 20:
        _, event = await bob.wait_message(
            lambda r, e: r == room_id and e.body.startswith("order "),
            what=f"message {len(got) + 1} of 20")
        got.append(event.body)
    assert got == [f"order {i}" for i in range(1, 21)]

    for i in range(20):
        await bob.send(room_id, f"back {i}")
    back = []
    while len(back) < 20:
        msg = await alice.wait_message(
            lambda m: m["body"].startswith("back "),
            what=f"reply {len(back) + 1} of 20")
        back.append(msg["body"])
    assert back == [f"back {i}" for i in range(20)]


async def test_metrics_count_what_crossed(cluster, gateway, alice, bob):
    import urllib.request

    def scrape():
        with urllib.request.urlopen(gateway.url + "/metrics", timeout=5) as r:
            assert r.headers["Content-Type"].startswith("text/plain")
            text = r.read().decode()
        return {line.split()[0]: float(line.split()[1])
                for line in text.splitlines()
                if line and not line.startswith("#")}

    before = scrape()
    room_id = await open_dm_from_xmpp(alice, bob, "counted")
    await bob.send(room_id, "counted back")
    await alice.wait_message(lambda m: m["body"] == "counted back",
                             what="the reply")
    after = scrape()
    assert after["isthmus_messages_to_matrix_total"] >= \
        before["isthmus_messages_to_matrix_total"] + 1
    assert after["isthmus_stanzas_to_xmpp_total"] >= \
        before["isthmus_stanzas_to_xmpp_total"] + 1
    assert after["isthmus_to_xmpp_gateway_seconds_count"] >= \
        before["isthmus_to_xmpp_gateway_seconds_count"] + 1
    # The process's own CPU (getrusage), which the benchmark reads: the
    # messages above cost some.
    assert after["process_cpu_seconds_total"] > \
        before["process_cpu_seconds_total"], "the gateway's CPU did not grow"
