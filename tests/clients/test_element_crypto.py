"""The crypto stack Element uses (matrix-js-sdk's Rust crypto, the same
matrix-sdk-crypto Element Web and Element X run) in an encrypted DM with
an XMPP user's ghost, in "exclude insecure devices" mode (MSC4153): it
shares its room key only with a device the ghost cross-signed, and
decrypts only what such a device sent. The conversation crossing both
ways shows the ghost's device and cross-signing pass Element's checks."""

import asyncio
import json
import pathlib

from harness import COMPONENT, DOMAIN
from peers import XmppUser, unique

HERE = pathlib.Path(__file__).resolve().parent


async def next_line(proc, what, timeout=60):
    line = await asyncio.wait_for(proc.stdout.readline(), timeout)
    assert line, f"the Element-crypto client ended before {what}"
    msg = json.loads(line)
    assert msg["event"] != "failed", f"{what}: {msg['why']}"
    return msg


async def test_element_crypto_talks_with_a_ghost(cluster, gateway,
                                                 tmp_path):
    alice = await XmppUser(cluster.prosody).connect()
    name = unique("elena")
    ghost = f"@_xmpp_{alice.name}=40{DOMAIN}:{DOMAIN}"
    hello, back = unique("hello from rust crypto "), unique("hello back ")
    proc = await asyncio.create_subprocess_exec(
        "node", "element-driver.mjs", cluster.synapse.url, name, ghost,
        hello, back, cwd=HERE, stdout=asyncio.subprocess.PIPE,
        stderr=open(tmp_path / "element-driver.log", "w"))
    try:
        assert (await next_line(proc, "the DM"))["event"] == "ready"
        devices = (await next_line(proc, "the ghost's devices"))["devices"]
        assert devices and all(d["signedByOwner"] for d in devices.values()), \
            devices
        assert (await next_line(proc, "the first message"))["event"] == \
            "sent"
        # The key reached the ghost's device (not withheld as unsigned).
        msg = await alice.wait_message(lambda m: m["body"] == hello,
                                       timeout=60,
                                       what="Element's message on XMPP")
        assert msg["from"].bare == f"{name}%{DOMAIN}@{COMPONENT}"
        alice.send(msg["from"].bare, back)
        while True:
            got = await next_line(proc, "the answer, decrypted")
            assert got["event"] != "undecryptable", got
            if got["event"] == "decrypted" and got["body"] == back:
                break
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await alice.disconnect()
