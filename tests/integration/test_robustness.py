"""Restarts, duplicate transactions, bad tokens and malformed input."""

import json
import sqlite3
import urllib.error
import urllib.parse
import urllib.request

import pytest

from harness import COMPONENT, DOMAIN
from peers import XmppUser
from test_dm import ghost_id, open_dm_from_xmpp, puppet_jid


def appservice(gateway, method, path, body=None, token="hs", raw=None):
    """Calls isthmus the way the homeserver does; returns (status, json)."""
    headers = {"Content-Type": "application/json"}
    if token == "hs":
        headers["Authorization"] = f"Bearer {gateway.hs_token}"
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (
        json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(gateway.url + path, data=data,
                                 method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def txn_path(txn_id):
    return f"/_matrix/app/v1/transactions/{txn_id}"


def message_event(room_id, sender, body, event_id):
    return {"type": "m.room.message", "room_id": room_id, "sender": sender,
            "event_id": event_id, "origin_server_ts": 1,
            "content": {"msgtype": "m.text", "body": body}}


async def test_restart_between_messages_keeps_the_dm(gateway, alice, bob):
    room_id = await open_dm_from_xmpp(alice, bob, "before the crash")

    gateway.stop(kill=True)   # SIGKILL: no chance to tidy up
    gateway.start()

    alice.send(puppet_jid(bob), "after the crash")
    got_room, event = await bob.wait_message(
        lambda r, e: e.body == "after the crash",
        what="the message sent after the restart")
    assert got_room == room_id, "the DM mapping did not survive"
    assert bob.invites.empty(), "a second DM was opened after restart"

    await bob.send(room_id, "reply after the crash")
    msg = await alice.wait_message(
        lambda m: m["body"] == "reply after the crash",
        what="the reply after the restart")
    assert msg["from"].bare == puppet_jid(bob)

    # The message id map survived too.
    db = sqlite3.connect(gateway.dir / "isthmus.db")
    try:
        rows = db.execute(
            "SELECT direction FROM messages WHERE room_id = ? "
            "AND event_id = ?", (room_id, event.event_id)).fetchall()
    finally:
        db.close()
    assert rows == [(1,)]


async def test_stanzas_wait_in_the_outbox_while_stopped(gateway, alice, bob):
    """A message sent while isthmus is down is bridged once it is back."""
    room_id = await open_dm_from_xmpp(alice, bob, "hello")
    gateway.stop()
    # Synapse queues the transaction and retries it.
    await bob.send(room_id, "sent while the gateway was down")
    gateway.start()
    await alice.wait_message(
        lambda m: m["body"] == "sent while the gateway was down",
        timeout=60, what="the message Synapse retried after the restart")


async def test_duplicate_transaction_is_applied_once(gateway, alice, bob):
    room_id = await open_dm_from_xmpp(alice, bob, "hello")
    txn = {"events": [message_event(room_id, bob.user_id, "only once",
                                    "$dup-test-event")]}
    for _ in range(3):
        status, body = appservice(gateway, "PUT", txn_path("dup-1"), txn)
        assert (status, body) == (200, {})
    sentinel = {"events": [message_event(room_id, bob.user_id,
                                         "sentinel", "$dup-sentinel")]}
    assert appservice(gateway, "PUT", txn_path("dup-2"),
                      sentinel)[0] == 200
    bodies = []
    while "sentinel" not in bodies:
        msg = await alice.wait_message(
            lambda m: m["body"] in ("only once", "sentinel"),
            what="the deduplicated message and the sentinel")
        bodies.append(msg["body"])
    assert bodies == ["only once", "sentinel"]


def test_wrong_or_missing_hs_token_is_refused(cluster, gateway):
    wrong = "not-the-token-0123456789abcdef"
    status, body = appservice(gateway, "PUT", txn_path("t-wrong"),
                              {"events": []}, token=wrong)
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    status, body = appservice(gateway, "PUT", txn_path("t-missing"),
                              {"events": []}, token=None)
    assert status == 401 and body["errcode"] == "M_UNAUTHORIZED"
    # The as_token is not the hs_token either.
    status, _ = appservice(gateway, "PUT", txn_path("t-as"), {"events": []},
                           token=gateway.as_token)
    assert status == 403
    # A refused transaction id is not remembered as applied.
    assert appservice(gateway, "PUT", txn_path("t-wrong"),
                      {"events": []})[0] == 200
    log = gateway.log_text()
    assert "refused" in log
    for secret in (wrong, gateway.hs_token, gateway.as_token):
        assert secret not in log, "a token was written to the log"


def test_malformed_transactions_get_matrix_errors(cluster, gateway):
    status, body = appservice(gateway, "PUT", txn_path("bad-1"),
                              raw=b"{not json")
    assert status == 400 and body["errcode"] == "M_NOT_JSON"
    status, body = appservice(gateway, "PUT", txn_path("bad-2"),
                              {"events": "nope"})
    assert status == 400 and body["errcode"] == "M_BAD_JSON"
    status, body = appservice(gateway, "PUT", txn_path("bad-3"), raw=b"[1,2]")
    assert status == 400 and body["errcode"] == "M_BAD_JSON"
    # Broken events inside a good transaction are skipped, not fatal.
    status, body = appservice(gateway, "PUT", txn_path("bad-4"), {
        "events": [42, {"type": "m.room.message"}, {"content": []},
                   message_event("!nowhere:localhost", "@x:localhost", "x",
                                 "$x")]})
    assert (status, body) == (200, {})
    status, body = appservice(gateway, "GET", "/_matrix/app/v1/nothing")
    assert status == 404 and body["errcode"] == "M_UNRECOGNIZED"
    status, body = appservice(gateway, "GET", txn_path("bad-5"))
    assert status == 405
    status, body = appservice(gateway, "POST", "/_matrix/app/v1/ping",
                              {"transaction_id": "p"})
    assert (status, body) == (200, {})
    # Still alive and serving.
    assert gateway.running()


def test_user_and_alias_queries(cluster, gateway):
    ghost = urllib.parse.quote(f"@_xmpp_carol=40{DOMAIN}:{DOMAIN}")
    status, body = appservice(gateway, "GET", f"/_matrix/app/v1/users/{ghost}")
    assert (status, body) == (200, {})
    # It now exists on the homeserver.
    url = (f"{cluster.synapse.url}/_matrix/client/v3/profile/"
           f"{ghost}/displayname")
    with urllib.request.urlopen(url, timeout=10) as r:
        assert json.loads(r.read())["displayname"] == "carol"

    for bad in (f"@someone:{DOMAIN}", f"@_xmpp_UPPER:{DOMAIN}",
                f"@_xmpp_no=zz:{DOMAIN}", "@_xmpp_x=40y:elsewhere"):
        status, body = appservice(
            gateway, "GET",
            "/_matrix/app/v1/users/" + urllib.parse.quote(bad))
        assert status == 404 and body["errcode"] == "M_NOT_FOUND", bad
    status, body = appservice(
        gateway, "GET", "/_matrix/app/v1/rooms/" +
        urllib.parse.quote(f"#_xmpp_room=40conference.{DOMAIN}:{DOMAIN}"))
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"


async def test_unroutable_and_malformed_stanzas_get_errors(gateway, alice):
    cases = {
        f"nobody@{COMPONENT}": "item-not-found",           # no '%'
        f"bad\\zz%{DOMAIN}@{COMPONENT}": "item-not-found",  # bad escape
        f"x%not_a_host!@{COMPONENT}": "item-not-found",    # bad server
        f"#room%{DOMAIN}@{COMPONENT}": "feature-not-implemented",
    }
    for to, condition in cases.items():
        sent = alice.send(to, "hello?")
        err = await alice.wait_message(
            lambda m, i=sent["id"]: m["type"] == "error" and m["id"] == i,
            what=f"an error reply from {to}")
        assert err["error"]["condition"] == condition, to

    # A Matrix user that does not exist: the DM cannot be opened.
    sent = alice.send(f"ghost-of-nobody%{DOMAIN}@{COMPONENT}", "anyone?")
    err = await alice.wait_message(
        lambda m: m["type"] == "error" and m["id"] == sent["id"],
        what="an error for a Matrix user that does not exist")
    assert err["error"]["condition"] in ("item-not-found",
                                         "recipient-unavailable")

    # Unknown iq payloads get service-unavailable, not silence.
    try:
        await alice.iq_get(COMPONENT, "<query xmlns='urn:example:none'/>")
        raise AssertionError("an unknown iq was answered with a result")
    except Exception as e:  # slixmpp raises IqError
        assert "service-unavailable" in str(e.iq["error"]["condition"])
    assert gateway.running()


async def test_discovery_version_ping_and_vcard(gateway, alice, bob):
    await bob.client.set_displayname("Bob Builder")
    disco = alice.client.plugin["xep_0030"]
    info = await disco.get_info(jid=COMPONENT)
    identities = info["disco_info"]["identities"]
    assert ("gateway", "matrix", None, "isthmus") in identities
    features = info["disco_info"]["features"]
    for f in ("jabber:iq:version", "urn:xmpp:ping", "vcard-temp"):
        assert f in features

    info = await disco.get_info(jid=puppet_jid(bob))
    assert any(i[0] == "account" for i in info["disco_info"]["identities"])
    # disco#items on the gateway is the public room directory: MUC JIDs.
    items = await disco.get_items(jid=COMPONENT)
    for jid, _node, _name in items["disco_items"]["items"]:
        assert jid[0] in "#!" and jid.endswith("@" + COMPONENT), jid

    version = await alice.client.plugin["xep_0092"].get_version(COMPONENT)
    assert version["software_version"]["name"] == "isthmus"

    await alice.client.plugin["xep_0199"].ping(COMPONENT, timeout=10)
    await alice.client.plugin["xep_0199"].ping(puppet_jid(bob), timeout=10)

    vcard = await alice.client.plugin["xep_0054"].get_vcard(puppet_jid(bob))
    assert vcard["vcard_temp"]["FN"] == "Bob Builder"


async def test_ghosts_accept_presence_subscriptions(alice):
    target = f"someone%{DOMAIN}@{COMPONENT}"
    alice.client.send_presence(pto=target, ptype="subscribe")
    reply = await wait_presence(alice, target, "subscribed")
    assert reply["from"].bare == target
    # The server added the ghost to alice's roster with a subscription.
    await alice.client.get_roster()
    assert target in alice.client.client_roster
    assert alice.client.client_roster[target]["subscription"] in (
        "to", "both")


async def wait_presence(user, from_bare, ptype):
    from peers import wait_for
    return await wait_for(
        user.presences,
        lambda p: p["from"].bare == from_bare and p["type"] == ptype, 20,
        f"presence {ptype} from {from_bare}")


def test_check_config_and_bad_config(cluster, tmp_path):
    import subprocess
    from harness import ISTHMUS
    ok = subprocess.run([str(ISTHMUS), "--config", str(cluster.isthmus.config),
                         "--check-config"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "warning" not in ok.stdout, ok.stdout
    # A registration without what encrypted rooms need: a warning naming
    # the missing line, not an error.
    reg = tmp_path / "old-registration.yaml"
    reg.write_text("".join(
        line for line in cluster.isthmus.registration.read_text()
        .splitlines(keepends=True) if "msc4190" not in line))
    old = tmp_path / "old.conf"
    old.write_text(cluster.isthmus.config.read_text().replace(
        str(cluster.isthmus.registration), str(reg)))
    warned = subprocess.run([str(ISTHMUS), "--config", str(old),
                             "--check-config"], capture_output=True,
                            text=True)
    assert warned.returncode == 0, warned.stderr
    assert "io.element.msc4190" in warned.stdout, warned.stdout
    bad = tmp_path / "bad.conf"
    bad.write_text("[xmpp]\ncomponent_jid = gw\nport = 99999\n")
    r = subprocess.run([str(ISTHMUS), "--config", str(bad), "--check-config"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.startswith(f"{bad}:3: port: "), r.stderr
    r = subprocess.run([str(ISTHMUS), "--config", str(tmp_path / "missing")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "cannot open" in r.stderr


def test_check_config_names_what_is_wrong(cluster, tmp_path):
    """Beyond parsing: placeholder secrets are warned about; a missing
    state directory and a registration for another bot are errors, at
    --check-config and at start-up alike, as file:line: message."""
    import subprocess
    from harness import COMPONENT_SECRET, ISTHMUS
    text = cluster.isthmus.config.read_text()

    def check(name, conf_text, *extra):
        conf = tmp_path / name
        conf.write_text(conf_text)
        return conf, subprocess.run(
            [str(ISTHMUS), "--config", str(conf), *extra],
            capture_output=True, text=True, timeout=30)

    conf, r = check("secret.conf", text.replace(
        f"secret = {COMPONENT_SECRET}", "secret = change-me"),
        "--check-config")
    line = text.splitlines().index("secret = change-me".replace(
        "change-me", COMPONENT_SECRET)) + 1
    assert r.returncode == 0, r.stderr
    assert f"warning: {conf}:{line}: secret is a placeholder" in r.stdout, \
        r.stdout
    state = cluster.isthmus.dir
    conf, r = check("nostate.conf", text.replace(
        f"path = {state}/isthmus.db", f"path = {tmp_path}/none/isthmus.db"),
        "--check-config")
    line = text.splitlines().index(f"path = {state}/isthmus.db") + 1
    assert r.returncode == 2
    assert r.stderr.startswith(
        f"{conf}:{line}: the state directory {tmp_path}/none cannot be "
        "used"), r.stderr
    reg = tmp_path / "other-bot.yaml"
    reg.write_text(cluster.isthmus.registration.read_text().replace(
        "sender_localpart: '_xmpp'", "sender_localpart: '_xmpp_bot'"))
    for extra in (["--check-config"], []):
        conf, r = check("otherbot.conf", text.replace(
            str(cluster.isthmus.registration), str(reg)), *extra)
        assert r.returncode == 2, (extra, r.stderr)
        assert "bot_localpart is '_xmpp' but" in r.stderr, r.stderr
        assert "sender_localpart '_xmpp_bot'" in r.stderr, r.stderr


def test_sighup_is_answered_and_ignored(cluster, gateway):
    """Nothing is reloaded: SIGHUP says so, and the gateway keeps serving
    (doc/isthmus.8, SIGNALS)."""
    import signal
    import urllib.request
    from harness import wait_until
    mark = len(gateway.log_text())
    gateway.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "SIGHUP ignored" in gateway.log_text()[mark:], 10,
               "isthmus to answer SIGHUP")
    assert gateway.running()
    with urllib.request.urlopen(gateway.url + "/metrics", timeout=5) as r:
        assert r.status == 200


def unconfirmed_stanzas(gateway):
    """Stanza rows still in isthmus's outbox."""
    db = sqlite3.connect(f"file:{gateway.dir / 'isthmus.db'}?mode=ro",
                         uri=True, timeout=10)
    try:
        return db.execute("SELECT COUNT(*) FROM outbox WHERE kind = 1"
                          ).fetchone()[0]
    finally:
        db.close()


@pytest.mark.core
async def test_component_reconnects_after_prosody_restarts(cluster, gateway,
                                                          alice, bob):
    """Prosody goes away and comes back: isthmus reconnects by itself and
    Matrix messages sent meanwhile are delivered afterwards."""
    room_id = await open_dm_from_xmpp(alice, bob, "before the outage")
    await alice.disconnect()
    mark = len(gateway.log_text())
    cluster.prosody.stop()
    from harness import wait_until
    wait_until(lambda: "component: disconnected" in
               gateway.log_text()[mark:], 20,
               "isthmus to notice that Prosody went away")
    await bob.send(room_id, "sent during the outage")
    cluster.prosody.start()
    wait_until(lambda: "component: connected" in
               gateway.log_text()[mark:], 60,
               "isthmus to reconnect to Prosody")
    # Logging in while the server is still storing what isthmus sent would
    # race the server's offline storage (see test_faults.prosody_back).
    wait_until(lambda: unconfirmed_stanzas(gateway) == 0, 60,
               "the server to take the stanza that waited")
    # Prosody stored the message for the offline user; log in again.
    alice2 = await XmppUser(cluster.prosody, name=alice.name,
                            register=False).connect()
    try:
        await alice2.wait_message(
            lambda m: m["body"] == "sent during the outage", timeout=60,
            what="the message sent while Prosody was down")
        alice2.send(puppet_jid(bob), "after the outage")
        await bob.wait_message(lambda r, e: e.body == "after the outage",
                               what="a message after the reconnection")
    finally:
        await alice2.disconnect()


async def test_too_large_for_xmpp_gets_a_notice_back(gateway, alice, bob):
    """With a small [xmpp] max_body_bytes, a long Matrix message is refused
    with a notice in the room instead of vanishing."""
    original = gateway.config.read_text()
    try:
        room_id = await open_dm_from_xmpp(alice, bob, "hello")
        gateway.stop()
        gateway.config.write_text(original.replace(
            "[xmpp]\n", "[xmpp]\nmax_body_bytes = 1024\n", 1))
        gateway.start()
        await bob.send(room_id, "y" * 2000)
        _, notice = await bob.wait_message(
            lambda r, e: r == room_id and e.sender == ghost_id(alice)
            and "not delivered" in e.body,
            what="a notice that the long message did not cross")
        assert notice.source["content"]["msgtype"] == "m.notice"
        await bob.send(room_id, "short again")
        msg = await alice.wait_message(
            lambda m: m["body"] in ("short again", "y" * 2000),
            what="the next message after the refused one")
        assert msg["body"] == "short again"
    finally:
        gateway.stop()
        gateway.config.write_text(original)
        gateway.start()


def test_a_gap_in_transaction_ids_is_refused_once(cluster, gateway):
    """Synapse can strand a transaction after an outage; a jump in its
    numbering is answered 503 once so that it resends the oldest first.
    When refused ones come back with nothing older three times, the jumps
    were another appservice's (Synapse numbers them all from one
    sequence): later jumps in this run are taken as they come."""
    # An id below any of Synapse's, so never a jump: the last applied,
    # which jumps are measured from (whatever the cluster saw before).
    base = "1"
    jumps = ["900000000000001", "900000000000020", "900000000000040"]
    farther = "900000000000050"
    status, body = appservice(gateway, "PUT", txn_path(base), {"events": []})
    assert (status, body) == (200, {})
    mark = len(gateway.log_text())
    for jump in jumps:
        status, body = appservice(gateway, "PUT", txn_path(jump),
                                  {"events": []})
        assert status == 503 and body["errcode"] == "M_UNKNOWN", jump
        status, body = appservice(gateway, "PUT", txn_path(jump),
                                  {"events": []})
        assert (status, body) == (200, {})
    assert "another appservice shares" in gateway.log_text()[mark:]
    status, body = appservice(gateway, "PUT", txn_path(farther),
                              {"events": []})
    assert (status, body) == (200, {})
    # Forget the made-up id so Synapse's real numbering is checked again.
    gateway.stop()
    db = sqlite3.connect(gateway.dir / "isthmus.db")
    try:
        db.execute("DELETE FROM txns WHERE txn_id IN (?, ?, ?, ?, ?)",
                   (base, *jumps, farther))
        db.commit()
    finally:
        db.close()
    gateway.start()
