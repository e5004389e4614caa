"""A DM's archive (MAM, which the gateway answers from Matrix history,
where it can decrypt Megolm) never gives an OMEMO user's conversation back
in clear: the Matrix side's messages come back OMEMO-encrypted by the
puppet, as they came live, and what the XMPP user wrote with OMEMO comes
back as a placeholder (the gateway keeps no ciphertext of it); a user
without OMEMO reads a Megolm DM's history as they read it live."""

import xml.etree.ElementTree as ET

import pytest

from omemo_peer import LEGACY, OmemoXmppUser
from peers import unique
from test_dm import puppet_jid
from test_e2ee import e2ee_user, encrypted_dm
from test_mam import scroll_back

# slixmpp-omemo 2.2.0 reaches plugins the way slixmpp 1.17 deprecates.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Accessing plugins through the XMPP object:DeprecationWarning")


async def test_an_omemo_dms_archive_stays_encrypted(cluster, gateway,
                                                    tmp_path):
    fern = await OmemoXmppUser(cluster.prosody, unique("fern"),
                               versions="legacy").connect()
    carol = await e2ee_user(cluster, tmp_path)
    try:
        room_id = await encrypted_dm(carol, fern)
        from_matrix = unique("from-matrix-")
        from_xmpp = unique("from-xmpp-")
        await carol.send(room_id, f"carol says {from_matrix}")
        await fern.wait_encrypted(
            lambda m: m.body == f"carol says {from_matrix}",
            what="carol's message, live")
        await fern.send_encrypted(puppet_jid(carol), f"fern says {from_xmpp}",
                                  version="legacy")
        await carol.wait_message(
            lambda r, e: e.body == f"fern says {from_xmpp}",
            what="fern's message on Matrix")

        results, _ = await scroll_back(fern, puppet_jid(carol))
        texts = [ET.tostring(m, encoding="unicode") for _, m in results]
        assert len(texts) == 2, texts
        leaked = [t for t in texts if from_matrix in t or from_xmpp in t]
        assert not leaked, f"the DM's text in clear in the archive: {leaked}"
        carols = [t for t in texts if LEGACY in t]
        assert len(carols) == 1, texts
        assert any("end-to-end encrypted on XMPP" in t for t in texts), texts
    finally:
        await carol.close()
        await fern.disconnect()
