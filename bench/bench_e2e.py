"""isthmus benchmarks against real Prosody and Synapse on loopback.

Figures (see issue "Measure and harden"):
  1. throughput and latency both ways at offered loads over 20 conversations
  2. CPU per bridged message: isthmus next to Synapse and Prosody,
     and, in process, the store's share of it (bench/bench_store), and
     what this machine charges any gateway for a message towards Matrix,
     without isthmus (bench/bench_floor)
  3. isthmus resident memory with 0, 10,000 and 100,000 ghosts and rooms
  4. in-process translations per second (bench/bench_translate)
  5. joining a 5,000-member Matrix room (needs group chats; reported as such)

Prints a table, writes bench/results/latest.json and latest.png. Nothing
here asserts on a time.
"""

import argparse
import asyncio
import json
import os
import pathlib
import sqlite3
import subprocess
import sys
import time
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
os.environ.setdefault("ISTHMUS_LOG_LEVEL", "info")  # nothing per message

from harness import COMPONENT, DOMAIN, Cluster  # noqa: E402
from peers import MatrixUser, XmppUser, populate  # noqa: E402
from measure import (cpu_seconds, machine, pct, prosody_pid,  # noqa: E402
                     rss_bytes, run_queue_wait_s)


def scrape(isthmus):
    with urllib.request.urlopen(isthmus.url + "/metrics", timeout=5) as r:
        text = r.read().decode()
    hist = {}
    for line in text.splitlines():
        if line.startswith("process_cpu_seconds_total "):
            hist["process_cpu_seconds_total"] = float(line.split()[1])
        if "_bucket{le=" in line:
            name, rest = line.split("_bucket{le=\"", 1)
            le, count = rest.split("\"} ")
            hist.setdefault(name, []).append(
                (float("inf") if le == "+Inf" else float(le), int(count)))
    return hist


def hist_quantile(before, after, name, q):
    """Upper bound of the bucket holding quantile q of the delta."""
    b = dict(before.get(name, []))
    buckets = [(le, c - b.get(le, 0)) for le, c in after.get(name, [])]
    total = buckets[-1][1] if buckets else 0
    if total == 0:
        return None
    for le, cumulative in buckets:
        if cumulative >= q * total:
            return le
    return None


def hist_max(before, after, name):
    """Upper bound of the highest bucket that gained a count."""
    b = dict(before.get(name, []))
    top, prev = None, 0
    for le, cumulative in after.get(name, []):
        delta = cumulative - b.get(le, 0)
        if delta > prev:
            top = le
        prev = delta
    return top


async def setup_conversations(cluster, n):
    pairs = []
    for i in range(n):
        alice = await XmppUser(cluster.prosody, name=f"balice{i}").connect()
        bob = await MatrixUser(cluster.synapse.url, name=f"bbob{i}").register()
        bob_jid = f"{bob.name}%{DOMAIN}@{COMPONENT}"
        alice.send(bob_jid, "open")
        room_id, _ = await bob.wait_invite(timeout=60)
        await bob.join(room_id)
        await bob.wait_message(lambda r, e: e.body == "open", timeout=60)
        pairs.append((alice, bob, room_id, bob_jid))
    return pairs


async def run_load(cluster, pairs, direction, rate, seconds, tag):
    """Offers rate msg/s for seconds, round-robin over the conversations;
    returns what was delivered and how fast."""
    total = int(rate * seconds)
    sent_at, got_at = {}, {}
    done = asyncio.Event()
    prefix = f"{tag}:"

    def received(body):
        if body.startswith(prefix):
            k = int(body[len(prefix):])
            if k not in got_at:
                got_at[k] = time.monotonic()
                if len(got_at) == total:
                    done.set()

    # Receivers.
    handlers = []
    if direction == "to_matrix":
        for _, bob, _, _ in pairs:
            async def cb(room, event, bob=bob):
                received(getattr(event, "body", "") or "")
            from nio import RoomMessageText
            bob.client.add_event_callback(cb, RoomMessageText)
            handlers.append((bob, cb))
    else:
        for alice, _, _, _ in pairs:
            def cb(msg):
                if msg["type"] == "chat":
                    received(msg["body"])
            alice.client.add_event_handler("message", cb)
            handlers.append((alice, cb))

    iso = cluster.isthmus.proc.pid
    procs = {"isthmus": iso, "synapse": cluster.synapse.proc.pid,
             "prosody": prosody_pid(cluster.prosody)}
    cpu0 = {k: cpu_seconds(p) for k, p in procs.items()}
    wait0 = run_queue_wait_s(iso)
    m0 = scrape(cluster.isthmus)

    start = time.monotonic()
    tasks = []
    for k in range(total):
        due = start + k / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        alice, bob, room_id, bob_jid = pairs[k % len(pairs)]
        body = f"{prefix}{k}"
        sent_at[k] = time.monotonic()
        if direction == "to_matrix":
            alice.send(bob_jid, body)
        else:
            tasks.append(asyncio.create_task(bob.send(room_id, body)))
    offer_end = time.monotonic()
    try:
        await asyncio.wait_for(done.wait(), 60)
    except asyncio.TimeoutError:
        pass
    accepted = total
    if tasks:
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        # Sends Synapse refused or timed out never reached the gateway.
        accepted = sum(1 for o in outcomes if not isinstance(o, BaseException))

    cpu1 = {k: cpu_seconds(p) for k, p in procs.items()}
    wait1 = run_queue_wait_s(iso)
    run_end = time.monotonic()
    m1 = scrape(cluster.isthmus)
    for owner, cb in handlers:
        if direction == "to_matrix":
            owner.client.event_callbacks = [
                c for c in owner.client.event_callbacks if c.func is not cb]
        else:
            owner.client.del_event_handler("message", cb)

    delivered = len(got_at)
    lat = [(got_at[k] - sent_at[k]) * 1000 for k in got_at]
    last = max(got_at.values()) if got_at else offer_end
    metric = ("isthmus_to_matrix_gateway_seconds" if direction == "to_matrix"
              else "isthmus_to_xmpp_gateway_seconds")
    per_msg = {k: (cpu1[k] - cpu0[k]) * 1e6 / delivered if delivered else None
               for k in procs}
    # isthmus's own figure is its getrusage (process_cpu_seconds_total in
    # its /metrics), as the issue asks; its schedstat sum stays next to it
    # as a check (the two count the same nanoseconds).
    cpu_key = "process_cpu_seconds_total"
    if delivered and cpu_key in m0 and cpu_key in m1:
        per_msg["isthmus_schedstat"] = per_msg["isthmus"]
        per_msg["isthmus"] = (m1[cpu_key] - m0[cpu_key]) * 1e6 / delivered
    g50 = hist_quantile(m0, m1, metric, 0.50)
    g99 = hist_quantile(m0, m1, metric, 0.99)
    cpu_metric = metric.replace("_gateway_", "_gateway_cpu_")
    c50 = hist_quantile(m0, m1, cpu_metric, 0.50)
    c99 = hist_quantile(m0, m1, cpu_metric, 0.99)
    # How much of the run isthmus was ready to work but another process
    # (Synapse, Prosody, the load generator) had the CPU.
    waited = (wait1 - wait0 if wait0 is not None and wait1 is not None
              else None)
    return {
        "direction": direction, "offered_per_s": rate, "sent": total,
        "accepted_by_homeserver": accepted,
        "delivered": delivered,
        "delivered_per_s": delivered / (last - start) if delivered else 0,
        "e2e_p50_ms": pct(lat, 0.50), "e2e_p99_ms": pct(lat, 0.99),
        "gateway_p50_ms_le": g50 * 1000 if g50 is not None else None,
        "gateway_p99_ms_le": g99 * 1000 if g99 is not None else None,
        "gateway_cpu_p50_ms_le": ms(c50),
        "gateway_cpu_p99_ms_le": ms(c99),
        "isthmus_cpu_wait_ms_per_s": (waited * 1000 / (run_end - start)
                                      if waited is not None else None),
        "cpu_us_per_msg": per_msg,
        "gateway_turn_max_ms_le": ms(hist_max(m0, m1,
                                              "isthmus_loop_turn_seconds")),
        # What every stanza and every transaction's answer waits for.
        "commit_p50_ms_le": ms(hist_quantile(
            m0, m1, "isthmus_store_commit_seconds", 0.50)),
        "commit_p99_ms_le": ms(hist_quantile(
            m0, m1, "isthmus_store_commit_seconds", 0.99)),
    }


def ms(seconds):
    return seconds * 1000 if seconds is not None else None


async def settle(isthmus, quiet=5, limit=600):
    """Waits until Synapse has stopped sending the appservice transactions
    (the filled room's join events are in its namespace, and arrive for a
    while after the fill), so the join is measured on its own."""
    def count():
        m = isthmus.metrics()
        return (m.get("isthmus_transactions_total", 0) +
                m.get("isthmus_transactions_duplicate_total", 0))
    last, still, start = count(), 0, time.monotonic()
    while still < quiet and time.monotonic() - start < limit:
        await asyncio.sleep(1)
        now = count()
        still = still + 1 if now == last else 0
        last = now
    print(f"  (appservice traffic settled after "
          f"{time.monotonic() - start:.0f} s)", flush=True)


async def join_figure(cluster, members):
    """Time for an XMPP user to join a room of `members` Matrix members, and
    the delay of another conversation's messages meanwhile."""
    from nio.api import RoomPreset
    owner = await MatrixUser(cluster.synapse.url, name="bjoinowner").register()
    joiner = await XmppUser(cluster.prosody, name="bjoiner").connect()
    alice = await XmppUser(cluster.prosody, name="bpinger").connect()
    bob = await MatrixUser(cluster.synapse.url, name="bponger").register()
    try:
        resp = await owner.client.room_create(alias="bigroom",
                                              preset=RoomPreset.public_chat)
        room_id = resp.room_id
        print(f"  filling a room with {members} members ...", flush=True)
        t0 = time.monotonic()
        await populate(cluster.synapse.url, cluster.isthmus.as_token,
                       room_id, members - 1, "bigroom")
        print(f"  ({time.monotonic() - t0:.0f} s)", flush=True)
        await settle(cluster.isthmus)
        bob_jid = f"{bob.name}%{DOMAIN}@{COMPONENT}"
        alice.send(bob_jid, "open")
        dm, _ = await bob.wait_invite(timeout=60)
        await bob.join(dm)
        await bob.wait_message(lambda r, e: e.body == "open", timeout=60)

        async def probe(n, tag):
            """Latencies of n messages in the other conversation."""
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
        muc = joiner.client
        muc.register_plugin("xep_0045")
        m0 = scrape(cluster.isthmus)
        probing = asyncio.create_task(probe(20, "during"))
        t0 = time.monotonic()
        _, _, occupants, _ = await muc.plugin["xep_0045"].join_muc_wait(
            f"#bigroom%{DOMAIN}@{COMPONENT}", "joiner", maxstanzas=0,
            timeout=300)
        join_s = time.monotonic() - t0
        during = await probing
        m1 = scrape(cluster.isthmus)
        # The gateway's own share of the delay: the longest it kept its one
        # thread busy in a turn, during which nothing else could move.
        turn = "isthmus_loop_turn_seconds"
        turn_p99 = hist_quantile(m0, m1, turn, 0.99)
        turn_max = hist_max(m0, m1, turn)
        return {"members": members, "join_seconds": join_s,
                "occupants_received": len(occupants),
                "other_conversation_ms": {
                    "before_p50": pct(baseline, 0.5),
                    "before_max": max(baseline),
                    "during_p50": pct(during, 0.5),
                    "during_max": max(during)},
                "gateway_turn_ms_le": {"p99": ms(turn_p99),
                                       "max": ms(turn_max)},
                "status": "measured"}
    finally:
        for u in (owner, bob):
            await u.close()
        for u in (joiner, alice):
            await u.disconnect()


def memory_figure(cluster, sizes):
    """RSS of an idle isthmus over stores of growing size."""
    iso = cluster.isthmus
    db_path = iso.dir / "isthmus.db"
    results = []
    for n in sizes:
        iso.stop()
        db = sqlite3.connect(db_path)
        try:
            have = db.execute("SELECT COUNT(*) FROM ghosts WHERE jid LIKE "
                              "'memghost%'").fetchone()[0]
            rows = ((f"@_xmpp_memghost{i}=40{DOMAIN}:{DOMAIN}",
                     f"memghost{i}@{DOMAIN}", f"Ghost {i}", 1)
                    for i in range(have, n))
            db.executemany("INSERT INTO ghosts(mxid, jid, displayname, "
                           "registered) VALUES (?,?,?,?)", rows)
            rooms = ((f"!memroom{i}:{DOMAIN}", 1, f"memghost{i}@{DOMAIN}",
                      f"@memuser{i}:{DOMAIN}", 0) for i in range(have, n))
            db.executemany("INSERT INTO rooms(room_id, mode, xmpp_jid, "
                           "matrix_user, created_ts) VALUES (?,?,?,?,?)",
                           rooms)
            db.commit()
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
        iso.start()
        time.sleep(2)   # settle: connected, pinged, idle
        rss = rss_bytes(iso.proc.pid)
        results.append({"ghosts_and_rooms": n, "rss_bytes": rss,
                        "store_bytes": db_path.stat().st_size})
    base = results[0]["rss_bytes"]
    for r in results:
        n = r["ghosts_and_rooms"]
        r["rss_bytes_per_ghost"] = (r["rss_bytes"] - base) / n if n else None
        r["store_bytes_per_ghost"] = (
            (r["store_bytes"] - results[0]["store_bytes"]) / n if n else None)
    return results


def median_of_runs(program, *args, runs=3):
    """Runs bench/<program> a few times and takes the median of each figure
    in the JSON object it prints: one run on a shared VM can land on a busy
    moment. The runs themselves are kept under "runs"."""
    results = []
    for _ in range(runs):
        out = subprocess.run([str(ROOT / "bench" / program), *args],
                             capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout))
    fig = {k: sorted(r[k] for r in results)[runs // 2] for k in results[0]}
    fig["runs"] = results
    return fig


def translate_figure(seconds):
    return median_of_runs("bench_translate", str(seconds))


def store_figure(runs=3):
    """The store's share of a message, in process (bench/bench_store): the
    median of a few runs, per figure."""
    results = []
    for _ in range(runs):
        out = subprocess.run([str(ROOT / "bench" / "bench_store")],
                             capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout))

    def median(get):
        return sorted(get(r) for r in results)[runs // 2]
    fig = {"history_messages": results[0]["history_messages"],
           "to_matrix_cpu_us_per_message": median(
               lambda r: r["to_matrix_cpu_us_per_message"])}
    for key in ("to_xmpp_cpu_us_per_event", "to_xmpp_txn_wall_ms"):
        fig[key] = {n: median(lambda r: r[key][n]) for n in results[0][key]}
    fig["runs"] = results
    return fig


def floor_figure():
    """What this machine charges any gateway for the least a message towards
    Matrix needs (bench/bench_floor, without isthmus), paced at 40/s."""
    return median_of_runs("bench_floor", "40")


def fmt(v, spec=".1f"):
    return "-" if v is None else format(v, spec)


def print_table(res):
    print(f"\nisthmus benchmarks on {res['machine']['cpus']} CPUs "
          f"({res['machine']['cpu_model']}), {res['machine']['when']}\n")
    print("1+2. Throughput, latency and CPU per message (20 conversations;")
    print("     'deliv' counts arrivals within 60 s after the offer ends)")
    print(f"{'direction':10} {'offered/s':>9} {'deliv/s':>8} {'deliv':>6} "
          f"{'e2e p50':>8} {'e2e p99':>8} {'gw p50<=':>9} {'gw p99<=':>9} "
          f"{'CPU us/msg: isthmus':>20} {'synapse':>8} {'prosody':>8}")
    for r in res["load"]:
        c = r["cpu_us_per_msg"]
        print(f"{r['direction']:10} {r['offered_per_s']:>9} "
              f"{fmt(r['delivered_per_s']):>8} "
              f"{r['delivered']:>3}/{r['sent']:<3}"
              f"{fmt(r['e2e_p50_ms']):>7}ms {fmt(r['e2e_p99_ms']):>6}ms "
              f"{fmt(r['gateway_p50_ms_le'], '.2f'):>7}ms "
              f"{fmt(r['gateway_p99_ms_le'], '.2f'):>7}ms "
              f"{fmt(c['isthmus']):>20} {fmt(c['synapse']):>8} "
              f"{fmt(c['prosody']):>8}")
    print("   gateway detail: its share (gw) counting only the time it was "
          "running (CPU),\n   how long it waited for a CPU that another "
          "process had, longest loop turn,\n   store commit p50 / p99")
    for r in res["load"]:
        print(f"   {r['direction']:<10}{r['offered_per_s']:>5}/s  gw CPU <= "
              f"{fmt(r.get('gateway_cpu_p50_ms_le'), 'g')} / "
              f"{fmt(r.get('gateway_cpu_p99_ms_le'), 'g')} ms, waited for a "
              f"CPU {fmt(r.get('isthmus_cpu_wait_ms_per_s'), '.0f')} ms/s, "
              f"turn <= {fmt(r.get('gateway_turn_max_ms_le'), 'g')} ms, "
              f"commit <= {fmt(r.get('commit_p50_ms_le'), 'g')} / "
              f"{fmt(r.get('commit_p99_ms_le'), 'g')} ms")
    st = res.get("store")
    if st:
        x, w = st["to_xmpp_cpu_us_per_event"], st["to_xmpp_txn_wall_ms"]
        print(f"   the store's share in process (bench_store, "
              f"{st['history_messages']:,} messages stored, median of "
              f"{len(st['runs'])} runs): to Matrix "
              f"{st['to_matrix_cpu_us_per_message']:.0f} us CPU/msg;\n"
              f"   to XMPP per event, transactions of 1 / 10 / 100 events: "
              f"{x['txn_of_1']:.0f} / {x['txn_of_10']:.0f} / "
              f"{x['txn_of_100']:.0f} us CPU, the transaction's writes and "
              f"commit {w['txn_of_1']:.2f} / {w['txn_of_10']:.2f} / "
              f"{w['txn_of_100']:.2f} ms")
    fl = res.get("floor")
    if fl:
        print(f"   what this machine charges any gateway, without isthmus "
              f"(bench_floor, median of {len(fl['runs'])} runs): waking on "
              f"a socket {fl['wake_up_cpu_us']:.0f} us;\n   one PUT and its "
              f"answer through libcurl, kept-alive loopback: "
              f"{fl['request_paced_cpu_us']:.0f} us at "
              f"{fl['per_second']:g}/s, {fl['request_back_to_back_cpu_us']:.0f}"
              f" us back to back;\n   the same on a plain socket, without "
              f"an HTTP library: {fl['raw_request_paced_cpu_us']:.0f} us at "
              f"{fl['per_second']:g}/s, "
              f"{fl['raw_request_back_to_back_cpu_us']:.0f} us back to back")
    print("\n3. isthmus resident memory over the store's size")
    for m in res["memory"]:
        print(f"   {m['ghosts_and_rooms']:>7} ghosts+rooms: RSS "
              f"{m['rss_bytes'] / 1048576:.1f} MiB, per ghost "
              f"{fmt(m['rss_bytes_per_ghost'])} B; store "
              f"{m['store_bytes'] / 1048576:.1f} MiB")
    t = res["translate"]
    print(f"\n4. Translations per second on one core (median of "
          f"{len(t.get('runs', [t]))} runs): to Matrix "
          f"{t['to_matrix_per_s']:.0f}/s ({t['to_matrix_us']} us), to XMPP "
          f"{t['to_xmpp_per_s']:.0f}/s ({t['to_xmpp_us']} us)")
    j = res["join"]
    o = j["other_conversation_ms"]
    print(f"\n5. Joining a {j['members']:,}-member Matrix room from XMPP: "
          f"{j['join_seconds']:.2f} s ({j['occupants_received']} occupant "
          f"presences). Another conversation meanwhile: p50 "
          f"{o['during_p50']:.0f} ms, max {o['during_max']:.0f} ms (before: "
          f"p50 {o['before_p50']:.0f} ms, max {o['before_max']:.0f} ms)")
    g = j.get("gateway_turn_ms_le", {})
    print(f"   The gateway's own share: its longest loop turn meanwhile "
          f"<= {fmt(g.get('max'), 'g')} ms, p99 <= {fmt(g.get('p99'), 'g')} "
          f"ms (nothing else moves in the gateway during a turn)")


def plot(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for direction, style in (("to_matrix", "o-"), ("to_xmpp", "s--")):
        rows = [r for r in res["load"] if r["direction"] == direction]
        x = [r["offered_per_s"] for r in rows]
        axes[0].plot(x, [r["delivered_per_s"] for r in rows], style,
                     label=direction)
        axes[1].plot(x, [r["e2e_p99_ms"] or 0 for r in rows], style,
                     label=f"{direction} end-to-end p99")
        axes[1].plot(x, [r["gateway_p99_ms_le"] or 0 for r in rows], style,
                     alpha=0.5, label=f"{direction} gateway p99")
        axes[2].plot(x, [r["cpu_us_per_msg"]["isthmus"] or 0 for r in rows],
                     style, label=f"isthmus {direction}")
        axes[2].plot(x, [r["cpu_us_per_msg"]["synapse"] or 0 for r in rows],
                     style, alpha=0.5, label=f"synapse {direction}")
    axes[0].plot([0, 500], [0, 500], ":", color="grey", label="offered")
    axes[0].set(title="Delivered rate", xlabel="offered msg/s",
                ylabel="delivered msg/s")
    axes[1].set(title="p99 latency", xlabel="offered msg/s", ylabel="ms",
                yscale="log")
    axes[2].set(title="CPU per message", xlabel="offered msg/s",
                ylabel="us", yscale="log")
    for a in axes:
        a.legend(fontsize=7)
        a.grid(alpha=0.3)
    fig.suptitle("isthmus on loopback with Prosody and Synapse "
                 f"({res['machine']['cpus']} CPUs)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


async def load_phase(cluster, rates, seconds):
    pairs = await setup_conversations(cluster, 20)
    results = []
    try:
        for rate in rates:
            for direction in ("to_matrix", "to_xmpp"):
                tag = f"{direction}{rate}"
                r = await run_load(cluster, pairs, direction, rate, seconds,
                                   tag)
                print(f"  {direction} at {rate}/s: {r['delivered']}/"
                      f"{r['sent']} delivered", flush=True)
                results.append(r)
    finally:
        for alice, bob, _, _ in pairs:
            await bob.close()
            await alice.disconnect()
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10,
                    help="how long each load is offered (default 10)")
    ap.add_argument("--rates", default="50,200,500")
    ap.add_argument("--memory-sizes", default="0,10000,100000")
    ap.add_argument("--join-members", type=int, default=5000)
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args()

    res = {"machine": machine()}
    print("4. translations per second ...", flush=True)
    res["translate"] = translate_figure(2)
    print("2. the store's share, in process ...", flush=True)
    res["store"] = store_figure()
    print("2. what a message costs this machine, without isthmus ...",
          flush=True)
    res["floor"] = floor_figure()

    cluster = Cluster()
    try:
        print("starting Prosody, Synapse and isthmus ...", flush=True)
        cluster.prosody.start()
        from harness import Isthmus, Synapse
        cluster.synapse = Synapse(cluster.root, cluster.root / "isthmus" /
                                  "registration.yaml")
        cluster.isthmus = Isthmus(cluster.root,
                                  cluster.prosody.component_port,
                                  cluster.synapse.url)
        # Flood control would throttle the benchmark's own senders.
        text = cluster.isthmus.config.read_text()
        cluster.isthmus.config.write_text(text.replace(
            "[xmpp]\n", "[xmpp]\nmessages_per_second = 1000000\n"
            "message_burst = 1000000\n", 1))
        cluster.synapse.start()
        cluster.isthmus.start()
        print("1+2. offered loads ...", flush=True)
        rates = [int(r) for r in args.rates.split(",")]
        res["load"] = asyncio.run(load_phase(cluster, rates, args.seconds))
        print("3. memory ...", flush=True)
        sizes = [int(s) for s in args.memory_sizes.split(",")]
        res["memory"] = memory_figure(cluster, sizes)
        print("5. joining a large room ...", flush=True)
        res["join"] = asyncio.run(join_figure(cluster, args.join_members))
    finally:
        cluster.stop()
        cluster.cleanup()

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(res, indent=2) + "\n")
    print_table(res)
    try:
        plot(res, out / "latest.png")
        print(f"\nwrote {out / 'latest.json'} and {out / 'latest.png'}")
    except ImportError:
        print(f"\nwrote {out / 'latest.json'} (matplotlib missing: no plot)")


if __name__ == "__main__":
    main()
