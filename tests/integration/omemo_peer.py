"""A real OMEMO client as a test user: slixmpp with slixmpp-omemo (python-
omemo, oldmemo, twomemo), speaking legacy OMEMO (eu.siacs.conversations.
axolotl, OMEMO 0.3, as Conversations, Dino and Gajim do) and/or OMEMO 2
(urn:xmpp:omemo:2, XEP-0384 0.8 with Stanza Content Encryption).

Keys live in memory only, and every device is trusted blindly (BTBV with
no manual verification ever made): a test user trusts whatever the gateway
publishes, including devices that appear later. Two instances with the
same name and different resources are two devices of one account.

slixmpp-omemo 2.2.0 itself only encrypts legacy OMEMO (it has no SCE, and
its decrypt_message raises NotImplementedError on OMEMO 2), so this module
drives the python-omemo session manager directly for both versions and
does the SCE (XEP-0420) envelope itself.

In a MUC (XEP-0045) it behaves as MUC OMEMO clients do (Conversations,
Dino): it encrypts for every device of every member's real JID (never the
room's), puts the room's bare JID in the SCE to affix, decrypts with the
sending occupant's real JID (from its presence's muc#user item), and knows
the room's reflection of its own message by its id, since a device never
encrypts for itself.
"""

import asyncio
import datetime
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import oldmemo
import oldmemo.etree
import omemo
import twomemo
import twomemo.etree
from omemo.session_manager import DeviceListDownloadFailed, MessageNotForUs
from omemo.storage import Just, Maybe, Nothing, Storage
from slixmpp import JID
from slixmpp.exceptions import IqError
from slixmpp.plugins.base import register_plugin
from slixmpp_omemo import TrustLevel, XEP_0384
from slixmpp_omemo.xep_0384 import _download_bundle, _make_session_manager

from peers import XmppUser, wait_for

LEGACY = oldmemo.oldmemo.NAMESPACE      # eu.siacs.conversations.axolotl
V2 = twomemo.twomemo.NAMESPACE          # urn:xmpp:omemo:2
SCE = "urn:xmpp:sce:1"
CLIENT = "jabber:client"
HINTS = "urn:xmpp:hints"
EME = "urn:xmpp:eme:0"
PUBSUB = "http://jabber.org/protocol/pubsub"
MUC_ADMIN = "http://jabber.org/protocol/muc#admin"

# The PEP nodes each version publishes (slixmpp-omemo's names).
LEGACY_DEVICELIST = "eu.siacs.conversations.axolotl.devicelist"
LEGACY_BUNDLES = "eu.siacs.conversations.axolotl.bundles:"  # + device id
V2_DEVICES = "urn:xmpp:omemo:2:devices"
V2_BUNDLES = "urn:xmpp:omemo:2:bundles"                     # item = device id

_ALIASES = {
    "legacy": LEGACY, "old": LEGACY, "oldmemo": LEGACY, "0.3": LEGACY,
    "axolotl": LEGACY, LEGACY: LEGACY,
    "v2": V2, "2": V2, "twomemo": V2, "omemo2": V2, V2: V2,
}

FALLBACK = "This message is OMEMO encrypted."


def namespace(version):
    """The namespace of a version given as "legacy", "v2" or a namespace."""
    key = version if version in _ALIASES else str(version).lower()
    try:
        return _ALIASES[key]
    except KeyError:
        raise ValueError(f"unknown OMEMO version {version!r}: say 'legacy' "
                         f"({LEGACY}) or 'v2' ({V2})") from None


def version_name(ns):
    return "legacy" if ns == LEGACY else "v2" if ns == V2 else ns


class MemoryStorage(Storage):
    """python-omemo's key/value storage in a dict: nothing touches disk."""

    def __init__(self):
        super().__init__(disable_cache=True)
        self.data: Dict[str, Any] = {}

    async def _load(self, key: str) -> Maybe:
        return Just(self.data[key]) if key in self.data else Nothing()

    async def _store(self, key: str, value) -> None:
        self.data[key] = value

    async def _delete(self, key: str) -> None:
        self.data.pop(key, None)


class _OmemoPlugin(XEP_0384):
    """slixmpp-omemo's plugin with in-memory storage and blind trust, whose
    session manager loads only the configured versions (pconfig
    "namespaces"; slixmpp-omemo itself always loads both)."""

    name = "xep_0384"
    default_config = {"fallback_message": FALLBACK,
                      "namespaces": (V2, LEGACY)}

    def plugin_init(self) -> None:
        super().plugin_init()
        self._storage = MemoryStorage()
        self._sm = None
        self._sm_task = None

    @property
    def storage(self) -> Storage:
        return self._storage

    @property
    def _btbv_enabled(self) -> bool:
        return True

    async def _prompt_manual_trust(self, manually_trusted, identifier):
        # Reached only once some device was trusted manually; a test user
        # never does, but trust everything here too.
        sm = await self.get_session_manager()
        for device in manually_trusted:
            await sm.set_trust(device.bare_jid, device.identity_key,
                               TrustLevel.TRUSTED.value)

    async def get_session_manager(self):
        if self._sm is not None:
            return self._sm
        if self._sm_task is None:
            self._sm_task = asyncio.ensure_future(self._build())
        return await asyncio.shield(self._sm_task)

    async def _build(self):
        backends = []
        for ns in self.namespaces:     # order = priority when both fit
            if ns == V2:
                backends.append(twomemo.Twomemo(self._storage, 1000, None))
            elif ns == LEGACY:
                backends.append(oldmemo.Oldmemo(self._storage, 1000, None))
        sm = await _make_session_manager(self.xmpp, self).create(
            backends, self._storage, self.xmpp.boundjid.bare,
            initial_own_label=None,
            undecided_trust_level_name=TrustLevel.UNDECIDED.value)
        await sm.ensure_data_consistency()
        await sm.after_history_sync()
        self._sm = sm
        self.xmpp.event("omemo_initialized")
        return sm

    async def _on_device_list_update(self, msg) -> None:
        # A device list of a version this device does not run: ignore it
        # (the session manager would raise UnknownNamespace).
        item = next(iter(msg["pubsub_event"]["items"]), None)
        if item is not None:
            xml = item.xml
            if xml.find(f"{{{V2}}}devices") is not None and \
                    V2 not in self.namespaces:
                return
            if xml.find(f"{{{LEGACY}}}list") is not None and \
                    LEGACY not in self.namespaces:
                return
        await super()._on_device_list_update(msg)


register_plugin(_OmemoPlugin)


@dataclass
class OmemoMessage:
    """An incoming OMEMO message, decrypted."""
    body: Optional[str]
    sender: str                  # full JID the stanza came from
    namespace: str               # LEGACY or V2
    device_id: int               # the sending device
    stanza: Any                  # the slixmpp Message as received
    plaintext: bytes             # legacy: the body; v2: the SCE envelope
    envelope: Optional[ET.Element] = None      # v2 only
    content: List[ET.Element] = field(default_factory=list)  # v2 only
    carbon: Optional[str] = None  # None, "received" or "sent" (XEP-0280)
    trust: Optional[str] = None
    real_jid: Optional[str] = None  # groupchat: the sender's real bare JID
    reflected: bool = False      # groupchat: the room's echo of our own

    @property
    def nick(self):
        """groupchat: the sending occupant's nick."""
        return self.stanza["from"].resource

    @property
    def version(self):
        return version_name(self.namespace)

    @property
    def id(self):
        return self.stanza["id"]

    def element(self, tag):
        """An element of the message by Clark name ({ns}local): inside the
        SCE content for v2, else a plain child of the stanza."""
        for el in self.content:
            if el.tag == tag:
                return el
        return self.stanza.xml.find(tag)

    def __repr__(self):
        echo = " (reflected)" if self.reflected else ""
        return (f"OmemoMessage({self.version} from {self.sender} device "
                f"{self.device_id}{echo}: {self.body!r})")


@dataclass
class OmemoFailure:
    """An incoming OMEMO message this device could not decrypt (or whose
    SCE envelope it rejected): a wait reports it among what it saw."""
    sender: str
    namespaces: frozenset
    error: BaseException
    stanza: Any

    def __repr__(self):
        return (f"OmemoFailure(from {self.sender} "
                f"{sorted(map(version_name, self.namespaces))}: "
                f"{type(self.error).__name__}: {self.error})")


class OmemoXmppUser(XmppUser):
    """An XMPP test user whose client speaks OMEMO.

    versions: "legacy", "v2", or both (a tuple; the first is preferred
    when a recipient device runs both). Same name + another resource +
    register=False: a second device of the same account."""

    def __init__(self, prosody, name=None, password="secret",
                 resource=None, register=True, versions=("v2", "legacy"),
                 carbons=True, strict_sce=True):
        if isinstance(versions, str):
            versions = (versions,)
        self.namespaces = tuple(dict.fromkeys(namespace(v)
                                              for v in versions))
        resource = resource or f"omemo{os.urandom(3).hex()}"
        super().__init__(prosody, name=name, password=password,
                         resource=resource, register=register)
        self.carbons = carbons
        self.strict_sce = strict_sce
        # xep_0115: Prosody pushes PEP events (device list updates) only to
        # resources whose caps announce the +notify features.
        self.client.register_plugin("xep_0115")
        self.client.register_plugin("xep_0384",
                                    {"namespaces": self.namespaces})
        self.omemo = self.client.plugin["xep_0384"]
        # MUC: slixmpp-omemo looks it up too; occupants' real JIDs.
        self.client.register_plugin("xep_0045")
        self.muc = self.client.plugin["xep_0045"]
        # What this device sent to rooms, by id: the room reflects it
        # back, encrypted for everyone but this device.
        self.muc_sent: Dict[str, Any] = {}
        self.encrypted = asyncio.Queue()     # OmemoMessage | OmemoFailure
        self.plain = asyncio.Queue()         # slixmpp Messages, no OMEMO
        self.last_encryption_errors = frozenset()
        self._decrypt_lock = asyncio.Lock()
        self._sm = None
        self._own = None
        self.client.add_event_handler("message", self._on_message)
        self.client.add_event_handler("carbon_received",
                                      self._on_carbon_received)
        self.client.add_event_handler("carbon_sent", self._on_carbon_sent)

    # -- lifecycle ---------------------------------------------------------

    async def connect(self, timeout=60):
        """Logs in, then waits until this device's bundles and device lists
        are published."""
        await super().connect()
        if self.carbons:
            await self.client.plugin["xep_0280"].enable(timeout=10)
        try:
            self._sm = await asyncio.wait_for(
                self.omemo.get_session_manager(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {self.full_jid} "
                "to publish its OMEMO bundles and device lists") from None
        self._own = (await self._sm.get_own_device_information())[0]
        return self

    async def disconnect(self):
        if self._sm is not None:
            await self._sm.shutdown()
            self._sm = None
        await super().disconnect()

    @property
    def full_jid(self):
        return str(self.client.boundjid)

    @property
    def own_device_id(self) -> int:
        return self._own.device_id

    @property
    def identity_key(self) -> bytes:
        """Ed25519 form, as python-omemo stores it."""
        return self._own.identity_key

    @property
    def fingerprint(self) -> str:
        """Curve25519 form in 8 groups of 8 hex digits, as clients show."""
        return " ".join(omemo.SessionManager.format_identity_key(
            self._own.identity_key))

    async def device_fingerprints(self, jid) -> Dict[int, str]:
        """The devices of jid this client knows (after a refresh), with the
        fingerprint of each."""
        await self._refresh(jid)
        return {d.device_id: " ".join(
                    omemo.SessionManager.format_identity_key(d.identity_key))
                for d in await self._sm.get_device_information(
                    jid.split("/")[0])}

    # -- sending -----------------------------------------------------------

    async def _refresh(self, *jids):
        """Reads the device lists afresh: Prosody pushes PEP updates only
        between contacts with a presence subscription, and a test user
        rarely has one."""
        for jid in jids:
            for ns in self.namespaces:
                # Bounded, as a client's own iq timeout would be: a query
                # lost with a gateway that was killed under it gets no
                # answer (slixmpp's default wait is minutes); the list
                # known so far is used then.
                try:
                    await asyncio.wait_for(
                        self._sm.refresh_device_list(ns, jid.split("/")[0]),
                        10)
                except (DeviceListDownloadFailed, asyncio.TimeoutError):
                    pass

    async def send_encrypted(self, to_jid, body, version=None, extra=None,
                             encrypted_extra=None, mtype="chat",
                             fallback=FALLBACK, msg_id=None,
                             recipients=None):
        """Encrypts body for every device of to_jid and this account's other
        devices, sends it, and returns the message id.

        mtype "groupchat": to_jid is a room; body is encrypted for every
        device of recipients (real JIDs: the room's members) instead, by
        default the real JIDs of the room's occupants as their presences
        show them (occupant_jids), and for this account's other devices;
        the SCE to affix is the room's bare JID. The room's reflection of
        it comes as an OmemoMessage with reflected=True.

        version: "legacy", "v2", "auto" (each device gets the first of
        self.namespaces it runs), or None (the first of self.namespaces).
        extra: plain elements outside the encryption (ET elements or XML
        strings), or a callable taking the slixmpp Message to add them,
        e.g. <replace id/> (XEP-0308), <reply/> (XEP-0461), <reactions/>
        (XEP-0444). Legacy OMEMO encrypts the body only, so real legacy
        clients send those elements in clear exactly like this.
        encrypted_extra (v2 only): elements put inside the SCE <content>
        next to the body. A real OMEMO 2 client puts everything there
        (XEP-0420): corrections, replies, reactions, ... are encrypted and
        only hints (<store/>) and routing stay outside.
        fallback: the clear body for clients without OMEMO (None: none)."""
        if self._sm is None:
            raise AssertionError(f"{self.full_jid} is not connected")
        if version == "auto":
            order = list(self.namespaces)
        else:
            ns = namespace(version) if version else self.namespaces[0]
            if ns not in self.namespaces:
                raise ValueError(f"{self.full_jid} does not run "
                                 f"{version_name(ns)} OMEMO")
            order = [ns]
        if encrypted_extra and V2 not in order:
            raise ValueError("encrypted_extra needs OMEMO 2 (SCE); legacy "
                             "OMEMO encrypts the body only")
        to_bare = to_jid.split("/")[0]
        if mtype == "groupchat":
            if recipients is None:
                recipients = self.occupant_jids(to_bare)
            targets = {str(j).split("/")[0] for j in recipients} - {self.jid}
        else:
            targets = {to_bare}
        await self._refresh(*sorted(targets), self.jid)

        msg = self.client.make_message(mto=to_jid, mtype=mtype)
        if msg_id:
            msg["id"] = msg_id
        elif not msg["id"]:
            msg["id"] = self.client.new_id()
        plaintexts = {}
        if LEGACY in order:
            plaintexts[LEGACY] = body.encode("utf-8")
        if V2 in order:
            plaintexts[V2] = self._envelope(to_bare, body, encrypted_extra)
        messages, errors = await self._sm.encrypt(
            frozenset(targets), plaintexts, backend_priority_order=order)
        self.last_encryption_errors = errors
        for message in messages:
            if message.namespace == V2:
                msg.append(twomemo.etree.serialize_message(message))
            else:
                msg.append(oldmemo.etree.serialize_message(message))
        if fallback is not None:
            msg["body"] = fallback
        ET.SubElement(msg.xml, f"{{{HINTS}}}store")
        eme = ET.SubElement(msg.xml, f"{{{EME}}}encryption")
        eme.set("namespace", order[0])
        self._add_extra(msg, extra)
        if mtype == "groupchat":
            self.muc_sent[msg["id"]] = (plaintexts, order,
                                        ET.fromstring(str(msg)))
        msg.send()
        return msg["id"]

    def _envelope(self, to_bare, body, encrypted_extra):
        """An SCE envelope (XEP-0420) with the affixes OMEMO 2 asks for:
        rpad, time, to and from."""
        env = ET.Element(f"{{{SCE}}}envelope")
        content = ET.SubElement(env, f"{{{SCE}}}content")
        if body is not None:
            ET.SubElement(content, f"{{{CLIENT}}}body").text = body
        for el in encrypted_extra or ():
            content.append(ET.fromstring(el) if isinstance(el, str) else el)
        ET.SubElement(env, f"{{{SCE}}}rpad").text = \
            os.urandom(1 + os.urandom(1)[0] % 32).hex()
        ET.SubElement(env, f"{{{SCE}}}time").set(
            "stamp", datetime.datetime.now(datetime.timezone.utc)
            .strftime("%Y-%m-%dT%H:%M:%SZ"))
        ET.SubElement(env, f"{{{SCE}}}to").set("jid", to_bare)
        ET.SubElement(env, f"{{{SCE}}}from").set("jid", self.jid)
        return ET.tostring(env)

    @staticmethod
    def _add_extra(msg, extra):
        if extra is None:
            return
        if callable(extra):
            extra(msg)
            return
        for el in extra:
            msg.append(ET.fromstring(el) if isinstance(el, str) else el)

    # -- receiving ---------------------------------------------------------

    async def _on_carbon_received(self, msg):
        await self._on_message(msg["carbon_received"], "received")

    async def _on_carbon_sent(self, msg):
        await self._on_message(msg["carbon_sent"], "sent")

    async def _on_message(self, msg, carbon=None):
        if msg["type"] == "error":
            return
        found = frozenset(ns for ns in (V2, LEGACY)
                          if msg.xml.find(f"{{{ns}}}encrypted") is not None)
        if not found:
            if msg["body"]:
                self.plain.put_nowait(msg)
            return
        # One at a time, in arrival order: a ratchet must not be stepped by
        # two messages at once.
        async with self._decrypt_lock:
            try:
                result = await self._decrypt(msg, found, carbon)
            except Exception as e:   # reported by the waits
                self.encrypted.put_nowait(
                    OmemoFailure(str(msg["from"]), found, e, msg))
                return
        if result is not None:
            self.encrypted.put_nowait(result)

    async def _decrypt(self, msg, found, carbon):
        sm = self._sm or await self.omemo.get_session_manager()
        real_jid = None
        if msg["type"] == "groupchat":
            reflection = self._reflection(msg)
            if reflection is not None:
                return reflection
            real_jid = self.real_jid(msg["from"].bare, msg["from"].resource)
            if real_jid is None:
                raise ValueError(f"no real JID known for occupant "
                                 f"{msg['from']} (not in its presence)")
            sender_bare = real_jid
        else:
            sender_bare = msg["from"].bare
        usable = [ns for ns in (V2, LEGACY)
                  if ns in found and ns in self.namespaces]
        if not usable:
            raise ValueError(f"encrypted with {sorted(found)} only, and "
                             f"this device runs {list(self.namespaces)}")
        for i, ns in enumerate(usable):
            elt = msg.xml.find(f"{{{ns}}}encrypted")
            if ns == V2:
                message = twomemo.etree.parse_message(elt, sender_bare)
            else:
                message = await oldmemo.etree.parse_message(
                    elt, sender_bare, self.jid, sm)
            try:
                plaintext, device, _ = await sm.decrypt(message)
                break
            except MessageNotForUs:
                if i == len(usable) - 1:
                    raise
        if plaintext is None:
            return None   # an empty OMEMO message (key exchange, heartbeat)
        result = OmemoMessage(
            body=None, sender=str(msg["from"]), namespace=ns,
            device_id=device.device_id, stanza=msg, plaintext=plaintext,
            carbon=carbon, trust=device.trust_level_name, real_jid=real_jid)
        return self._opened(result, sender_bare, msg, carbon)

    def _opened(self, result, sender_bare, msg, carbon):
        """result with its body (and v2: envelope, content) filled from
        its plaintext; the v2 affixes checked."""
        ns, plaintext = result.namespace, result.plaintext
        if ns == LEGACY:
            result.body = plaintext.decode("utf-8")
            return result
        env = ET.fromstring(plaintext)
        if env.tag != f"{{{SCE}}}envelope":
            raise ValueError(f"OMEMO 2 payload is not an SCE envelope: "
                             f"{plaintext[:200]!r}")
        result.envelope = env
        content = env.find(f"{{{SCE}}}content")
        result.content = list(content) if content is not None else []
        body = content.find(f"{{{CLIENT}}}body") if content is not None \
            else None
        result.body = body.text if body is not None else None
        if self.strict_sce:
            self._check_affixes(env, sender_bare, msg, carbon)
        return result

    def _check_affixes(self, env, sender_bare, msg, carbon):
        """XEP-0420: the from affix must name the sender, the to affix the
        recipient (the peer, for a carbon of a message sent)."""
        frm = env.find(f"{{{SCE}}}from")
        to = env.find(f"{{{SCE}}}to")
        # In a room, the to affix names the room (XEP-0384 0.8, 7.2).
        want_to = msg["from"].bare if msg["type"] == "groupchat" \
            else msg["to"].bare
        frm_jid = frm.get("jid") if frm is not None else None
        to_jid = to.get("jid") if to is not None else None
        problems = []
        if (frm_jid or "").split("/")[0] != sender_bare:
            problems.append(f"from affix {frm_jid!r} is not the sender "
                            f"{sender_bare!r}")
        if (to_jid or "").split("/")[0] != want_to:
            problems.append(f"to affix {to_jid!r} is not the recipient "
                            f"{want_to!r}")
        if env.find(f"{{{SCE}}}rpad") is None:
            problems.append("no rpad affix")
        if problems:
            raise ValueError("bad SCE envelope: " + "; ".join(problems))

    def _reflection(self, msg):
        """The room's echo of a message this device sent (found by its id,
        as slixmpp-omemo does), as an OmemoMessage with reflected=True,
        else None. A device does not encrypt for itself: the plaintext
        comes from what was kept when sending."""
        sent = self.muc_sent.get(msg["id"])
        if sent is None or msg["from"].bare != \
                JID(sent[2].get("to")).bare:
            return None
        plaintexts, order, _ = sent
        ns = next(n for n in order if n in plaintexts)
        result = OmemoMessage(
            body=None, sender=str(msg["from"]), namespace=ns,
            device_id=self.own_device_id, stanza=msg,
            plaintext=plaintexts[ns], real_jid=self.jid, reflected=True)
        return self._opened(result, self.jid, msg, None)

    # -- rooms (XEP-0045) --------------------------------------------------

    async def join_room(self, room, nick, timeout=30):
        """Joins room as nick (no history) and returns slixmpp's join
        result (self-presence, subject, occupant presences, history)."""
        return await self.muc.join_muc_wait(room, nick, maxstanzas=0,
                                            timeout=timeout)

    def real_jid(self, room, nick):
        """The real bare JID of occupant nick of room, from the muc#user
        item of its presence; None when the room hides it or nick is not
        there."""
        jid = self.muc.get_jid_property(room, nick, "jid")
        return JID(jid).bare if jid else None

    def occupants(self, room):
        """{nick: real bare JID or None} of the room's occupants as their
        presences show them (this user included)."""
        return {nick: self.real_jid(room, nick)
                for nick in self.muc.get_roster(room)}

    def occupant_jids(self, room):
        """The real bare JIDs of the room's other occupants, what a MUC
        OMEMO client encrypts for when it does not ask for the member
        list."""
        return sorted({j for j in self.occupants(room).values()
                       if j and j != self.jid})

    async def member_jids(self, room):
        """The real bare JIDs of the room's members, owners and admins
        but this user's, from its muc#admin lists: what Conversations
        encrypts for in a members-only, non-anonymous room."""
        out = set()
        for affiliation in ("owner", "admin", "member"):
            iq = await self.iq_get(
                room, f"<query xmlns='{MUC_ADMIN}'>"
                      f"<item affiliation='{affiliation}'/></query>")
            for item in iq.xml.iter(f"{{{MUC_ADMIN}}}item"):
                if item.get("jid"):
                    out.add(JID(item.get("jid")).bare)
        return sorted(out - {self.jid})

    def sent_stanza(self, msg_id):
        """What this device sent to a room under msg_id (an ET element)."""
        return self.muc_sent[msg_id][2]

    async def wait_encrypted(self, pred=None, timeout=20,
                             what="an OMEMO message"):
        """The next decrypted OMEMO message matching pred (an OmemoMessage
        -> bool); fails on timeout listing what came instead, undecryptable
        messages included."""
        def match(item):
            return isinstance(item, OmemoMessage) and \
                (pred is None or pred(item))
        return await wait_for(self.encrypted, match, timeout,
                              f"{what} at {self.full_jid}")

    async def wait_plain(self, pred=None, timeout=20,
                         what="a plaintext message"):
        """The next message with a body and no OMEMO element at all, that
        matches pred (a slixmpp Message -> bool): a test that expects
        encryption uses it to catch a downgrade."""
        def match(msg):
            return pred is None or pred(msg)
        return await wait_for(self.plain, match, timeout,
                              f"{what} at {self.full_jid}")

    # -- what a JID publishes ----------------------------------------------

    async def _items(self, jid, node, timeout=10):
        try:
            return await self.iq_get(
                jid, f"<pubsub xmlns='{PUBSUB}'><items node='{node}'/>"
                     "</pubsub>", timeout=timeout)
        except IqError as e:
            # Prosody answers forbidden, not item-not-found, to a
            # non-contact asking for a node that does not exist (or whose
            # access model is not open): to a client, both mean "none".
            if e.condition in ("item-not-found", "forbidden"):
                return None
            raise

    async def device_ids(self, jid, version=None):
        """The device ids jid publishes, read with plain pubsub: a set for
        one version ("legacy": node eu.siacs.conversations.axolotl.
        devicelist; "v2": node urn:xmpp:omemo:2:devices), or with version
        None a dict {LEGACY: set, V2: set}. A node missing, or that a
        non-contact may not read (access model not open), is empty."""
        nss = [namespace(version)] if version else [LEGACY, V2]
        out = {}
        for ns in nss:
            node, tag = ((LEGACY_DEVICELIST, f"{{{LEGACY}}}list")
                         if ns == LEGACY else (V2_DEVICES, f"{{{V2}}}devices"))
            ids = set()
            iq = await self._items(jid, node)
            if iq is not None:
                for item in iq.xml.iter(f"{{{PUBSUB}}}item"):
                    lst = item.find(tag)
                    if lst is None:
                        continue
                    for dev in lst.findall(f"{{{ns}}}device"):
                        ids.add(int(dev.get("id")))
            out[ns] = ids
        return out[nss[0]] if version else out

    async def bundle(self, jid, device_id, version):
        """The bundle of jid's device, downloaded and parsed (validated) as
        any OMEMO client does: raises if missing or malformed."""
        return await _download_bundle(self.client.plugin["xep_0060"],
                                      namespace(version),
                                      jid.split("/")[0], int(device_id))
