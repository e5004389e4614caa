"""Trust across the gateway: the gateway trusts each device blindly the
first time it sees it; a person who compared the other side's keys says
so with `verify` (the bot on Matrix, an ad-hoc command on XMPP), and from
then on every new device of that contact is announced to them, in their
own client, once."""

import pytest

from omemo_peer import OmemoXmppUser
from peers import E2eeMatrixUser, unique, wait_true
from test_commands import adhoc, ask, fields_of, note_of, open_bot_dm
from test_dm import ghost_id, puppet_jid
from test_e2ee import e2ee_user, encrypted_dm

# slixmpp-omemo 2.2.0 reaches plugins the way slixmpp 1.17 deprecates.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Accessing plugins through the XMPP object:DeprecationWarning")


@pytest.fixture
async def erin(cluster, gateway):
    """An XMPP user whose client speaks legacy OMEMO."""
    user = await OmemoXmppUser(cluster.prosody, unique("erin"),
                               versions="legacy").connect()
    yield user
    await user.disconnect()


async def talked(carol, erin):
    """An encrypted DM where both have written once, so that the gateway
    knows both sides' devices. Returns the room."""
    room_id = await encrypted_dm(carol, erin)
    await carol.send(room_id, "hello erin")
    await erin.wait_encrypted(lambda m: m.body == "hello erin",
                              what="carol's first message")
    await erin.send_encrypted(puppet_jid(carol), "hello carol",
                              version="legacy")
    await carol.wait_message(lambda r, e: e.body == "hello carol",
                             what="erin's answer")
    return room_id


async def test_a_verified_xmpp_contacts_new_device_is_announced_on_matrix(
        cluster, gateway, erin, tmp_path):
    carol = await e2ee_user(cluster, tmp_path)
    tablet = None
    try:
        room_id = await talked(carol, erin)
        bot_room = await open_bot_dm(carol)
        # A wrong address gets a clear message.
        answer = await ask(carol, bot_room, "verify not an address")
        assert "Give the other side" in answer, answer
        answer = await ask(carol, bot_room, f"verify {erin.jid}")
        assert "You verified 1 device" in answer, answer
        answer = await ask(carol, bot_room, f"fingerprints {erin.jid}")
        assert f"{erin.own_device_id}:" in answer, answer
        assert "(verified by you)" in answer, answer

        # Erin's new tablet writes: carol hears of it in the DM, from
        # erin's ghost, with the device's id, and the message arrives.
        tablet = await OmemoXmppUser(cluster.prosody, erin.name,
                                     resource="tablet", register=False,
                                     versions="legacy").connect()
        await tablet.send_encrypted(puppet_jid(carol), "from the tablet",
                                    version="legacy")
        def announcement(e):
            return e.sender == ghost_id(erin) and \
                "new OMEMO device" in e.body and \
                str(tablet.own_device_id) in e.body
        got = {}
        while len(got) < 2:   # either may come first
            _, ev = await carol.wait_message(
                lambda r, e: r == room_id and (
                    announcement(e) or e.body == "from the tablet"),
                what="the announcement of erin's new device and the "
                     "tablet's message")
            got["notice" if announcement(ev) else "message"] = ev
        assert "not verified" in got["notice"].body
        answer = await ask(carol, bot_room, f"fingerprints {erin.jid}")
        line = [part for part in answer.split("\n")
                if f" {tablet.own_device_id}:" in part]
        assert line and "(verified by you)" not in line[0], answer
    finally:
        if tablet:
            await tablet.disconnect()
        await carol.close()


async def test_a_verified_matrix_contacts_new_device_is_announced_on_xmpp(
        cluster, gateway, erin, tmp_path):
    carol = await e2ee_user(cluster, tmp_path)
    laptop = None
    try:
        room_id = await talked(carol, erin)
        iq = await adhoc(erin, "verify", carol.client.user_id)
        assert iq["type"] == "result", iq
        text = " ".join([str(note_of(iq))] +
                        [str(v) for v in fields_of(iq).values()])
        assert "You verified 1 device" in text, text

        changes = gateway.metrics()["isthmus_e2ee_device_list_changes_total"]
        laptop = await E2eeMatrixUser(cluster.synapse.url,
                                      tmp_path / unique("laptop"),
                                      carol.name).login(carol.password)
        await wait_true(
            lambda: gateway.metrics()[
                "isthmus_e2ee_device_list_changes_total"] > changes, 30,
            "the gateway to hear of carol's laptop")
        # The next message erin sends makes the gateway read carol's
        # devices again: erin is told of the laptop, from carol's JID,
        # encrypted like the rest of the conversation.
        await erin.send_encrypted(puppet_jid(carol), "are you there?",
                                  version="legacy")
        told = await erin.wait_encrypted(
            lambda m: "new Matrix device" in (m.body or "")
            and laptop.client.device_id in m.body,
            what="the announcement of carol's new device")
        assert "not verified" in told.body
        await laptop.wait_message(
            lambda r, e: r == room_id and e.body == "are you there?",
            what="erin's message on carol's laptop")
    finally:
        if laptop:
            await laptop.close()
        await carol.close()
