"""The table and the plot of the peer benchmark (bench_peers.py): one
column per gateway; a figure a gateway cannot produce says why."""


def _find(rows, **match):
    for r in rows or []:
        if all(r.get(k) == v for k, v in match.items()):
            return r
    return None


def _num(v, spec=".0f", unit=""):
    return "-" if v is None else format(v, spec) + unit


# Figures a gateway cannot produce at all, by gateway and row kind.
NOT_SUPPORTED = {
    "matridge": {
        "join_note": "via the XMPP user's own Matrix account (matridge has "
                     "no gateway mode for XMPP users without one)",
    },
}


# What a gateway can do at all, from its documentation and source; a
# figure that needs it reads "not supported" there.
CAPABILITIES = {
    "gateway-mode rooms (XMPP users without a Matrix account)": {
        "isthmus": "yes", "matrix-bifrost": "yes",
        "matridge": "not supported"},
    "1:1 chats (a Matrix DM as an XMPP chat)": {
        "isthmus": "yes", "matrix-bifrost": "yes",
        "matridge": "not supported (a DM is a MUC)"},
    "MAM (the XMPP user's history)": {
        "isthmus": "yes", "matrix-bifrost": "not supported",
        "matridge": "yes (its MUCs)"},
}


def cells(g):
    """Every row of the table for one gateway, as {label: text}."""
    base = g["name"].split("+")[0]
    out = {k: v.get(base, "-") for k, v in CAPABILITIES.items()}
    out["status"] = "failed (below)" if g.get("failed") else "ran"
    out["idle RSS"] = _num((g.get("rss_idle_bytes") or 0) / 1048576, ".1f",
                           " MiB") if g.get("rss_idle_bytes") else "-"
    if g.get("failed") and not g.get("load"):
        return out
    for r in g.get("load", []):
        d = "XMPP→Matrix" if r["direction"] == "to_matrix" else "Matrix→XMPP"
        k = f"{d} {r['offered_per_s']}/s"
        out[f"{k}: delivered/lost/dup"] = (
            f"{r['delivered']}/{r['lost']}/{r['duplicated']}")
        out[f"{k}: e2e p50 / p99"] = (
            f"{_num(r['e2e_p50_ms'])} / {_num(r['e2e_p99_ms'])} ms")
        out[f"{k}: gateway CPU/msg"] = _num(
            r["cpu_us_per_msg"].get("gateway"), ".0f", " µs")
        out[f"{k}: Synapse CPU/msg"] = _num(
            r["cpu_us_per_msg"].get("synapse"), ".0f", " µs")
    for m in g.get("memory", []):
        out[f"RSS after {m['users']:,} users"] = (
            f"{m['rss_bytes'] / 1048576:.1f} MiB "
            f"({m['arrived']}/{m['users']} arrived)")
        out[f"per user ({m['users']:,})"] = _num(
            m["bytes_per_user"] / 1024, ".1f", " KiB")
    if g.get("memory_failed"):   # runs before this order was taken
        out["RSS after N users"] = g["memory_failed"]
    for j in g.get("join", []):
        k = f"join {j['members']:,}-member room"
        if j.get("join_seconds") is not None:
            out[k] = (f"{j['join_seconds']:.2f} s "
                      f"({j['occupants_received']} occupants)")
            if j.get("status") != "measured":
                out[k] += ", then exited"
        else:
            out[k] = j.get("status", "-")[:30]
        o = j.get("other_conversation_ms", {})
        out[f"{k}: other conv. p50/max"] = (
            f"{_num(o.get('during_p50'))} / {_num(o.get('during_max'))} ms "
            f"({o.get('during_delivered', '-')})")
    for r in g.get("restart", []):
        d = "XMPP→Matrix" if r["direction"] == "to_matrix" else "Matrix→XMPP"
        out[f"restart, {d}: arrived/twice"] = (
            f"{r['delivered']}/{r['sent']}, {r['duplicated']} twice")
        out[f"restart, {d}: stop+start"] = _num(r.get("restart_s"), ".1f",
                                                " s")
    return out


def print_table(res):
    m = res["machine"]
    print(f"\nGateways side by side on {m['cpus']} CPUs ({m['cpu_model']}), "
          f"{m['when']}; same Prosody and Synapse, one gateway at a time\n")
    cols = [(g["name"], cells(g), g) for g in res["gateways"]]
    labels = []
    for _, c, _ in cols:
        for k in (c or {}):
            if k not in labels:
                labels.append(k)
    width = max([len(x) for x in labels] + [10])
    print(f"{'':{width}}  " + "  ".join(f"{n:>30}" for n, _, _ in cols))
    for label in labels:
        row = []
        for _, c, g in cols:
            row.append(c.get(label, "failed" if g.get("failed")
                                 else "not measured"))
        print(f"{label:{width}}  " + "  ".join(f"{v:>30}" for v in row))
    for name, c, g in cols:
        if g.get("failed"):
            print(f"\n{name}: {g['failed']}")
        if g.get("crypto_standin_calls") is not None:
            calls = g["crypto_standin_calls"]
            print(f"\n{name}: crypto stand-in called "
                  f"{len(calls)} times{': ' + calls[0] if calls else ''}")
        for j in g.get("join", []):
            if j.get("status", "measured") != "measured":
                print(f"{name}, join {j['members']}: {j['status']}")
        note = NOT_SUPPORTED.get(name, {}).get("join_note")
        if note and g.get("join"):
            print(f"{name}: joins are {note}")
    print_ratios(res)


def plot(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    gws = [g for g in res["gateways"] if g.get("load")]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    width = 0.8 / max(1, len(gws))
    keys = []
    for g in gws:
        for r in g["load"]:
            k = (r["direction"], r["offered_per_s"])
            if k not in keys:
                keys.append(k)
    xs = range(len(keys))
    for i, g in enumerate(gws):
        p99 = [(_find(g["load"], direction=d, offered_per_s=o) or {})
               .get("e2e_p99_ms") or 0 for d, o in keys]
        cpu = [((_find(g["load"], direction=d, offered_per_s=o) or {})
                .get("cpu_us_per_msg") or {}).get("gateway") or 0
               for d, o in keys]
        off = [x + i * width for x in xs]
        axes[0].bar(off, p99, width, label=g["name"])
        axes[1].bar(off, cpu, width, label=g["name"])
    for g in res["gateways"]:   # idle RSS even of a peer that failed later
        if not g.get("rss_idle_bytes"):
            continue
        mem = [(0, g["rss_idle_bytes"] / 1048576)] + [
            (m["users"], m["rss_bytes"] / 1048576)
            for m in g.get("memory", [])]
        axes[2].plot([u for u, _ in mem], [r for _, r in mem], "o-",
                     label=g["name"])
    labels = [f"{'to Matrix' if d == 'to_matrix' else 'to XMPP'}\n{o}/s"
              for d, o in keys]
    for a in axes[:2]:
        a.set_xticks([x + width * (len(gws) - 1) / 2 for x in xs])
        a.set_xticklabels(labels, fontsize=8)
    axes[0].set(title="End-to-end p99 latency", ylabel="ms", yscale="log")
    axes[1].set(title="Gateway CPU per message", ylabel="µs", yscale="log")
    axes[2].set(title="Resident memory", xlabel="distinct users who wrote",
                ylabel="MiB")
    for a in axes:
        a.legend(fontsize=8)
        a.grid(alpha=0.3)
    m = res["machine"]
    fig.suptitle(f"isthmus, matrix-bifrost and matridge on the same Prosody "
                 f"and Synapse ({m['cpus']} CPUs, {m['when']})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def ratios(res):
    """isthmus against each peer that measured the same figure: the peer's
    figure divided by isthmus's (above 1: isthmus uses less, or is
    faster). Returns rows of (figure, {peer: ratio text})."""
    gws = {g["name"]: g for g in res["gateways"]}
    iso = gws.get("isthmus")
    if not iso:
        return []
    peers = [g for n, g in gws.items() if n != "isthmus"]

    def load(g, d, rate, key, sub=None):
        r = _find(g.get("load"), direction=d, offered_per_s=rate) or {}
        v = r.get(key)
        return v.get(sub) if sub and v else v

    def per_user(g):
        m = (g.get("memory") or [])[-1:] or [{}]
        return m[0].get("bytes_per_user"), m[0].get("users")

    def join(g):
        j = [x for x in g.get("join", []) if x.get("status") == "measured"]
        return j[-1]["join_seconds"] if j else None

    rows = []
    figures = []
    for r in iso.get("load", []):
        d, o = r["direction"], r["offered_per_s"]
        arrow = "XMPP→Matrix" if d == "to_matrix" else "Matrix→XMPP"
        figures.append((f"CPU per message, {arrow} {o}/s",
                        lambda g, d=d, o=o: load(g, d, o, "cpu_us_per_msg",
                                                 "gateway")))
        figures.append((f"end-to-end p99, {arrow} {o}/s",
                        lambda g, d=d, o=o: load(g, d, o, "e2e_p99_ms")))
    figures.append(("memory per user who wrote", lambda g: per_user(g)[0]))
    figures.append(("idle RSS", lambda g: g.get("rss_idle_bytes")))
    figures.append(("time to join the big room", join))
    for label, get in figures:
        mine = get(iso)
        row = {}
        for p in peers:
            theirs = get(p)
            if mine and theirs and mine > 0 and theirs > 0:
                row[p["name"]] = f"{theirs / mine:.1f}×"
            else:
                row[p["name"]] = "-"
        rows.append((label, row))
    return rows


def print_ratios(res):
    rows = ratios(res)
    if not rows:
        return
    names = list(rows[0][1])
    print("\nisthmus against each peer (the peer's figure / isthmus's; "
          "above 1: isthmus uses less or is faster)")
    print(f"{'':40}" + "".join(f"{n:>20}" for n in names))
    for label, row in rows:
        print(f"{label:40}" + "".join(f"{row[n]:>20}" for n in names))
