"""Real client libraries as test users: slixmpp on XMPP, matrix-nio on
Matrix. Every wait is bounded and says what it expected."""

import asyncio
import itertools
import os

import slixmpp
from nio import (AsyncClient, InviteMemberEvent, RoomMessageEmote,
                 RoomMessageNotice, RoomMessageText, RoomMemberEvent)
from nio.responses import (JoinResponse, RegisterResponse,
                           RoomCreateResponse, RoomSendResponse)

from harness import DOMAIN

_counter = itertools.count()


def unique(prefix):
    return f"{prefix}{next(_counter)}x{id(_counter) % 9973}"


async def wait_true(predicate, timeout, what):
    """Polls predicate without blocking the event loop (the clients keep
    talking meanwhile); fails saying what was expected."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for "
                                 f"{what}")
        await asyncio.sleep(0.05)


async def wait_for(queue, predicate, timeout, what):
    """Takes items from queue until one matches; fails saying what."""
    deadline = asyncio.get_running_loop().time() + timeout
    seen = []
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"timed out after {timeout}s waiting for "
                                 f"{what}; saw instead: {seen[-10:]!r}")
        try:
            item = await asyncio.wait_for(queue.get(), left)
        except asyncio.TimeoutError:
            continue
        if predicate(item):
            return item
        seen.append(item)


class XmppUser:
    def __init__(self, prosody, name=None, password="secret",
                 resource="tests", register=True):
        self.name = name or unique("alice")
        self.password = password
        self.jid = f"{self.name}@{DOMAIN}"
        if register:
            prosody.register(self.name, password)
        self.port = prosody.c2s_port
        self.client = slixmpp.ClientXMPP(f"{self.jid}/{resource}", password)
        self.client.enable_starttls = False
        self.client.enable_direct_tls = False
        self.client.enable_plaintext = True
        # Plain SASL on loopback only: the test Prosody has no TLS.
        mechanisms = self.client.plugin["feature_mechanisms"]
        mechanisms.unencrypted_plain = True
        mechanisms.unencrypted_scram = True
        for plugin in ("xep_0030", "xep_0054", "xep_0092", "xep_0199",
                       "xep_0359", "xep_0172"):
            self.client.register_plugin(plugin)
        self.messages = asyncio.Queue()
        self.presences = asyncio.Queue()
        self.client.add_event_handler("message", self.messages.put_nowait)
        self.client.add_event_handler("message_error",
                                      self.messages.put_nowait)
        self.client.add_event_handler("presence", self.presences.put_nowait)
        self._started = asyncio.Event()
        self.client.add_event_handler("session_start", self._on_start)

    async def _on_start(self, _event):
        self.client.send_presence()
        await self.client.get_roster()
        self._started.set()

    async def connect(self):
        self.client.connect("127.0.0.1", self.port)
        await asyncio.wait_for(self._started.wait(), 20)
        return self

    async def disconnect(self):
        self.client.disconnect()
        await asyncio.sleep(0)

    def send(self, to, body, mtype="chat", **extra):
        msg = self.client.make_message(mto=to, mbody=body, mtype=mtype)
        for key, value in extra.items():
            msg[key] = value
        msg.send()
        return msg

    async def wait_message(self, predicate, timeout=20, what="a message"):
        return await wait_for(self.messages, predicate, timeout, what)

    async def iq_get(self, to, xml, timeout=10):
        iq = self.client.make_iq_get(ito=to)
        iq.append(slixmpp.ET.fromstring(xml))
        return await iq.send(timeout=timeout)


class MatrixUser:
    def __init__(self, synapse_url, name=None, password="secret-pass"):
        self.name = name or unique("bob")
        self.password = password
        self.user_id = f"@{self.name}:{DOMAIN}"
        self.client = AsyncClient(synapse_url, self.user_id)
        self.events = asyncio.Queue()
        self.invites = asyncio.Queue()
        self._sync_task = None
        self.client.add_event_callback(
            self._on_event, (RoomMessageText, RoomMessageEmote,
                             RoomMessageNotice, RoomMemberEvent))
        self.client.add_event_callback(self._on_invite, InviteMemberEvent)

    async def _on_event(self, room, event):
        await self.events.put((room.room_id, event))

    async def _on_invite(self, room, event):
        if event.state_key == self.user_id and event.membership == "invite":
            await self.invites.put((room.room_id, event))

    async def register(self):
        resp = await self.client.register(self.name, self.password)
        assert isinstance(resp, RegisterResponse), resp
        # Skip the past: only events from now on matter to a test.
        await self.client.sync(timeout=0, full_state=True)
        self._sync_task = asyncio.create_task(
            self.client.sync_forever(timeout=500))
        return self

    async def close(self):
        if self._sync_task:
            self._sync_task.cancel()
            try:
                await self._sync_task
            except (asyncio.CancelledError, Exception):
                pass
        await self.client.close()

    async def wait_invite(self, timeout=30):
        return await wait_for(self.invites, lambda _: True, timeout,
                              f"an invite for {self.user_id}")

    async def join(self, room_id):
        """Joins, and returns once the client's sync has the room (before
        that, an encrypted client cannot send to it)."""
        resp = await self.client.join(room_id)
        assert isinstance(resp, JoinResponse), resp
        await wait_true(lambda: room_id in self.client.rooms, 30,
                        f"{self.name}'s sync to show the room it joined")

    async def create_dm(self, invitee):
        resp = await self.client.room_create(is_direct=True,
                                             invite=[invitee],
                                             preset=None)
        assert isinstance(resp, RoomCreateResponse), resp
        return resp.room_id

    async def send(self, room_id, body, msgtype="m.text", content=None):
        resp = await self.client.room_send(
            room_id, "m.room.message",
            content or {"msgtype": msgtype, "body": body})
        assert isinstance(resp, RoomSendResponse), resp
        return resp.event_id

    async def wait_message(self, predicate, timeout=30, what="a message"):
        def match(item):
            room_id, event = item
            return (isinstance(event, (RoomMessageText, RoomMessageEmote,
                                       RoomMessageNotice))
                    and predicate(room_id, event))
        return await wait_for(self.events, match, timeout, what)

    async def wait_member(self, predicate, timeout=30, what="a member event"):
        def match(item):
            room_id, event = item
            return (isinstance(event, RoomMemberEvent)
                    and predicate(room_id, event))
        return await wait_for(self.events, match, timeout, what)


async def populate(synapse_url, as_token, room_id, n, prefix):
    """Fills room_id with n members, fast: the appservice registers users in
    its own namespace and joins them. Returns their Matrix IDs."""
    import aiohttp
    headers = {"Authorization": f"Bearer {as_token}"}
    sem = asyncio.Semaphore(16)
    ids = []

    async def one(session, i):
        local = f"_xmpp_{prefix}{i}=40{DOMAIN}"
        mxid = f"@{local}:{DOMAIN}"
        async with sem:
            async with session.post(
                    f"{synapse_url}/_matrix/client/v3/register",
                    json={"type": "m.login.application_service",
                          "username": local, "inhibit_login": True}) as r:
                assert r.status in (200, 400), await r.text()
            async with session.post(
                    f"{synapse_url}/_matrix/client/v3/join/{room_id}",
                    params={"user_id": mxid}, json={}) as r:
                assert r.status == 200, await r.text()
        ids.append(mxid)

    async with aiohttp.ClientSession(headers=headers) as session:
        await asyncio.gather(*[one(session, i) for i in range(n)])
    return ids


class E2eeMatrixUser(MatrixUser):
    """A Matrix user whose client encrypts, as Element does: matrix-nio
    with its end-to-end encryption (vodozemac, the Rust implementation
    Element's crypto is built on). Its keys live in store_dir."""

    def __init__(self, synapse_url, store_dir, name=None):
        super().__init__(synapse_url, name)
        from nio import (AsyncClientConfig, MegolmEvent, RoomEncryptedMedia,
                         RoomKeyRequest)
        os.makedirs(store_dir, exist_ok=True)
        self.client = AsyncClient(
            synapse_url, self.user_id, store_path=str(store_dir),
            config=AsyncClientConfig(encryption_enabled=True,
                                     store_sync_tokens=False))
        self.undecrypted = asyncio.Queue()
        self.key_requests = asyncio.Queue()
        self.client.add_event_callback(
            self._on_event, (RoomMessageText, RoomMessageEmote,
                             RoomMessageNotice, RoomMemberEvent,
                             RoomEncryptedMedia))
        self.client.add_event_callback(self._on_invite, InviteMemberEvent)
        self.client.add_event_callback(self._on_megolm, MegolmEvent)
        self._file_type = RoomEncryptedMedia
        self._key_request_type = RoomKeyRequest

    async def _on_megolm(self, room, event):
        await self.undecrypted.put((room.room_id, event))

    def _watch_key_requests(self):
        """nio keeps room key requests from its callbacks (it answers them
        itself, or not): watch them where its crypto takes them in."""
        olm = self.client.olm
        take = olm._handle_key_requests

        def watched(event):
            if isinstance(event, self._key_request_type):
                self.key_requests.put_nowait(event)
            return take(event)
        olm._handle_key_requests = watched

    async def register(self):
        resp = await self.client.register(self.name, self.password)
        assert isinstance(resp, RegisterResponse), resp
        return await self._start()

    async def _start(self):
        """The device's keys go up before anyone can share a room key with
        it; then the client syncs."""
        self._watch_key_requests()
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        await self.client.sync(timeout=0, full_state=True)
        self._sync_task = asyncio.create_task(
            self.client.sync_forever(timeout=500))
        return self

    async def login(self, password):
        """A new device of an existing user."""
        from nio.responses import LoginResponse
        resp = await self.client.login(password, device_name="second")
        assert isinstance(resp, LoginResponse), resp
        return await self._start()

    async def wait_file(self, predicate, timeout=30, what="a file"):
        """An encrypted file (m.image, m.file...) the client decrypted."""
        def match(item):
            room_id, event = item
            return (isinstance(event, self._file_type)
                    and predicate(room_id, event))
        return await wait_for(self.events, match, timeout, what)

    async def create_encrypted_room(self, alias, invite=()):
        """A public room, encrypted from its creation, as Element makes one
        when asked."""
        from nio import RoomPreset
        resp = await self.client.room_create(
            alias=alias, name="Sealed club", preset=RoomPreset.public_chat,
            invite=list(invite),
            initial_state=[{"type": "m.room.encryption", "state_key": "",
                            "content": {"algorithm": MEGOLM}}])
        assert isinstance(resp, RoomCreateResponse), resp
        return resp.room_id

    def forget_room_key(self, room_id, sender_key, session_id):
        """As a device that lost a key (a cleared cache, a failed to-device
        delivery)."""
        del self.client.olm.inbound_group_store._entries[room_id][
            sender_key][session_id]

    async def request_room_key(self, raw_event, from_user):
        """Asks from_user's devices for the key of raw_event (an
        m.room.encrypted event as the server holds it). nio itself only
        asks its own user's devices; Element's legacy crypto asked the
        sender's too, which is what this does."""
        from nio import MegolmEvent
        from nio.crypto.key_request import OutgoingKeyRequest
        event = MegolmEvent.from_dict(raw_event)
        event.room_id = raw_event["room_id"]
        message = event.as_key_request(from_user, self.client.device_id,
                                       request_id=unique("keyreq"))
        resp = await self.client.to_device(message)
        assert not hasattr(resp, "status_code"), resp
        self.client.olm.outgoing_key_requests[event.session_id] = \
            OutgoingKeyRequest.from_message(message)
        return event

    def accept_forwards_from(self, user_id):
        """nio takes forwarded keys only from its own user's verified
        devices; Element's legacy crypto also took them from the device
        that created the session. Accept those from user_id (still only
        for sessions this client asked for), and note each on
        self.forwarded."""
        self.forwarded = asyncio.Queue()
        olm = self.client.olm
        check = olm._should_accept_forward

        def accept(sender, sender_key, event):
            if sender == user_id and event.session_id in \
                    olm.outgoing_key_requests:
                self.forwarded.put_nowait(event)
                return True
            return check(sender, sender_key, event)
        olm._should_accept_forward = accept

    async def create_encrypted_dm(self, invitee):
        resp = await self.client.room_create(
            is_direct=True, invite=[invitee], preset=None,
            initial_state=[{"type": "m.room.encryption", "state_key": "",
                            "content": {"algorithm": MEGOLM}}])
        assert isinstance(resp, RoomCreateResponse), resp
        return resp.room_id

    async def send(self, room_id, body, msgtype="m.text", content=None):
        content = content or {"msgtype": msgtype, "body": body}
        resp = await self.client.room_send(room_id, "m.room.message", content,
                                           ignore_unverified_devices=True)
        assert isinstance(resp, RoomSendResponse), resp
        return resp.event_id

    async def send_encrypted(self, room_id, event_type, content):
        """Encrypts any event type (nio leaves reactions in clear) and
        sends it."""
        room = self.client.rooms[room_id]
        if not room.members_synced:
            await self.client.joined_members(room_id)
        if self.client.olm.should_share_group_session(room_id):
            await self.client.share_group_session(
                room_id, ignore_unverified_devices=True)
        _, enc = self.client.encrypt(room_id, event_type, content)
        return await self.put_event(room_id, "m.room.encrypted", enc)

    async def put_event(self, room_id, event_type, content):
        """Sends content as it is, past nio's own encryption."""
        import aiohttp
        url = (f"{self.client.homeserver}/_matrix/client/v3/rooms/"
               f"{room_id}/send/{event_type}/{unique('txn')}")
        async with aiohttp.ClientSession() as s:
            async with s.put(url, json=content, headers={
                    "Authorization": f"Bearer {self.client.access_token}"}) \
                    as r:
                body = await r.json()
                assert r.status == 200, body
                return body["event_id"]


MEGOLM = "m.megolm.v1.aes-sha2"
