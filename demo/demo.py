"""The isthmus demo: real Prosody and Synapse on loopback, bridged."""

import asyncio
import os
import pathlib
import signal
import socket
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))

from harness import COMPONENT, DOMAIN, Cluster, free_port  # noqa: E402
from peers import MatrixUser, XmppUser  # noqa: E402

os.environ.setdefault("ISTHMUS_LOG_LEVEL", "info")


def say(text=""):
    print(text, flush=True)


async def show_messages(cluster):
    alice = await XmppUser(cluster.prosody, name="alice",
                           password="alice-pass").connect()
    bob = await MatrixUser(cluster.synapse.url, name="bob",
                           password="bob-pass").register()
    try:
        bob_jid = f"bob%{DOMAIN}@{COMPONENT}"
        alice_ghost = f"@_xmpp_alice=40{DOMAIN}:{DOMAIN}"
        say(f"[xmpp]   alice@{DOMAIN} -> {bob_jid}: Hello Bob, from XMPP!")
        alice.send(bob_jid, "Hello Bob, from XMPP!")
        room_id, _ = await bob.wait_invite()
        await bob.join(room_id)
        _, event = await bob.wait_message(
            lambda r, e: e.body == "Hello Bob, from XMPP!")
        say(f"[matrix] @bob:{DOMAIN} got, in {room_id}, from {event.sender}: "
            f"{event.body}")
        say(f"[matrix] @bob:{DOMAIN} -> {alice_ghost}: Hi Alice, from Matrix!")
        await bob.send(room_id, "Hi Alice, from Matrix!")
        msg = await alice.wait_message(
            lambda m: m["body"] == "Hi Alice, from Matrix!")
        say(f"[xmpp]   alice@{DOMAIN} got, from {msg['from'].bare}: "
            f"{msg['body']}")
    finally:
        await bob.close()
        await alice.disconnect()


# The demo's fixed ports on 127.0.0.1 (README, Two commands): the usual
# ones, so that the lines printed at the end can be pasted as they are.
PORTS = (("c2s", 5222, "Prosody c2s"),
         ("component", 5347, "Prosody component"),
         ("synapse", 8008, "Synapse"),
         ("isthmus", 9998, "isthmus appservice"))


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def pick_ports():
    """The fixed ports, or a free one, said, for each that is taken."""
    ports = {}
    for key, port, what in PORTS:
        if port_free(port):
            ports[key] = port
        else:
            ports[key] = free_port()
            say(f"  note: 127.0.0.1:{port} ({what}) is taken; using "
                f"127.0.0.1:{ports[key]} instead")
    return ports


def main():
    once = "--once" in sys.argv[1:] or not sys.stdin.isatty()
    root = HERE / "state"
    if root.exists():
        import shutil
        shutil.rmtree(root)
    say("Starting Prosody, Synapse and isthmus on 127.0.0.1 ...")
    # The demo is Prosody's, whatever ISTHMUS_XMPP_SERVER says.
    cluster = Cluster(root, xmpp_server="prosody", ports=pick_ports())
    try:
        cluster.start()
        say(f"  Prosody  c2s 127.0.0.1:{cluster.prosody.c2s_port}, "
            f"component port {cluster.prosody.component_port}")
        say(f"  Synapse  {cluster.synapse.url}  (server_name {DOMAIN})")
        say(f"  isthmus  appservice {cluster.isthmus.url}, component "
            f"{COMPONENT}, store {cluster.isthmus.dir}/isthmus.db")
        say()
        asyncio.run(show_messages(cluster))
        say()
        say("Both directions work. Connect your own clients:")
        say(f"  XMPP   (Profanity, Gajim, ...): alice@{DOMAIN} / alice-pass, "
            f"server 127.0.0.1 port {cluster.prosody.c2s_port}, no TLS")
        say("         Profanity (password alice-pass when asked):")
        say(f"           /connect alice@{DOMAIN} server 127.0.0.1 port "
            f"{cluster.prosody.c2s_port} tls disable")
        say(f"           /msg bob%{DOMAIN}@{COMPONENT} hello")
        say("  Matrix (Element Desktop, nheko, ...): Sign in, edit the "
            "homeserver to")
        say(f"           {cluster.synapse.url}")
        say("         user bob, password bob-pass; then start a chat with")
        say(f"           @_xmpp_alice=40{DOMAIN}:{DOMAIN}")
        say(f"  Logs: {cluster.root}/*/")
        if once:
            return
        say("\nRunning; press Ctrl-C to stop.")
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        say("Stopping ...")
        cluster.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    main()
