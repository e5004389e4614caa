"""The users and conversations of the peer benchmark (bench_peers.py), the
same for every gateway as far as the gateway allows:

- a DM between an XMPP user (slixmpp) and a Matrix user (matrix-nio),
  opened from XMPP; with matridge, which bridges every Matrix room as a
  MUC, the XMPP user first registers their own Matrix account with it,
  the Matrix user opens the DM and the XMPP user joins its MUC;
- many distinct Matrix users, each sending one message to one XMPP user
  (bulk users come from Synapse's shared-secret registration);
- big rooms filled with members the same way.
"""

import asyncio
import itertools
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))

import aiohttp  # noqa: E402
import slixmpp  # noqa: E402

from peers import MatrixUser, XmppUser, wait_true  # noqa: E402

LOAD_PREFIX = "load_"


class Loadgen:
    """Creates and drives Matrix users in bulk, through Synapse's
    shared-secret registration (each gets an access token), so that
    thousands cost a few requests each. Not an appservice: Synapse numbers
    every appservice's transactions from one sequence, and isthmus takes
    a gap in its own numbers for a lost transaction (see the README's
    peer benchmark), so a second appservice that receives traffic would
    stall it."""

    def __init__(self, synapse):
        import yaml
        conf = yaml.safe_load(synapse.config.read_text())
        self.secret = conf["registration_shared_secret"]
        self.hs = synapse.url

    def session(self):
        return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300))

    async def call(self, s, method, path, token, body=None):
        async with s.request(method, f"{self.hs}{path}",
                             headers={"Authorization": f"Bearer {token}"},
                             json=body if body is not None else {}) as r:
            data = await r.json(content_type=None)
            if r.status != 200:
                raise RuntimeError(f"{method} {path}: {r.status} {data}")
            return data

    async def register(self, s, local):
        """Returns the new user's access token."""
        import hashlib
        import hmac
        url = f"{self.hs}/_synapse/admin/v1/register"
        async with s.get(url) as r:
            nonce = (await r.json())["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        for part in (nonce, local, "bench-pass", "notadmin"):
            mac.update(part.encode())
            if part != "notadmin":
                mac.update(b"\x00")
        async with s.post(url, json={"nonce": nonce, "username": local,
                                     "password": "bench-pass",
                                     "admin": False,
                                     "mac": mac.hexdigest()}) as r:
            data = await r.json()
            if r.status != 200:
                raise RuntimeError(f"register {local}: {data}")
            return data["access_token"]

    async def fill_room(self, alias_local, members, concurrency=12):
        """A public room #alias_local with `members` members in all."""
        async with self.session() as s:
            owner = await self.register(s, f"{LOAD_PREFIX}{alias_local}o")
            room = await self.call(
                s, "POST", "/_matrix/client/v3/createRoom", owner,
                {"preset": "public_chat", "room_alias_name": alias_local,
                 "name": alias_local})
            room_id = room["room_id"]
            sem = asyncio.Semaphore(concurrency)

            async def one(i):
                async with sem:
                    tok = await self.register(
                        s, f"{LOAD_PREFIX}{alias_local}m{i}")
                    await self.call(s, "POST",
                                    f"/_matrix/client/v3/join/{room_id}", tok)
            await asyncio.gather(*(one(i) for i in range(members - 1)))
        return room_id

    async def wait_joined(self, s, tok, room_id, user, timeout=120):
        url = (f"{self.hs}/_matrix/client/v3/rooms/{room_id}/state/"
               f"m.room.member/{user}")
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            async with s.get(url, headers={"Authorization":
                                           f"Bearer {tok}"}) as r:
                if r.status == 200 and \
                        (await r.json()).get("membership") == "join":
                    return True
            await asyncio.sleep(0.5)
        return False

    async def dms_to(self, invitee, tag, first, count, concurrency=6):
        """Users tag{first..first+count-1} each open a DM with invitee and
        send one message "<tag> <i>" into it."""
        async with self.session() as s:
            sem = asyncio.Semaphore(concurrency)

            async def one(i):
                async with sem:
                    tok = await self.register(s, f"{LOAD_PREFIX}{tag}{i}")
                    room = await self.call(
                        s, "POST", "/_matrix/client/v3/createRoom", tok,
                        {"preset": "trusted_private_chat",
                         "is_direct": True, "invite": [invitee]})
                    # As a person would, they write once the invitee is
                    # there: Synapse passes an appservice only the events
                    # of rooms its users have joined.
                    await self.wait_joined(s, tok, room["room_id"], invitee)
                    await self.call(
                        s, "PUT",
                        f"/_matrix/client/v3/rooms/{room['room_id']}/"
                        f"send/m.room.message/m{i}", tok,
                        {"msgtype": "m.text", "body": f"{tag} {i}"})
            await asyncio.gather(*(one(i) for i in range(first,
                                                          first + count)))


class Conversation:
    """One XMPP user and one Matrix user talking through a gateway."""

    def __init__(self, alice, bob, room_id, to, mtype):
        self.alice, self.bob, self.room_id = alice, bob, room_id
        self.to, self.mtype = to, mtype

    def send_xmpp(self, body):
        self.alice.send(self.to, body, mtype=self.mtype)

    async def send_matrix(self, body):
        return await self.bob.send(self.room_id, body)

    async def close(self):
        await self.bob.close()
        await self.alice.disconnect()


_ids = itertools.count()


async def register_with_matridge(alice, component, hs, account, password):
    """XEP-0077, as an XMPP client registers with a slidge gateway: the
    form's fields are matridge's REGISTRATION_FIELDS."""
    iq = alice.client.make_iq_set(ito=component)
    fields = {"homeserver": hs, "username": account, "password": password,
              "device": "bench"}
    form = "".join(f"<field var='{k}'><value>{v}</value></field>"
                   for k, v in fields.items())
    iq.append(slixmpp.ET.fromstring(
        "<query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' "
        f"type='submit'>{form}</x></query>"))
    await iq.send(timeout=120)


async def join_muc(alice, muc_jid, nick, timeout=120):
    """Joins a MUC; returns (seconds to the self-presence, occupants)."""
    if "xep_0045" not in alice.client.plugin:
        alice.client.register_plugin("xep_0045")
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    try:
        _, _, occupants, _ = await alice.client.plugin[
            "xep_0045"].join_muc_wait(muc_jid, nick, maxstanzas=0,
                                      timeout=timeout)
    except asyncio.TimeoutError:
        # slixmpp waits out an error presence without the MUC's <x/>: say
        # what the room answered, if it did.
        while not alice.presences.empty():
            p = alice.presences.get_nowait()
            if p["type"] == "error" and p["from"].bare == muc_jid.lower():
                raise RuntimeError(
                    f"joining {muc_jid} refused: {p['error']['condition']} "
                    f"{p['error']['text']!r}") from None
        raise RuntimeError(f"no self-presence from {muc_jid} in "
                           f"{timeout} s") from None
    return loop.time() - t0, occupants


def watch_invites(alice):
    """MUC invitations (XEP-0249 or mediated, XEP-0045) alice receives, by
    room JID, in a queue."""
    q = asyncio.Queue()
    for plugin in ("xep_0045", "xep_0249"):
        if plugin not in alice.client.plugin:
            alice.client.register_plugin(plugin)
    alice.client.add_event_handler(
        "groupchat_direct_invite",
        lambda m: q.put_nowait(str(m["groupchat_invite"]["jid"])))
    alice.client.add_event_handler(
        "groupchat_invite", lambda m: q.put_nowait(str(m["from"].bare)))
    return q


async def matridge_user(gw, prosody, hs, name):
    """An XMPP user registered with matridge with a Matrix account of its
    own; returns (XmppUser, Matrix user id, invitation queue)."""
    account = f"{name}mx"
    mx = MatrixUser(hs, name=account)
    await mx.register()
    await mx.close()       # matridge logs in as it; this client is done
    alice = await XmppUser(prosody, name=name).connect()
    invites = watch_invites(alice)
    await register_with_matridge(alice, gw.component, hs, account,
                                 mx.password)
    return alice, mx.user_id, invites


async def open_conversation(gw, prosody, hs, tag, i):
    """A DM between a new XMPP user and a new Matrix user through gw,
    checked with one message each way."""
    if gw.kind == "chat":
        alice = await XmppUser(prosody, name=f"{tag}a{i}").connect()
        bob = await MatrixUser(hs, name=f"{tag}b{i}").register()
        to = gw.xmpp_address_of(bob.user_id)
        alice.send(to, "open")
        room_id, _ = await bob.wait_invite(timeout=60)
        await bob.join(room_id)
        await bob.wait_message(lambda r, e: e.body == "open", timeout=60)
        conv = Conversation(alice, bob, room_id, to, "chat")
    else:
        alice, account, invites = await matridge_user(
            gw, prosody, hs, f"{tag}a{i}")
        bob = await MatrixUser(hs, name=f"{tag}b{i}").register()
        room_id = await bob.create_dm(account)
        muc = await asyncio.wait_for(invites.get(), 60)
        await join_muc(alice, muc, f"{tag}a{i}", timeout=30)
        await bob.wait_member(lambda r, e: r == room_id and
                              e.state_key == account and
                              e.membership == "join", timeout=60)
        conv = Conversation(alice, bob, room_id, muc, "groupchat")
        # matridge drops a message to a room its Matrix client has not
        # synced yet ("No such room"), just after it joined it: the first
        # one is sent again until it crosses, as a user would.
        for attempt in range(6):
            conv.send_xmpp("open")
            try:
                await bob.wait_message(lambda r, e: e.body == "open",
                                       timeout=10)
                break
            except AssertionError:
                if attempt == 5:
                    raise
    # And back, so both directions are known to work before the load.
    await conv.send_matrix("open back")
    await conv.alice.wait_message(lambda m: m["body"] == "open back",
                                  timeout=60)
    return conv


async def receiver(gw, prosody, hs, name):
    """The XMPP user many Matrix users write to (the memory figure):
    returns (XmppUser, the Matrix ID they invite, bodies received). With
    matridge, the XMPP user joins each DM's MUC as it is invited."""
    got = set()

    def on_message(msg):
        if msg["type"] in ("chat", "groupchat") and msg["body"]:
            got.add(msg["body"])
    if gw.kind == "chat":
        alice = await XmppUser(prosody, name=name).connect()
        target = gw.matrix_id_of(alice.jid)
    else:
        alice, target, invites = await matridge_user(gw, prosody, hs, name)

        async def join_all():
            while True:
                muc = await invites.get()
                asyncio.create_task(join_muc(alice, muc, name, timeout=600))
        alice.joiner = asyncio.create_task(join_all())
    alice.client.add_event_handler("message", on_message)
    return alice, target, got


async def wait_count(got, prefix, n, timeout):
    """Waits until n bodies starting with prefix have arrived (or the
    timeout); returns how many did."""
    def count():
        return sum(1 for b in got if b.startswith(prefix))
    try:
        await wait_true(lambda: count() >= n, timeout, f"{n} messages")
    except AssertionError:
        pass
    return count()
