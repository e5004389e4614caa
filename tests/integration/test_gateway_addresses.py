"""Finding a Matrix user's address from XMPP: jabber:iq:gateway (XEP-0100)
on the component, errors that show the escaped form of a Matrix id typed
as it is, and disco#info that tells a Matrix user who does not exist."""

import pytest
import slixmpp
from slixmpp.exceptions import IqError

from harness import COMPONENT, DOMAIN
from test_commands import adhoc, fields_of
from test_dm import puppet_jid

NS_GATEWAY = "jabber:iq:gateway"
# Upper case, '/' and '=': escaped (XEP-0106) or kept, and back again.
TRICKY = f"@Bob/Smith=1:{DOMAIN}"
TRICKY_JID = f"\\42ob\\2f\\53mith=1%{DOMAIN}@{COMPONENT}"


def child_text(iq, name):
    el = iq.xml.find(f"{{{NS_GATEWAY}}}query/{{{NS_GATEWAY}}}{name}")
    return el.text if el is not None else None


async def test_domain_advertises_gateway_and_commands(alice):
    info = await alice.client.plugin["xep_0030"].get_info(jid=COMPONENT,
                                                          timeout=10)
    features = info["disco_info"]["features"]
    assert NS_GATEWAY in features
    assert "http://jabber.org/protocol/commands" in features


async def test_prompt_get(alice):
    iq = await alice.iq_get(COMPONENT, f"<query xmlns='{NS_GATEWAY}'/>")
    assert child_text(iq, "prompt") == \
        "Matrix user ID, like @alice:example.org"
    assert child_text(iq, "desc")


async def prompt_set(user, text):
    iq = user.client.make_iq_set(ito=COMPONENT)
    q = slixmpp.ET.fromstring(f"<query xmlns='{NS_GATEWAY}'><prompt/>"
                              "</query>")
    q[0].text = text
    iq.append(q)
    return await iq.send(timeout=10)


async def test_prompt_set_both_ways_with_a_tricky_id(alice):
    iq = await prompt_set(alice, TRICKY)
    jid = child_text(iq, "jid")
    assert jid == TRICKY_JID
    # And back: the gateway's whois reads that JID as the same Matrix id.
    back = await adhoc(alice, "whois", jid)
    assert fields_of(back)["Matrix id"] == TRICKY
    # The leading @ may be left out; spaces around are forgiven.
    iq = await prompt_set(alice, f"  bob:{DOMAIN} ")
    assert child_text(iq, "jid") == f"bob%{DOMAIN}@{COMPONENT}"


async def test_prompt_set_refuses_what_is_no_matrix_id(alice):
    with pytest.raises(IqError) as e:
        await prompt_set(alice, "not a matrix id")
    assert e.value.iq["error"]["condition"] == "not-acceptable"
    assert "Matrix user ID" in e.value.iq["error"]["text"]


@pytest.mark.parametrize("typed", [
    f"\\40bob\\3a{DOMAIN}@{COMPONENT}",  # "@bob:localhost", XEP-0106'd
    f"bob@{COMPONENT}",                   # a localpart without server
])
async def test_unescaped_matrix_id_gets_the_escaped_form(alice, typed):
    alice.send(typed, "hello?")
    err = await alice.wait_message(
        lambda m: m["type"] == "error" and m["from"].bare == typed,
        what="the error")
    text = err["error"]["text"]
    assert f"bob%{DOMAIN}@{COMPONENT}" in text, text
    assert f"@bob:{DOMAIN}" in text, text


async def test_disco_info_on_a_matrix_user(alice, bob):
    info = await alice.client.plugin["xep_0030"].get_info(
        jid=puppet_jid(bob), timeout=10)
    assert info["disco_info"]["identities"]
    with pytest.raises(IqError) as e:
        await alice.client.plugin["xep_0030"].get_info(
            jid=f"nosuchuser77%{DOMAIN}@{COMPONENT}", timeout=10)
    assert e.value.iq["error"]["condition"] == "item-not-found"
