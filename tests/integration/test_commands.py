"""The gateway's commands through both doors: ad-hoc commands (XEP-0050)
on the component's address from slixmpp, and a DM with the bot from
matrix-nio. Each command's happy path, a wrong argument, and an admin
command asked for by someone who is no admin."""

import asyncio
import subprocess

from slixmpp.exceptions import IqError
from nio import RoomMessageNotice
from nio.responses import LoginResponse, RegisterResponse

from harness import ADMIN_MATRIX, ADMIN_XMPP, COMPONENT, DOMAIN
from peers import MatrixUser, XmppUser, wait_true
from test_dm import ghost_id, open_dm_from_xmpp, puppet_jid
from test_muc_gateway import make_room, matrix_pair
from test_muc_gateway import muc as muc_gateway
from test_muc_portal import MUC, create_muc, join_portal, wait_occupant

BOT = f"@_xmpp:{DOMAIN}"
NS_COMMANDS = "http://jabber.org/protocol/commands"


# ------------------------------------------------------------- XMPP side --

def use_adhoc(user):
    for plugin in ("xep_0004", "xep_0050"):
        user.client.register_plugin(plugin)
    return user.client.plugin["xep_0050"]


async def adhoc(user, node, value=None, timeout=15):
    """Runs command `node` with slixmpp's XEP-0050 plugin: a form asked
    for is submitted with value in its one field. Returns the last iq
    (the completed command, or the error)."""
    xep = use_adhoc(user)
    try:
        iq = await xep.send_command(COMPONENT, node, timeout=timeout)
        cmd = iq["command"]
        if cmd["status"] != "executing":
            return iq
        submit = user.client.plugin["xep_0004"].make_form(ftype="submit")
        for var in cmd["form"].get_fields():
            submit.add_field(var=var, value=value or "")
        return await xep.send_command(COMPONENT, node, action="complete",
                                      payload=submit,
                                      sessionid=cmd["sessionid"],
                                      timeout=timeout)
    except IqError as e:
        return e.iq


def note_of(iq):
    notes = iq["command"]["notes"]
    assert notes, iq
    return notes[0]


def fields_of(iq):
    form = iq["command"]["form"]
    return {var: f["value"] for var, f in form.get_fields().items()}


async def admin_xmpp(cluster):
    try:
        return await XmppUser(cluster.prosody, name=ADMIN_XMPP).connect()
    except subprocess.CalledProcessError:
        # Registered by an earlier test of the run.
        return await XmppUser(cluster.prosody, name=ADMIN_XMPP,
                              register=False).connect()


async def command_nodes(user):
    use_adhoc(user)
    items = await user.client.plugin["xep_0030"].get_items(
        jid=COMPONENT, node=NS_COMMANDS, timeout=10)
    return {item[1] for item in items["disco_items"]["items"]}


async def test_xmpp_lists_commands_by_who_asks(cluster, alice):
    info = await alice.client.plugin["xep_0030"].get_info(jid=COMPONENT,
                                                          timeout=10)
    assert NS_COMMANDS in info["disco_info"]["features"]
    assert {"help", "status", "whois", "rooms", "join", "fingerprints",
            "verify"} == await command_nodes(alice)
    admin = await admin_xmpp(cluster)
    try:
        assert {"help", "status", "whois", "rooms", "join", "fingerprints",
                "verify", "stats", "reconnect"} == await command_nodes(admin)
    finally:
        await admin.disconnect()


async def test_xmpp_help_and_status(alice):
    iq = await adhoc(alice, "help")
    assert iq["command"]["status"] == "completed"
    kind, text = note_of(iq)
    assert kind == "info" and "Commands" in text
    assert "whois <address>" in fields_of(iq)

    iq = await adhoc(alice, "status")
    kind, text = note_of(iq)
    assert kind == "info" and "connected" in text, text
    fields = fields_of(iq)
    assert fields["XMPP component"] == "connected"
    assert int(fields["Outbox items"]) >= 0
    assert fields["Uptime"]


async def test_xmpp_whois_both_ways(alice):
    iq = await adhoc(alice, "whois", f"@bob:{DOMAIN}")
    assert fields_of(iq)["XMPP address"] == f"bob%{DOMAIN}@{COMPONENT}"
    iq = await adhoc(alice, "whois", f"bob%{DOMAIN}@{COMPONENT}")
    assert fields_of(iq)["Matrix id"] == f"@bob:{DOMAIN}"
    iq = await adhoc(alice, "whois", alice.jid)
    assert fields_of(iq)["Matrix id"] == ghost_id(alice)
    iq = await adhoc(alice, "whois", ghost_id(alice))
    assert fields_of(iq)["XMPP address"] == alice.jid


async def test_xmpp_whois_wrong_argument(alice):
    iq = await adhoc(alice, "whois", "@no server here")
    kind, text = note_of(iq)
    assert iq["command"]["status"] == "completed"
    assert kind == "error" and "not a Matrix id" in text, text
    iq = await adhoc(alice, "whois", "")
    kind, text = note_of(iq)
    assert kind == "error" and "needs an argument" in text, text


async def test_xmpp_rooms(alice, bob):
    iq = await adhoc(alice, "rooms")
    assert "no bridged room" in note_of(iq)[1]
    room_id = await open_dm_from_xmpp(alice, bob, "a room to list")
    iq = await adhoc(alice, "rooms")
    kind, text = note_of(iq)
    assert "1 bridged room" in text, text
    assert fields_of(iq)["direct chat"] == f"with {bob.user_id} ({room_id})"


async def test_xmpp_join(alice):
    iq = await adhoc(alice, "join", f"#lobby:{DOMAIN}")
    assert fields_of(iq)["MUC address"] == f"#lobby%{DOMAIN}@{COMPONENT}"
    iq = await adhoc(alice, "join", f"@bob:{DOMAIN}")
    kind, text = note_of(iq)
    assert kind == "error" and "not a room" in text, text


async def test_xmpp_admin_command_refused(alice):
    for node in ("stats", "reconnect"):
        iq = await adhoc(alice, node)
        assert iq["type"] == "error", iq
        assert iq["error"]["condition"] == "forbidden"
        assert "admins" in iq["error"]["text"]


async def test_xmpp_admin_stats_and_reconnect(cluster, gateway):
    admin = await admin_xmpp(cluster)
    try:
        iq = await adhoc(admin, "stats")
        assert "isthmus_transactions_total" in fields_of(iq)
        starts = gateway.log_text().count("component: connected")
        iq = await adhoc(admin, "reconnect")
        kind, text = note_of(iq)
        assert kind == "info" and "Dropping" in text, text
        await wait_true(
            lambda: gateway.log_text().count("component: connected") > starts,
            20, "the component to connect again")
    finally:
        await admin.disconnect()


# ----------------------------------------------------------- Matrix side --

async def open_bot_dm(user):
    """A DM with the bot, once it has joined and said hello."""
    room_id = await user.client.room_create(is_direct=True, invite=[BOT])
    room_id = room_id.room_id
    await bot_says(user, room_id, lambda body: "help" in body)
    return room_id


async def bot_says(user, room_id, predicate, what="the bot's answer"):
    _, event = await user.wait_message(
        lambda r, e: (r == room_id and e.sender == BOT
                      and isinstance(e, RoomMessageNotice)
                      and predicate(e.body)), what=what)
    return event.body


async def ask(user, room_id, line, predicate=lambda body: True):
    await user.send(room_id, line)
    return await bot_says(user, room_id, predicate, what=f"an answer to "
                          f"{line!r}")


async def test_matrix_help_status_whois_join(bob):
    room_id = await open_bot_dm(bob)
    body = await ask(bob, room_id, "help", lambda b: b.startswith("Commands"))
    for name in ("status", "whois <address>", "rooms", "join <address>",
                 "stats", "reconnect"):
        assert f"\n{name}: " in body, body
    body = await ask(bob, room_id, "status", lambda b: "isthmus" in b)
    assert "XMPP component: connected" in body, body

    body = await ask(bob, room_id, f"whois alice@{DOMAIN}")
    assert f"Matrix id: @_xmpp_alice=40{DOMAIN}:{DOMAIN}" in body, body
    body = await ask(bob, room_id, f"whois {bob.user_id}")
    assert f"XMPP address: {puppet_jid(bob)}" in body, body

    body = await ask(bob, room_id, f"join room@conference.{DOMAIN}")
    assert f"Matrix room: #_xmpp_room=40conference.{DOMAIN}:{DOMAIN}" \
        in body, body


async def test_matrix_wrong_arguments(bob):
    room_id = await open_bot_dm(bob)
    body = await ask(bob, room_id, "whois")
    assert "needs an argument" in body, body
    body = await ask(bob, room_id, "whois not an address")
    assert "neither a JID nor a Matrix id" in body, body
    body = await ask(bob, room_id, "join somewhere")
    assert "join needs a Matrix room" in body, body
    body = await ask(bob, room_id, "frobnicate")
    assert 'Unknown command "frobnicate"' in body, body


async def test_matrix_rooms(alice, bob):
    room_id = await open_bot_dm(bob)
    body = await ask(bob, room_id, "rooms")
    assert "no bridged room" in body, body
    dm = await open_dm_from_xmpp(alice, bob, "listed")
    body = await ask(bob, room_id, "rooms")
    assert f"direct chat: with {alice.jid} ({dm})" in body, body


async def test_matrix_admin_command_refused(bob):
    room_id = await open_bot_dm(bob)
    for name in ("stats", "reconnect"):
        body = await ask(bob, room_id, name)
        assert "for the gateway's admins only" in body, body


async def test_matrix_admin_stats_and_reconnect(cluster, gateway):
    admin = MatrixUser(cluster.synapse.url, name=ADMIN_MATRIX)
    resp = await admin.client.register(admin.name, admin.password)
    if not isinstance(resp, RegisterResponse):  # an earlier test's
        resp = await admin.client.login(admin.password)
        assert isinstance(resp, LoginResponse), resp
    await admin.client.sync(timeout=0, full_state=True)
    admin._sync_task = asyncio.create_task(
        admin.client.sync_forever(timeout=500))
    try:
        room_id = await open_bot_dm(admin)
        body = await ask(admin, room_id, "stats")
        assert "isthmus_transactions_total: " in body, body
        starts = gateway.log_text().count("component: connected")
        body = await ask(admin, room_id, "reconnect")
        assert "Dropping the XMPP component link" in body, body
        await wait_true(
            lambda: gateway.log_text().count("component: connected") > starts,
            20, "the component to connect again")
    finally:
        await admin.close()


async def test_bot_declines_group_rooms(bob):
    resp = await bob.client.room_create(invite=[BOT])
    await bob.wait_member(
        lambda r, e: r == resp.room_id and e.state_key == BOT
        and e.membership == "leave", what="the bot declining")


async def test_bot_says_it_cannot_read_encrypted_messages(bob):
    room_id = await open_bot_dm(bob)
    resp = await bob.client.room_send(
        room_id, "m.room.encrypted",
        {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AAAA",
         "session_id": "nosession", "sender_key": "nokey",
         "device_id": "NODEVICE"})
    assert getattr(resp, "event_id", None), resp
    body = await bot_says(bob, room_id, lambda b: "encrypted" in b)
    assert "without encryption" in body, body
    # Commands still work in clear afterwards.
    body = await ask(bob, room_id, "help", lambda b: b.startswith("Commands"))


async def test_rooms_lists_mucs_and_portals(cluster, gateway, alice):
    # XMPP: a Matrix room alice sits in as a MUC (gateway mode).
    bob, carol = await matrix_pair(cluster)
    try:
        room_id, muc_jid = await make_room(bob, carol, "")
        await muc_gateway(alice).join_muc_wait(muc_jid, "alice",
                                               maxstanzas=0, timeout=30)
        iq = await adhoc(alice, "rooms")
        assert fields_of(iq)["Matrix room (as a MUC)"] == \
            f"{muc_jid} as alice ({room_id})", fields_of(iq)
    finally:
        await bob.close()
        await carol.close()

    # Matrix: an XMPP MUC dave sits in through its portal.
    room, _ = await create_muc(alice, nick="alice")
    dave = await MatrixUser(cluster.synapse.url).register()
    try:
        await dave.client.set_displayname("Dave D")
        portal = await join_portal(dave, room)
        await wait_occupant(alice, room, "Dave D")
        dm = await open_bot_dm(dave)
        body = await ask(dave, dm, "rooms")
        assert f"XMPP MUC (as a Matrix room): {room}@{MUC} as Dave D " \
            f"({portal})" in body, body
    finally:
        await dave.close()
