"""The OMEMO test peer itself, XMPP to XMPP on the test Prosody (no gateway
involved): legacy OMEMO and OMEMO 2 both ways, and an account with two
devices. The gateway's OMEMO tests stand on this."""

import pytest
from omemo.session_manager import NoEligibleDevices

from omemo_peer import LEGACY, V2, OmemoXmppUser
from peers import unique

# slixmpp-omemo 2.2.0 reaches plugins the way slixmpp 1.17 deprecates.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Accessing plugins through the XMPP object:DeprecationWarning")


@pytest.fixture
async def omemo_pair(cluster):
    """Two fresh XMPP users running legacy OMEMO and OMEMO 2."""
    a = await OmemoXmppUser(cluster.prosody, unique("oa")).connect()
    b = await OmemoXmppUser(cluster.prosody, unique("ob")).connect()
    yield a, b
    await a.disconnect()
    await b.disconnect()


async def test_legacy_and_v2_both_ways(omemo_pair):
    a, b = omemo_pair
    for user in (a, b):
        published = await a.device_ids(user.jid)
        assert published == {LEGACY: {user.own_device_id},
                             V2: {user.own_device_id}}, published
    assert len(a.fingerprint.split()) == 8

    for version, ns in (("legacy", LEGACY), ("v2", V2)):
        for sender, receiver in ((a, b), (b, a)):
            body = f"{version} from {sender.name}"
            msg_id = await sender.send_encrypted(receiver.jid, body,
                                                 version=version)
            got = await receiver.wait_encrypted(
                lambda m, body=body: m.body == body,
                what=f"{version} OMEMO {body!r}")
            assert got.namespace == ns and got.version == version
            assert got.sender == sender.full_jid
            assert got.device_id == sender.own_device_id
            assert got.id == msg_id
            # The clear body is only the fallback.
            assert got.stanza["body"] != body
            assert body.encode() not in str(got.stanza).encode()
    assert a.plain.empty() and b.plain.empty()


async def test_extra_elements_and_downgrade(omemo_pair):
    a, b = omemo_pair
    # Legacy: the correction goes in clear next to the encrypted body.
    await a.send_encrypted(
        b.jid, "fixed", version="legacy",
        extra=["<replace xmlns='urn:xmpp:message-correct:0' id='m1'/>"])
    got = await b.wait_encrypted(lambda m: m.body == "fixed")
    assert got.element("{urn:xmpp:message-correct:0}replace").get("id") \
        == "m1"
    # OMEMO 2: inside the SCE envelope, invisible to the server.
    await a.send_encrypted(
        b.jid, "fixed2", version="v2",
        encrypted_extra=["<replace xmlns='urn:xmpp:message-correct:0' "
                         "id='m2'/>"])
    got = await b.wait_encrypted(lambda m: m.body == "fixed2")
    assert got.stanza.xml.find("{urn:xmpp:message-correct:0}replace") \
        is None
    assert got.element("{urn:xmpp:message-correct:0}replace").get("id") \
        == "m2"
    # A message in clear is told apart.
    a.send(b.jid, "in clear")
    plain = await b.wait_plain(lambda m: m["body"] == "in clear")
    assert plain["from"].bare == a.jid


async def test_versions_apart(cluster):
    old = await OmemoXmppUser(cluster.prosody, unique("oo"),
                              versions="legacy").connect()
    new = await OmemoXmppUser(cluster.prosody, unique("on"),
                              versions="v2").connect()
    try:
        assert await new.device_ids(old.jid) == {
            LEGACY: {old.own_device_id}, V2: set()}
        assert await old.device_ids(new.jid, "v2") == {new.own_device_id}
        with pytest.raises(NoEligibleDevices):
            await new.send_encrypted(old.jid, "nobody hears", version="v2")
    finally:
        await old.disconnect()
        await new.disconnect()


async def test_two_devices(cluster):
    alice = await OmemoXmppUser(cluster.prosody, unique("oc")).connect()
    name = unique("od")
    phone = await OmemoXmppUser(cluster.prosody, name,
                                resource="phone").connect()
    laptop = await OmemoXmppUser(cluster.prosody, name, resource="laptop",
                                 register=False).connect()
    try:
        assert phone.own_device_id != laptop.own_device_id
        ids = {phone.own_device_id, laptop.own_device_id}
        assert await alice.device_ids(phone.jid) == {LEGACY: ids, V2: ids}

        for version in ("legacy", "v2"):
            body = f"to both, {version}"
            await alice.send_encrypted(phone.jid, body, version=version)
            for device in (phone, laptop):
                got = await device.wait_encrypted(
                    lambda m, body=body: m.body == body)
                assert got.version == version
                assert got.device_id == alice.own_device_id
                assert got.carbon is None

            # The account's other device reads what one device sent (a
            # carbon of it), as its own history.
            body = f"from the phone, {version}"
            await phone.send_encrypted(alice.jid, body, version=version)
            got = await alice.wait_encrypted(
                lambda m, body=body: m.body == body)
            assert got.sender == phone.full_jid
            got = await laptop.wait_encrypted(
                lambda m, body=body: m.body == body)
            assert got.carbon == "sent"
            assert got.device_id == phone.own_device_id
    finally:
        for user in (alice, phone, laptop):
            await user.disconnect()
