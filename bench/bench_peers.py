"""isthmus next to matrix-bifrost and matridge, on the same Prosody and
Synapse, with the same load, one gateway after the other in one run.

For each gateway (bench/peer_gateways.py says how each is installed and
run; bench/peer_scenarios.py how its users talk):
  1. DMs both ways at the offered rates over 20 conversations: delivered,
     lost, duplicated, end-to-end p50/p99, the gateway's CPU per message
     (its threads' schedstat, as bench_e2e.py reads isthmus's);
  2. resident memory idle, and after N distinct Matrix users have each
     sent one message to one XMPP user (memory per ghost or puppet);
  3. joining a big Matrix room from XMPP: time to the self-presence, and
     another conversation's messages meanwhile;
  4. a restart with messages in flight, each way: how many arrive, twice.

Prints a table with a column per gateway, writes bench/results/peers.json
and peers.png. A peer that fails to install or start is reported as such
and the others still run. Nothing here asserts on a time.
"""

import argparse
import asyncio
import json
import os
import pathlib
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
os.environ.setdefault("ISTHMUS_LOG_LEVEL", "info")  # nothing per message

from harness import Prosody, Synapse  # noqa: E402
from measure import (cpu_seconds, machine, pct, prosody_pid,  # noqa: E402
                     rss_bytes)
import peer_gateways as pg  # noqa: E402
import peer_scenarios as sc  # noqa: E402
from peer_report import plot, print_table  # noqa: E402

DRAIN_S = 30   # how long arrivals are awaited after an offer ends


class Servers:
    """Prosody and Synapse, shared by every gateway of the run."""

    def __init__(self, root, names):
        self.root = root
        self.prosody = Prosody(root)
        # Synapse's config names isthmus's registration first (the
        # harness's way); the others are added below.
        self.synapse = Synapse(root, root / "isthmus" / "registration.yaml")
        self.hs = self.synapse.url
        self.gateways, self.failed = [], {}
        self.loadgen = sc.Loadgen(self.synapse)
        regs = []
        for gw in pg.all_gateways(root, self.prosody, self.hs, names):
            try:
                gw.install()
                reg = gw.registration()
            except pg.PeerUnavailable as e:
                self.failed[gw.name] = f"failed to install: {e}"
                print(f"  {gw.name}: {self.failed[gw.name]}", flush=True)
                continue
            if reg:
                regs.append(reg)
            with open(self.prosody.config, "a") as f:
                f.write(gw.prosody_component())
            self.gateways.append(gw)
        text = self.synapse.config.read_text()
        start = text.index("app_service_config_files:")
        end = text.index("\n", start)
        self.synapse.config.write_text(
            text[:start] + "app_service_config_files: " +
            json.dumps([str(r) for r in regs]) + text[end:])

    def start(self):
        self.prosody.start()
        self.synapse.start()

    def stop(self):
        for gw in self.gateways:
            gw.stop()
        self.synapse.stop()
        self.prosody.stop()

    def pids(self, gw):
        return {"gateway": gw.pid, "synapse": self.synapse.proc.pid,
                "prosody": prosody_pid(self.prosody)}


async def run_load(servers, gw, convs, direction, rate, seconds, tag,
                   cpu=True):
    """Offers rate msg/s for seconds, round-robin over the conversations;
    counts each arrival, so that duplicates show."""
    total = int(rate * seconds)
    sent_at, got_at, arrivals = {}, {}, {}
    prefix = f"{tag}:"
    done = asyncio.Event()

    def received(body):
        if body and body.startswith(prefix):
            k = int(body[len(prefix):])
            arrivals[k] = arrivals.get(k, 0) + 1
            if k not in got_at:
                got_at[k] = time.monotonic()
                if len(got_at) == total:
                    done.set()
    handlers = _watch(convs, direction, received)
    pids = servers.pids(gw)
    # A restart (cpu=False) changes the gateway's pid mid-run.
    cpu0 = {k: cpu_seconds(p) for k, p in pids.items()} if cpu else {}
    start = time.monotonic()
    tasks = []
    for k in range(total):
        delay = start + k / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        conv = convs[k % len(convs)]
        sent_at[k] = time.monotonic()
        if direction == "to_matrix":
            conv.send_xmpp(f"{prefix}{k}")
        else:
            tasks.append(asyncio.create_task(
                conv.send_matrix(f"{prefix}{k}")))
    try:
        await asyncio.wait_for(done.wait(), DRAIN_S)
    except asyncio.TimeoutError:
        pass
    await asyncio.sleep(1)   # a late duplicate of the last ones
    refused = 0
    if tasks:
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        refused = sum(1 for o in outcomes if isinstance(o, BaseException))
    cpu1 = {k: cpu_seconds(p) for k, p in pids.items()} if cpu else {}
    _unwatch(handlers, direction)
    delivered = len(got_at)
    lat = [(got_at[k] - sent_at[k]) * 1000 for k in got_at]
    return {
        "direction": direction, "offered_per_s": rate, "sent": total,
        "refused_by_homeserver": refused, "delivered": delivered,
        "lost": total - delivered,
        "duplicated": sum(n - 1 for n in arrivals.values()),
        "e2e_p50_ms": pct(lat, 0.50), "e2e_p99_ms": pct(lat, 0.99),
        "cpu_us_per_msg": {k: (cpu1[k] - cpu0[k]) * 1e6 / delivered
                           if delivered else None for k in cpu0},
    }


def _watch(convs, direction, received):
    handlers = []
    for c in convs:
        if direction == "to_matrix":
            async def cb(room, event):
                received(getattr(event, "body", ""))
            from nio import RoomMessageText
            c.bob.client.add_event_callback(cb, RoomMessageText)
            handlers.append((c.bob, cb))
        else:
            def cb(msg):
                if msg["type"] in ("chat", "groupchat"):
                    received(msg["body"])
            c.alice.client.add_event_handler("message", cb)
            handlers.append((c.alice, cb))
    return handlers


def _unwatch(handlers, direction):
    for owner, cb in handlers:
        if direction == "to_matrix":
            owner.client.event_callbacks = [
                c for c in owner.client.event_callbacks if c.func is not cb]
        else:
            owner.client.del_event_handler("message", cb)


async def restart_figure(servers, gw, convs, direction, rate, seconds, tag):
    """The load of run_load, with the gateway restarted (SIGTERM, start)
    a third of the way through the offer."""
    def restart_later():
        time.sleep(seconds / 3)
        t0 = time.monotonic()
        gw.restart()
        result["restart_s"] = time.monotonic() - t0
    result = {}
    th = threading.Thread(target=restart_later)
    th.start()
    try:
        r = await run_load(servers, gw, convs, direction, rate, seconds, tag,
                           cpu=False)
    finally:
        await asyncio.to_thread(th.join)
    r.pop("cpu_us_per_msg")
    r.update(result)
    return r


async def load_phase(servers, gw, rates, seconds, n_convs, restart_rate):
    tag = gw.tag
    print(f"  opening {n_convs} conversations ...", flush=True)
    convs = []
    try:
        for i in range(n_convs):
            convs.append(await sc.open_conversation(
                gw, servers.prosody, servers.hs, f"{tag}c", i))
        load = []
        for rate in rates:
            for direction in ("to_matrix", "to_xmpp"):
                r = await run_load(servers, gw, convs, direction, rate,
                                   seconds, f"{direction}{rate}")
                print(f"  {direction} at {rate}/s: {r['delivered']}/"
                      f"{r['sent']} delivered, {r['duplicated']} twice, "
                      f"{_f(r['cpu_us_per_msg']['gateway'])} us CPU/msg",
                      flush=True)
                load.append(r)
        restarts = []
        for direction in ("to_matrix", "to_xmpp"):
            r = await restart_figure(servers, gw, convs, direction,
                                     restart_rate, seconds,
                                     f"restart{direction}")
            print(f"  restart, {direction}: {r['delivered']}/{r['sent']} "
                  f"arrived, {r['duplicated']} twice", flush=True)
            restarts.append(r)
        # Another conversation for the join figure, kept open.
        return load, restarts, convs
    except BaseException:
        for c in convs:
            await c.close()
        raise


async def memory_phase(servers, gw, sizes):
    """RSS after N distinct Matrix users have each sent one message to one
    XMPP user (who, with matridge, joins each DM's MUC)."""
    alice, target, got = await sc.receiver(gw, servers.prosody, servers.hs,
                                           f"{gw.tag}mem")
    out = []
    try:
        await asyncio.sleep(3)
        base = rss_bytes(gw.pid)
        done = 0
        for n in sizes:
            t0 = time.monotonic()
            tag = f"{gw.tag}u"
            await servers.loadgen.dms_to(target, tag, done,
                                         n - done)
            arrived = await sc.wait_count(got, tag, n, 120 + n * 0.05)
            done = n
            await asyncio.sleep(5)   # settle
            rss = rss_bytes(gw.pid)
            out.append({"users": n, "arrived": arrived, "rss_bytes": rss,
                        "rss_before_bytes": base,
                        "bytes_per_user": (rss - base) / n,
                        "seconds": time.monotonic() - t0})
            print(f"  {n} users: {arrived} arrived, RSS "
                  f"{rss / 1048576:.1f} MiB ({(rss - base) / n:.0f} B per "
                  f"user), {time.monotonic() - t0:.0f} s", flush=True)
    finally:
        if getattr(alice, "joiner", None):
            alice.joiner.cancel()
        await alice.disconnect()
    return out


async def join_phase(servers, gw, rooms, probe_conv):
    """Joins each big room from XMPP; meanwhile another conversation's
    messages towards Matrix are timed."""
    results = []
    tag = gw.tag
    if gw.kind == "chat":
        joiner = await sc.XmppUser(servers.prosody, name=f"{tag}j").connect()
    else:
        joiner, _, _ = await sc.matridge_user(gw, servers.prosody,
                                              servers.hs, f"{tag}j")
    try:
        for members, (alias, room_id) in sorted(rooms.items()):
            muc = (gw.room_jid(alias) if gw.kind == "chat"
                   else gw.muc_jid(room_id))

            async def probe(n, label):
                lat, lost = [], 0
                for k in range(n):
                    body = f"{label} {members} {k}"
                    t = time.monotonic()
                    probe_conv.send_xmpp(body)
                    try:
                        await probe_conv.bob.wait_message(
                            lambda r, e, b=body: e.body == b, timeout=10)
                        lat.append((time.monotonic() - t) * 1000)
                    except AssertionError:
                        lost += 1
                        if not gw.running():
                            lost += n - k - 1   # no use waiting for each
                            break
                    await asyncio.sleep(0.05)
                return lat, lost
            before, _ = await probe(10, "before")
            probing = asyncio.create_task(probe(20, "during"))
            try:
                join_s, occupants = await sc.join_muc(joiner, muc, "joiner",
                                                      timeout=120)
                r = {"members": members, "join_seconds": join_s,
                     "occupants_received": len(occupants),
                     "status": "measured"}
            except Exception as e:  # noqa: BLE001 - reported, not raised
                r = {"members": members, "status": f"failed: {e}"[:200]}
            if not gw.running():
                r["status"] = ("failed: the gateway exited during the join: "
                               + gw.last_error())
            during, lost = await probing
            r["other_conversation_ms"] = {
                "before_p50": pct(before, 0.5),
                "during_p50": pct(during, 0.5),
                "during_max": max(during) if during else None,
                "during_delivered": f"{len(during)}/{len(during) + lost}"}
            print(f"  join {members}: {r.get('join_seconds', r['status'])}"
                  f", other conversation {r['other_conversation_ms']}",
                  flush=True)
            results.append(r)
            if not gw.running():
                break
            try:
                joiner.client.plugin["xep_0045"].leave_muc(muc, "joiner")
            except Exception:  # noqa: BLE001
                pass
            await asyncio.sleep(5)
    finally:
        await joiner.disconnect()
    return results


async def one_gateway(servers, gw, args, rooms):
    res = {"name": gw.name}
    try:
        gw.start()
    except Exception as e:  # noqa: BLE001 - a peer's failure is reported
        res["failed"] = f"failed to start: {e}"[:400]
        return res
    try:
        await asyncio.sleep(5)
        res["rss_idle_bytes"] = rss_bytes(gw.pid)
        print(f"  idle RSS {res['rss_idle_bytes'] / 1048576:.1f} MiB",
              flush=True)
        rates = [int(r) for r in args.rates.split(",")]
        res["load"], res["restart"], convs = await load_phase(
            servers, gw, rates, args.seconds, args.conversations,
            args.restart_rate)
        try:
            # Memory before the joins: a gateway that a join brings down
            # (matrix-bifrost with NeDB) still has its memory measured.
            sizes = [int(s) for s in args.users.split(",") if s]
            if sizes:
                print("  distinct users ...", flush=True)
                res["memory"] = await memory_phase(servers, gw, sizes)
            if rooms:
                print("  joining the big rooms ...", flush=True)
                res["join"] = await join_phase(servers, gw, rooms, convs[0])
        finally:
            for c in convs:
                await c.close()
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        res["failed"] = f"failed: {e!r}"[:400]
    finally:
        if getattr(gw, "standin_calls", None):
            res["crypto_standin_calls"] = gw.standin_calls()
        gw.stop()
    return res


def _f(v):
    return "-" if v is None else f"{v:.0f}"


async def fill_rooms(servers, sizes):
    rooms = {}
    for n in sizes:
        t0 = time.monotonic()
        alias = f"bench{n}"
        print(f"filling a {n}-member room ...", flush=True)
        rooms[n] = (alias, await servers.loadgen.fill_room(alias, n))
        print(f"  ({time.monotonic() - t0:.0f} s)", flush=True)
    return rooms


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gateways",
                    default="isthmus,matrix-bifrost,matridge,matridge+case-fix",
                    help="matridge+case-fix: matridge started through "
                    "bench/matridge_case_fix.py (see there)")
    ap.add_argument("--seconds", type=float, default=10,
                    help="how long each load is offered (default 10)")
    ap.add_argument("--rates", default="20,50")
    ap.add_argument("--conversations", type=int, default=20)
    ap.add_argument("--restart-rate", type=int, default=20)
    ap.add_argument("--users", default="1000,10000",
                    help="distinct users for the memory figure")
    ap.add_argument("--join-members", default="1000,5000")
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--report", metavar="JSON",
                    help="only print the table and draw the plot of an "
                    "earlier run's peers.json")
    args = ap.parse_args()
    if args.report:
        res = json.loads(pathlib.Path(args.report).read_text())
        print_table(res)
        plot(res, pathlib.Path(args.report).with_suffix(".png"))
        return

    res = {"machine": machine(), "args": vars(args), "gateways": []}
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    root = pathlib.Path(tempfile.mkdtemp(prefix="isthmus-peers-"))
    os.chmod(root, 0o755)
    servers = Servers(root, args.gateways.split(","))
    try:
        servers.start()
        sizes = [int(s) for s in args.join_members.split(",") if s]
        rooms = asyncio.run(fill_rooms(servers, sizes))
        for gw in servers.gateways:
            print(f"== {gw.name}", flush=True)
            res["gateways"].append(asyncio.run(
                one_gateway(servers, gw, args, rooms)))
            # So far, in case the run is cut short.
            (out / "peers.json").write_text(json.dumps(res, indent=2) + "\n")
    finally:
        servers.stop()
    for name, why in servers.failed.items():
        res["gateways"].append({"name": name, "failed": why})
    (out / "peers.json").write_text(json.dumps(res, indent=2) + "\n")
    print_table(res)
    try:
        plot(res, out / "peers.png")
        print(f"\nwrote {out / 'peers.json'} and {out / 'peers.png'}")
    except ImportError:
        print(f"\nwrote {out / 'peers.json'} (matplotlib missing: no plot)")
    print(f"(servers' and gateways' logs in {root})")


if __name__ == "__main__":
    main()
