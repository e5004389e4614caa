"""What end-to-bridge encryption costs isthmus, against real Prosody and
Synapse on loopback:
  1. the gateway's CPU per message each way, in an encrypted DM next to a
     clear one, in the same run: Megolm on the Matrix side, OMEMO on the
     XMPP side, both at once, and OMEMO to an XMPP user with 5 devices;
  2. sharing a new Megolm session into a room with 1,000 member devices:
     the wall time until the first message leaves, and the longest loop
     turn meanwhile (the share runs in slices so that other conversations
     keep moving), with another conversation's latency during it.

Prints the figures and writes bench/results/e2ee.json. Nothing here
asserts on a time.
"""

import argparse
import asyncio
import json
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_e2e import (COMPONENT, DOMAIN, Cluster, cpu_seconds, hist_max,  # noqa
                       hist_quantile, ms, pct, scrape, settle)
from peers import E2eeMatrixUser, MatrixUser, XmppUser  # noqa: E402
from omemo_peer import OmemoXmppUser  # noqa: E402


def ghost_of(xmpp_user):
    return f"@_xmpp_{xmpp_user.name}=40{DOMAIN}:{DOMAIN}"


async def per_message_cpu(cluster, n, rate, tmp):
    """isthmus CPU per message, clear and encrypted, each way."""
    pid = cluster.isthmus.proc.pid
    res = {}
    palice = await XmppUser(cluster.prosody, name="cpalice").connect()
    pbob = await MatrixUser(cluster.synapse.url, name="cpbob").register()
    ealice = await XmppUser(cluster.prosody, name="cealice").connect()
    ebob = await E2eeMatrixUser(cluster.synapse.url, tmp / "cebob",
                                "cebob").register()
    try:
        pjid = f"{pbob.name}%{DOMAIN}@{COMPONENT}"
        palice.send(pjid, "open")
        proom, _ = await pbob.wait_invite(timeout=60)
        await pbob.join(proom)
        await pbob.wait_message(lambda r, e: e.body == "open", timeout=60)
        ejid = f"{ebob.name}%{DOMAIN}@{COMPONENT}"
        eroom = await ebob.create_encrypted_dm(ghost_of(ealice))
        await ebob.wait_member(lambda r, e: r == eroom and
                               e.membership == "join" and
                               e.state_key == ghost_of(ealice), timeout=60)
        await ebob.send(eroom, "warm")
        await ealice.wait_message(lambda m: m["body"] == "warm", timeout=60)
        ealice.send(ejid, "warm back")
        await ebob.wait_message(lambda r, e: e.body == "warm back",
                                timeout=60)
        cases = [("clear", palice, pbob, proom, pjid),
                 ("encrypted", ealice, ebob, eroom, ejid)]
        for kind, alice, bob, room, jid in cases:
            for direction in ("to_matrix", "to_xmpp"):
                tag = f"{kind}-{direction}"
                c0 = cpu_seconds(pid)
                for k in range(n):
                    if direction == "to_matrix":
                        alice.send(jid, f"{tag} {k}")
                    else:
                        await bob.send(room, f"{tag} {k}")
                    await asyncio.sleep(1 / rate)
                last = f"{tag} {n - 1}"
                if direction == "to_matrix":
                    await bob.wait_message(lambda r, e: e.body == last,
                                           timeout=120)
                else:
                    await alice.wait_message(lambda m: m["body"] == last,
                                             timeout=120)
                res[tag] = (cpu_seconds(pid) - c0) / n * 1e6
                print(f"  {tag}: {res[tag]:.0f} us per message", flush=True)
    finally:
        for u in (pbob, ebob):
            await u.close()
        for u in (palice, ealice):
            await u.disconnect()
    return res


def signed(account, user, device, obj):
    import vodozemac  # noqa: F401
    text = json.dumps({k: v for k, v in obj.items() if k != "signatures"},
                      sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    obj["signatures"] = {user: {f"ed25519:{device}":
                                account.sign(text.encode()).to_base64()}}
    return obj


async def devices_in_room(cluster, room_id, users, per_user):
    """users Matrix users, each with per_user devices whose keys (and one
    one-time key each) are uploaded, all joined to room_id."""
    import aiohttp
    import vodozemac
    url = cluster.synapse.url + "/_matrix/client/v3"
    sem = asyncio.Semaphore(8)

    async def device(s, user, token, device_id):
        acc = vodozemac.Account()
        keys = signed(acc, user, device_id, {
            "user_id": user, "device_id": device_id,
            "algorithms": ["m.olm.v1.curve25519-aes-sha2",
                           "m.megolm.v1.aes-sha2"],
            "keys": {f"curve25519:{device_id}": acc.curve25519_key.to_base64(),
                     f"ed25519:{device_id}": acc.ed25519_key.to_base64()}})
        acc.generate_one_time_keys(1)
        otks = {f"signed_curve25519:{kid}": signed(
            acc, user, device_id, {"key": k.to_base64()})
            for kid, k in acc.one_time_keys.items()}
        async with s.post(f"{url}/keys/upload", json={
                "device_keys": keys, "one_time_keys": otks},
                headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 200, await r.text()

    async def one(s, i):
        name = f"bigdev{i}"
        user = f"@{name}:{DOMAIN}"
        async with sem:
            async with s.post(f"{url}/register", json={
                    "username": name, "password": "pw",
                    "auth": {"type": "m.login.dummy"}}) as r:
                body = await r.json()
                assert r.status == 200, body
            tokens = [(body["access_token"], body["device_id"])]
            for _ in range(per_user - 1):
                async with s.post(f"{url}/login", json={
                        "type": "m.login.password", "password": "pw",
                        "identifier": {"type": "m.id.user", "user": name}}) \
                        as r:
                    b = await r.json()
                    assert r.status == 200, b
                    tokens.append((b["access_token"], b["device_id"]))
            for token, dev in tokens:
                await device(s, user, token, dev)
            async with s.post(f"{url}/join/{room_id}", json={}, headers={
                    "Authorization": f"Bearer {tokens[0][0]}"}) as r:
                assert r.status == 200, await r.text()

    async with aiohttp.ClientSession() as s:
        await asyncio.gather(*[one(s, i) for i in range(users)])


async def share_figure(cluster, users, per_user):
    from nio.api import RoomPreset
    from test_muc_gateway import muc as gw_muc
    owner = await MatrixUser(cluster.synapse.url, name="bshareowner").register()
    speaker = await XmppUser(cluster.prosody, name="bspeaker").connect()
    alice = await XmppUser(cluster.prosody, name="bsharepinger").connect()
    bob = await MatrixUser(cluster.synapse.url, name="bshareponger").register()
    try:
        resp = await owner.client.room_create(
            alias="e2eebig", preset=RoomPreset.public_chat,
            initial_state=[{"type": "m.room.encryption", "state_key": "",
                            "content": {"algorithm":
                                        "m.megolm.v1.aes-sha2"}}])
        room_id = resp.room_id
        print(f"  {users} users with {per_user} devices each join ...",
              flush=True)
        t0 = time.monotonic()
        await devices_in_room(cluster, room_id, users, per_user)
        print(f"  ({time.monotonic() - t0:.0f} s)", flush=True)
        muc_jid = f"#e2eebig%{DOMAIN}@{COMPONENT}"
        await gw_muc(speaker).join_muc_wait(muc_jid, "speaker",
                                            maxstanzas=0, timeout=300)
        await settle(cluster.isthmus)
        bob_jid = f"{bob.name}%{DOMAIN}@{COMPONENT}"
        alice.send(bob_jid, "open")
        dm, _ = await bob.wait_invite(timeout=60)
        await bob.join(dm)
        await bob.wait_message(lambda r, e: e.body == "open", timeout=60)

        async def probe(n, tag):
            lat = []
            for k in range(n):
                sent = time.monotonic()
                alice.send(bob_jid, f"{tag} {k}")
                await bob.wait_message(
                    lambda r, e, b=f"{tag} {k}": e.body == b, timeout=60)
                lat.append((time.monotonic() - sent) * 1000)
                await asyncio.sleep(0.05)
            return lat

        baseline = await probe(20, "before")
        m0 = scrape(cluster.isthmus)
        enc0 = cluster.isthmus.metrics().get(
            "isthmus_e2ee_events_encrypted_total", 0)
        probing = asyncio.create_task(probe(40, "during"))
        t0 = time.monotonic()
        speaker.client.send_message(mto=muc_jid, mbody="to a thousand",
                                    mtype="groupchat")
        while cluster.isthmus.metrics().get(
                "isthmus_e2ee_events_encrypted_total", 0) <= enc0:
            if time.monotonic() - t0 > 600:
                raise AssertionError("the encrypted message never left")
            await asyncio.sleep(0.02)
        share_s = time.monotonic() - t0
        during = await probing
        m1 = scrape(cluster.isthmus)
        turn = "isthmus_loop_turn_seconds"
        log = cluster.isthmus.log_text()
        shared = [int(line.rsplit(" with ", 1)[1].split()[0])
                  for line in log.splitlines()
                  if "shares its key in " + room_id in line]
        return {"devices": users * per_user, "shared_with": max(shared or [0]),
                "first_message_seconds": share_s,
                "other_conversation_ms": {
                    "before_p50": pct(baseline, 0.5),
                    "before_max": max(baseline),
                    "during_p50": pct(during, 0.5),
                    "during_max": max(during)},
                "gateway_turn_ms_le": {
                    "p99": ms(hist_quantile(m0, m1, turn, 0.99)),
                    "max": ms(hist_max(m0, m1, turn))}}
    finally:
        for u in (owner, bob):
            await u.close()
        for u in (speaker, alice):
            await u.disconnect()


async def omemo_cpu(cluster, n, rate, tmp):
    """isthmus CPU per message with OMEMO on the XMPP side: with a Matrix
    user in clear, with one whose room is Megolm-encrypted, and towards an
    XMPP user with 5 devices (each message encrypted to all five)."""
    pid = cluster.isthmus.proc.pid
    res = {}
    o1 = await OmemoXmppUser(cluster.prosody, "omalice",
                             versions="legacy").connect()
    pbob = await MatrixUser(cluster.synapse.url, name="ombob").register()
    o2 = await OmemoXmppUser(cluster.prosody, "omcarol",
                             versions="legacy").connect()
    ebob = await E2eeMatrixUser(cluster.synapse.url, tmp / "omdave",
                                "omdave").register()
    five = [await OmemoXmppUser(cluster.prosody, "omerin", resource=f"d{i}",
                                register=i == 0, versions="legacy").connect()
            for i in range(5)]
    fbob = await MatrixUser(cluster.synapse.url, name="omfrank").register()
    try:
        pjid = f"{pbob.name}%{DOMAIN}@{COMPONENT}"
        await o1.send_encrypted(pjid, "open", version="legacy")
        proom, _ = await pbob.wait_invite(timeout=60)
        await pbob.join(proom)
        await pbob.wait_message(lambda r, e: e.body == "open", timeout=60)
        ejid = f"{ebob.name}%{DOMAIN}@{COMPONENT}"
        eroom = await ebob.create_encrypted_dm(ghost_of(o2))
        await ebob.wait_member(lambda r, e: r == eroom and
                               e.membership == "join" and
                               e.state_key == ghost_of(o2), timeout=60)
        await ebob.send(eroom, "warm")
        await o2.wait_encrypted(lambda m: m.body == "warm", timeout=60)
        froom = await fbob.create_dm(ghost_of(five[0]))
        await fbob.wait_member(lambda r, e: r == froom and
                               e.membership == "join" and
                               e.state_key == ghost_of(five[0]), timeout=60)
        await fbob.send(froom, "warm")
        for d in five:
            await d.wait_encrypted(lambda m: m.body == "warm", timeout=60)
        cases = [("omemo", o1, pbob, proom, pjid, ("to_matrix", "to_xmpp")),
                 ("omemo+megolm", o2, ebob, eroom, ejid,
                  ("to_matrix", "to_xmpp")),
                 ("omemo-5-devices", five[0], fbob, froom, None,
                  ("to_xmpp",))]
        for kind, alice, bob, room, jid, directions in cases:
            for direction in directions:
                tag = f"{kind}-{direction}"
                c0 = cpu_seconds(pid)
                for k in range(n):
                    if direction == "to_matrix":
                        await alice.send_encrypted(jid, f"{tag} {k}",
                                                   version="legacy")
                    else:
                        await bob.send(room, f"{tag} {k}")
                    await asyncio.sleep(1 / rate)
                last = f"{tag} {n - 1}"
                if direction == "to_matrix":
                    await bob.wait_message(lambda r, e: e.body == last,
                                           timeout=300)
                else:
                    await alice.wait_encrypted(lambda m: m.body == last,
                                               timeout=300)
                res[tag] = (cpu_seconds(pid) - c0) / n * 1e6
                print(f"  {tag}: {res[tag]:.0f} us per message", flush=True)
    finally:
        for u in (pbob, ebob, fbob):
            await u.close()
        for u in (o1, o2, *five):
            await u.disconnect()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--rate", type=float, default=20)
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--devices-per-user", type=int, default=10)
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--skip-share", action="store_true",
                    help="only the CPU figures (the 1,000-device share takes "
                         "minutes)")
    args = ap.parse_args()
    cluster = Cluster()
    res = {}
    try:
        print("starting Prosody, Synapse and isthmus ...", flush=True)
        cluster.start()
        print("1. CPU per message, clear and encrypted ...", flush=True)
        res["cpu_us_per_message"] = asyncio.run(per_message_cpu(
            cluster, args.messages, args.rate, cluster.root))
        res["cpu_us_per_message"].update(asyncio.run(omemo_cpu(
            cluster, args.messages, args.rate, cluster.root)))
        if not args.skip_share:
            print("2. sharing a session with many devices ...", flush=True)
            res["share"] = asyncio.run(share_figure(
                cluster, args.users, args.devices_per_user))
    finally:
        cluster.stop()
        cluster.cleanup()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # A run without the share writes apart, so that e2ee.json keeps one
    # whole run.
    name = "e2ee-cpu.json" if args.skip_share else "e2ee.json"
    (out / name).write_text(json.dumps(res, indent=2) + "\n")
    c = res["cpu_us_per_message"]
    print(f"\n1. isthmus CPU per message ({args.messages} at "
          f"{args.rate:g}/s each): to Matrix {c['clear-to_matrix']:.0f} us "
          f"clear, {c['encrypted-to_matrix']:.0f} us encrypted; to XMPP "
          f"{c['clear-to_xmpp']:.0f} us clear, "
          f"{c['encrypted-to_xmpp']:.0f} us encrypted")
    print(f"   OMEMO: to Matrix {c['omemo-to_matrix']:.0f} us (room in "
          f"clear), {c['omemo+megolm-to_matrix']:.0f} us (Megolm room); to "
          f"XMPP {c['omemo-to_xmpp']:.0f} us, "
          f"{c['omemo+megolm-to_xmpp']:.0f} us (from a Megolm room), "
          f"{c['omemo-5-devices-to_xmpp']:.0f} us to a user with 5 devices")
    if "share" not in res:
        return
    s = res["share"]
    o = s["other_conversation_ms"]
    g = s["gateway_turn_ms_le"]
    print(f"2. First message into a room of {s['devices']} member devices "
          f"(key shared with {s['shared_with']}): {s['first_message_seconds']:.2f}"
          f" s. Longest loop turn meanwhile <= {g['max']} ms (p99 <= "
          f"{g['p99']} ms); another conversation: p50 {o['during_p50']:.0f} "
          f"ms, max {o['during_max']:.0f} ms (before: p50 "
          f"{o['before_p50']:.0f} ms, max {o['before_max']:.0f} ms)")


if __name__ == "__main__":
    main()
