"""Formatting, in DMs, gateway-mode rooms and portal rooms, both ways:
Matrix formatted_body (HTML) -> XEP-0393 styling with XEP-0372 mentions
for pills; XEP-0393 styling and XHTML-IM -> sanitised formatted_body;
XEP-0372 mentions -> pills and m.mentions."""

from urllib.parse import quote

import slixmpp
from nio.responses import RoomSendResponse

from harness import MUC
from test_dm import ghost_id, open_dm_from_xmpp, puppet_jid
from test_muc_gateway import make_room, matrix_pair, muc
from test_muc_portal import create_muc, join_portal, matrix_jid, \
    matrix_user, occupant_ghost, wait_occupant

NS_REF = "urn:xmpp:reference:0"
NS_XHTML_IM = "http://jabber.org/protocol/xhtml-im"
NS_XHTML = "http://www.w3.org/1999/xhtml"
HTML = "org.matrix.custom.html"


def xmpp_uri(jid):
    """RFC 5122: what a URI cannot hold (%, #, spaces) percent-encoded."""
    return "xmpp:" + quote(jid, safe="@/!$&'()*+,;=:")


def content(event):
    return event.source.get("content", {})


def mentions_of(msg):
    """(uri, begin, end) of each XEP-0372 mention in a received message."""
    return [(r.get("uri"), int(r.get("begin")), int(r.get("end")))
            for r in msg.xml.findall(f"{{{NS_REF}}}reference")
            if r.get("type") == "mention"]


async def matrix_sends_html(matrix, room_id, pill_mxid, pill_name):
    body = f"bold it x=1 docs hi {pill_name}"
    formatted = (f"<b>bold</b> <i>it</i> <code>x=1</code> "
                 f"<a href=\"https://example.org/docs\">docs</a> hi "
                 f"<a href=\"https://matrix.to/#/{pill_mxid}\">{pill_name}</a>"
                 f"<script>alert('pwned')</script>")
    resp = await matrix.client.room_send(room_id, "m.room.message", {
        "msgtype": "m.text", "body": body, "format": HTML,
        "formatted_body": formatted})
    assert isinstance(resp, RoomSendResponse), resp
    return resp.event_id


async def html_reaches_xmpp(xmpp_user, matrix, room_id, pill_mxid,
                            pill_name):
    """Matrix bold/italic/code/link/pill and a script -> the styled body,
    no script, and a mention of the pill's user."""
    await matrix_sends_html(matrix, room_id, pill_mxid, pill_name)
    want = f"*bold* _it_ `x=1` docs <https://example.org/docs> hi {pill_name}"
    got = await xmpp_user.wait_message(
        lambda m: m["body"].startswith("*bold*"),
        what="the formatted Matrix message as styled text")
    assert got["body"] == want
    assert "pwned" not in str(got.xml)
    refs = mentions_of(got)
    start = want.index(pill_name)
    assert [(b, e) for _, b, e in refs] == [(start, start + len(pill_name))], \
        refs
    return refs[0][0]


async def styling_reaches_matrix(xmpp_user, matrix, room_id, to, mtype):
    """XEP-0393 -> <strong>/<em>; an unstyled body gets no formatted_body."""
    xmpp_user.send(to, "just words", mtype=mtype)
    _, plain = await matrix.wait_message(
        lambda r, e: r == room_id and e.body == "just words",
        what="the unstyled XMPP message")
    assert "formatted_body" not in content(plain)
    xmpp_user.send(to, "*bold* and _it_", mtype=mtype)
    _, ev = await matrix.wait_message(
        lambda r, e: r == room_id and e.body == "*bold* and _it_",
        what="the styled XMPP message")
    assert content(ev).get("format") == HTML
    assert content(ev)["formatted_body"] == \
        "<strong>bold</strong> and <em>it</em>"


async def xhtml_reaches_matrix(xmpp_user, matrix, room_id, to, mtype):
    """XHTML-IM with a script and a javascript: link -> sanitised HTML."""
    msg = xmpp_user.client.make_message(mto=to, mbody="xhtml safe link strong",
                                        mtype=mtype)
    msg.append(slixmpp.ET.fromstring(
        f"<html xmlns='{NS_XHTML_IM}'><body xmlns='{NS_XHTML}'>"
        "<p>xhtml safe <a href='javascript:alert(1)'>link</a>"
        "<script>alert(2)</script> <strong style='color:red' "
        "onmouseover='alert(3)'>strong</strong></p></body></html>"))
    msg.send()
    _, ev = await matrix.wait_message(
        lambda r, e: r == room_id and e.body == "xhtml safe link strong",
        what="the XHTML-IM message")
    html = content(ev).get("formatted_body")
    assert content(ev).get("format") == HTML
    assert html == "<p>xhtml safe <a>link</a> <strong>strong</strong></p>", \
        html


async def mention_reaches_matrix(xmpp_user, matrix, room_id, to, mtype,
                                 uri):
    """A XEP-0372 mention of the Matrix user -> a pill and m.mentions."""
    msg = xmpp_user.client.make_message(mto=to, mbody="hey Bob, look",
                                        mtype=mtype)
    msg.append(slixmpp.ET.fromstring(
        f"<reference xmlns='{NS_REF}' type='mention' begin='4' end='7' "
        f"uri='{uri}'/>"))
    msg.send()
    _, ev = await matrix.wait_message(
        lambda r, e: r == room_id and e.body == "hey Bob, look",
        what="the XMPP message with a mention")
    assert content(ev).get("formatted_body") == (
        f"hey <a href=\"https://matrix.to/#/{matrix.user_id}\">Bob</a>, look")
    assert content(ev).get("m.mentions") == {"user_ids": [matrix.user_id]}


async def test_formatting_in_a_dm(alice, bob):
    room_id = await open_dm_from_xmpp(alice, bob, "hi")
    uri = await html_reaches_xmpp(alice, bob, room_id, ghost_id(alice),
                                  "Alice")
    assert uri == f"xmpp:{alice.jid}"
    to = puppet_jid(bob)
    await styling_reaches_matrix(alice, bob, room_id, to, "chat")
    await xhtml_reaches_matrix(alice, bob, room_id, to, "chat")
    await mention_reaches_matrix(alice, bob, room_id, to, "chat",
                                 xmpp_uri(to))
    # A styled correction: the edit's m.new_content is formatted too.
    sent = alice.send(to, "helo *wrld*")
    await bob.wait_message(lambda r, e: r == room_id and
                           e.body == "helo *wrld*", what="the typo")
    fix = alice.client.make_message(mto=to, mbody="hello *world*",
                                    mtype="chat")
    fix.append(slixmpp.ET.fromstring(
        f"<replace xmlns='urn:xmpp:message-correct:0' id='{sent['id']}'/>"))
    fix.send()
    _, edit = await bob.wait_message(
        lambda r, e: r == room_id and e.body == "* hello *world*",
        what="the styled correction")
    new = content(edit)["m.new_content"]
    assert new["formatted_body"] == "hello <strong>world</strong>", new
    assert content(edit)["formatted_body"] == \
        "* hello <strong>world</strong>"
    # A formatted reply: its <mx-reply> fallback never reaches XMPP, the
    # XMPP fallback quote is made from the plain one.
    asked = await bob.send(room_id, "tea?")
    await alice.wait_message(lambda m: m["body"] == "tea?", what="'tea?'")
    resp = await bob.client.room_send(room_id, "m.room.message", {
        "msgtype": "m.text", "body": f"> <{bob.user_id}> tea?\n\nyes *please*",
        "format": HTML,
        "formatted_body": f"<mx-reply><blockquote><a href=\"https://matrix.to"
                          f"/#/{room_id}/{asked}\">In reply to</a> <a href=\""
                          f"https://matrix.to/#/{bob.user_id}\">{bob.user_id}"
                          f"</a><br>tea?</blockquote></mx-reply>yes "
                          f"<strong>please</strong>",
        "m.relates_to": {"m.in_reply_to": {"event_id": asked}}})
    assert isinstance(resp, RoomSendResponse), resp
    reply = await alice.wait_message(
        lambda m: m["body"].endswith("please*"), what="the formatted reply")
    assert reply["body"] == "> tea?\nyes *please*"
    assert mentions_of(reply) == []
    # An edit with a formatted body corrects with the styled text.
    await bob.client.room_send(room_id, "m.room.message", {
        "msgtype": "m.text", "body": "* yes _please_", "format": HTML,
        "formatted_body": "* yes <em>please</em>",
        "m.new_content": {"msgtype": "m.text", "body": "yes _please_",
                          "format": HTML,
                          "formatted_body": "yes <em>please</em>"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": resp.event_id}})
    await alice.wait_message(lambda m: m["body"] == "yes _please_",
                             what="the formatted edit")


async def test_formatting_in_a_gateway_room(cluster, gateway, alice):
    bob, carol = await matrix_pair(cluster)
    try:
        room_id, muc_jid = await make_room(bob, carol, "format")
        await muc(alice).join_muc_wait(muc_jid, "alice", maxstanzas=0,
                                       timeout=30)
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost_id(alice)
            and e.membership == "join", what="alice's ghost joining")
        uri = await html_reaches_xmpp(alice, bob, room_id, ghost_id(alice),
                                      "alice")
        assert uri == f"xmpp:{alice.jid}"
        await styling_reaches_matrix(alice, bob, room_id, muc_jid,
                                     "groupchat")
        await xhtml_reaches_matrix(alice, bob, room_id, muc_jid, "groupchat")
        await mention_reaches_matrix(alice, bob, room_id, muc_jid,
                                     "groupchat", xmpp_uri(puppet_jid(bob)))
        # In a MUC a client names an occupant by occupant JID.
        await mention_reaches_matrix(alice, bob, room_id, muc_jid,
                                     "groupchat", xmpp_uri(f"{muc_jid}/Bob B"))
    finally:
        await bob.close()
        await carol.close()


async def test_formatting_in_a_portal(cluster, gateway, alice):
    room, _ = await create_muc(alice, nick="alice")
    room_jid = f"{room}@{MUC}"
    bob = await matrix_user(cluster, "Bob F")
    try:
        room_id = await join_portal(bob, room)
        await wait_occupant(alice, room, "Bob F")
        ghost = occupant_ghost(room, "alice")
        await bob.wait_member(
            lambda r, e: r == room_id and e.state_key == ghost and
            e.membership == "join", what="alice's ghost in the portal")
        uri = await html_reaches_xmpp(alice, bob, room_id, ghost, "alice")
        assert uri == f"xmpp:{room_jid}/alice", uri
        await styling_reaches_matrix(alice, bob, room_id, room_jid,
                                     "groupchat")
        await xhtml_reaches_matrix(alice, bob, room_id, room_jid, "groupchat")
        # In a MUC a client names an occupant by occupant JID.
        await mention_reaches_matrix(alice, bob, room_id, room_jid,
                                     "groupchat", xmpp_uri(f"{room_jid}/Bob F"))
        # ... or by the Matrix user's own JID (here unencoded, as some
        # clients send it).
        await mention_reaches_matrix(alice, bob, room_id, room_jid,
                                     "groupchat", f"xmpp:{matrix_jid(bob)}")
    finally:
        await bob.close()
