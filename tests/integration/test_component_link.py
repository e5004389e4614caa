"""What the XMPP server offers on the component link, checked on the real
Prosody of the test cluster (the evidence in doc/delivery-component-link.md
and the README's Delivery section), and what isthmus makes of it.

These pin facts about the server, not isthmus's code: when Debian's Prosody
or prosody-modules change them, these tests fail and say which promise can
now be made stronger.
"""

import hashlib
import re
import socket
import time

from harness import COMPONENT, COMPONENT_SECRET, DOMAIN, wait_until
from peers import XmppUser, unique

NS_MAM = "urn:xmpp:mam:2"


class RawComponent:
    """A bare XEP-0114 connection, to say exactly what goes on the wire."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.sock.sendall(
            b"<stream:stream xmlns='jabber:component:accept' "
            b"xmlns:stream='http://etherx.jabber.org/streams' to='"
            + COMPONENT.encode() + b"'>")
        head = self.read_until(rb"id=['\"]([^'\"]+)")
        sid = re.search(rb"id=['\"]([^'\"]+)", head).group(1)
        digest = hashlib.sha1(sid + COMPONENT_SECRET.encode()).hexdigest()
        self.sock.sendall(b"<handshake>" + digest.encode() + b"</handshake>")
        self.read_until(rb"<handshake\s*/>")

    def read_until(self, pattern, timeout=10):
        """Reads until pattern appears in what is not yet consumed (or the
        stream ends); returns, and consumes, everything up to the end of
        the match."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.buf, re.S)
            if m:
                out, self.buf = self.buf[:m.end()], self.buf[m.end():]
                return out
            left = deadline - time.monotonic()
            assert left > 0, f"timed out waiting for {pattern!r}: " \
                f"{self.buf!r}"
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                out, self.buf = self.buf, b""
                return out
            self.buf += data

    def send(self, xml):
        self.sock.sendall(xml.encode())

    def close(self):
        try:
            self.sock.sendall(b"</stream:stream>")
        except OSError:
            pass
        self.sock.close()


def privileged_mam(user, payload, outer_id):
    return (f"<iq type='set' id='{outer_id}' from='{COMPONENT}' "
            f"to='{user}'><privileged_iq xmlns='urn:xmpp:privilege:2'>"
            f"<iq xmlns='jabber:client' type='set' id='in-{outer_id}'>"
            f"<query xmlns='{NS_MAM}' queryid='q-{outer_id}'>{payload}"
            f"</query></iq></privileged_iq></iq>")


async def test_the_component_link_offers_no_stream_management_and_the_archive_only_counts(  # noqa: E501
        cluster, gateway):
    """Prosody 0.12 + Debian's prosody-modules, on the component port:
    1. the server advertises the XEP-0356 iq permission for MAM;
    2. XEP-0198 cannot be enabled: the server closes the stream;
    3. a privileged MAM query that returns no message (RSM max 0) works
       and counts what the user's archive holds with the gateway's address,
       but one that returns messages fails (mod_privilege hands mod_mam a
       session without `send`): the archive cannot be read back.
    """
    alice = await XmppUser(cluster.prosody).connect()
    ghost = f"{unique('nobody')}@{COMPONENT}"
    try:
        gateway.stop()
        raw = RawComponent(cluster.prosody.component_port)
        try:
            ad = raw.read_until(rb"</privilege>")
            assert (b"urn:xmpp:privilege:2" in ad and
                    NS_MAM.encode() in ad), ad
            user = f"{alice.name}@{DOMAIN}"
            # Something in alice's archive with the gateway's address.
            raw.send(f"<message from='{ghost}' to='{user}' type='chat' "
                     "id='arch-1'><body>archived</body></message>")
            count_only = (
                "<x xmlns='jabber:x:data' type='submit'>"
                "<field var='FORM_TYPE' type='hidden'>"
                f"<value>{NS_MAM}</value></field>"
                f"<field var='with'><value>{ghost}</value></field></x>"
                "<set xmlns='http://jabber.org/protocol/rsm'><max>0</max>"
                "</set>")
            # alice's server archives her message as it routes it: poll
            # until the count shows it (bounded).
            deadline = time.monotonic() + 20
            for attempt in range(1000):
                qid = f"c{attempt}"
                raw.send(privileged_mam(user, count_only, qid))
                got = raw.read_until(rf"id='{qid}'[^>]*>.*?</iq>".encode())
                assert b"type='result'" in got, got
                if b"<count>1</count>" in got:
                    break
                assert time.monotonic() < deadline, \
                    f"alice's message never showed in her archive: {got!r}"
                time.sleep(0.1)

            raw.send(privileged_mam(user, "", "p1"))
            got = raw.read_until(rb"id='p1'[^>]*>.*?</iq>")
            assert b"internal-server-error" in got, \
                "the privileged MAM page now works: implement the catch-up " \
                f"(README, Delivery): {got!r}"

            raw.send("<enable xmlns='urn:xmpp:sm:3'/>")
            got = raw.read_until(rb"</stream:stream>")
            assert b"unsupported-stanza-type" in got, got
        finally:
            raw.close()
    finally:
        await alice.disconnect()
        gateway.start()


async def test_isthmus_says_what_the_server_granted(cluster, gateway):
    gateway.stop()
    gateway.start()
    line = "delivery: the XMPP server grants XEP-0356 iq permission for " \
           f"{NS_MAM}"
    wait_until(lambda: line in gateway.log_text()[gateway.mark:], 30,
               "isthmus to log the archive permission")
    assert "grants no XEP-0356 iq permission" not in \
        gateway.log_text()[gateway.mark:]
