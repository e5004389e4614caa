"""History through MAM (XEP-0313) with RSM paging (XEP-0059): the gateway
answers queries to a Matrix user's JID (the DM) and to a gateway-mode MUC
from the Matrix room's history. Portal rooms keep the real MUC's archive
(Prosody's mod_muc_mam) on the XMPP side and the room's own history on the
Matrix side; the last test shows both hold the other side's messages."""

import asyncio

import pytest
import slixmpp
from nio import RoomPreset
from nio.responses import RoomCreateResponse, RoomMessagesResponse
from slixmpp.exceptions import IqError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from harness import COMPONENT, DOMAIN, MUC
from peers import unique
from test_dm import open_dm_from_xmpp, puppet_jid
from test_muc_gateway import make_room, matrix_pair, muc
from test_muc_portal import create_muc, join_portal, matrix_user, \
    occupant_ghost, wait_occupant
from test_rich import matrix_edit

# The whole module runs against ejabberd too (conftest.py, core).
pytestmark = pytest.mark.core

NS_MAM = "urn:xmpp:mam:2"
NS_RSM = "http://jabber.org/protocol/rsm"
NS_FWD = "urn:xmpp:forward:0"
NS_CLIENT = "jabber:client"
NS_SID = "urn:xmpp:sid:0"
NS_DELAY = "urn:xmpp:delay"


class Page:
    def __init__(self, results, complete, first, last):
        self.results = results      # [(archive id, inner message element)]
        self.complete = complete
        self.first = first
        self.last = last

    def bodies(self):
        return [m.findtext(f"{{{NS_CLIENT}}}body") for _, m in self.results]


def mam_results(user):
    """A queue of the MAM result messages the user receives (they have no
    <body/>, so slixmpp's message event skips them)."""
    if not hasattr(user, "mam_results"):
        user.mam_results = asyncio.Queue()
        user.client.register_handler(Callback(
            "MAM results", MatchXPath(f"{{{NS_CLIENT}}}message/"
                                      f"{{{NS_MAM}}}result"),
            user.mam_results.put_nowait))
    return user.mam_results


async def mam_page(user, archive, max=10, before=None, after=None,
                   start=None, end=None, with_jid=None, timeout=30):
    """One raw MAM query; before="" is an empty <before/> (the last page).
    Returns the page; raises IqError on an error answer."""
    qid = unique("q")
    queue = mam_results(user)
    fields = "".join(f"<field var='{var}'><value>{value}</value></field>"
                     for var, value in (("start", start), ("end", end),
                                        ("with", with_jid))
                     if value)
    form = (f"<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' "
            f"type='hidden'><value>{NS_MAM}</value></field>{fields}</x>"
            if fields else "")
    rsm = f"<max>{max}</max>"
    if before is not None:
        rsm += f"<before>{before}</before>" if before else "<before/>"
    if after is not None:
        rsm += f"<after>{after}</after>"
    iq = user.client.make_iq_set(ito=archive)
    iq.append(slixmpp.ET.fromstring(
        f"<query xmlns='{NS_MAM}' queryid='{qid}'>{form}"
        f"<set xmlns='{NS_RSM}'>{rsm}</set></query>"))
    answer = await iq.send(timeout=timeout)
    # The results came before the answer, on the same route: they are
    # queued already. Other queries' results go back in their order.
    results, others = [], []
    while not queue.empty():
        msg = queue.get_nowait()
        res = msg.xml.find(f"{{{NS_MAM}}}result")
        if res is None or res.get("queryid") != qid:
            others.append(msg)
            continue
        assert msg["from"].bare == archive, msg
        fwd = res.find(f"{{{NS_FWD}}}forwarded")
        assert fwd.find(f"{{{NS_DELAY}}}delay").get("stamp"), msg
        inner = fwd.find(f"{{{NS_CLIENT}}}message")
        assert inner is not None, f"no jabber:client message in {msg}"
        results.append((res.get("id"), inner, fwd))
    for msg in others:
        queue.put_nowait(msg)
    fin = answer.xml.find(f"{{{NS_MAM}}}fin")
    assert fin is not None, answer
    rset = fin.find(f"{{{NS_RSM}}}set")
    first = rset.findtext(f"{{{NS_RSM}}}first") if rset is not None else None
    last = rset.findtext(f"{{{NS_RSM}}}last") if rset is not None else None
    if results:
        assert (first, last) == (results[0][0], results[-1][0])
    page = Page([(i, m) for i, m, _ in results], fin.get("complete") == "true",
                first, last)
    page.stamps = [f.find(f"{{{NS_DELAY}}}delay").get("stamp")
                   for _, _, f in results]
    return page


async def scroll_back(user, archive, max=10):
    """Pages from the newest message back to the start of history, as a
    client scrolling up does. Returns every result, oldest first, and the
    pages' sizes."""
    pages = []
    page = await mam_page(user, archive, max=max, before="")
    while True:
        pages.append(page)
        assert len(page.results) <= max
        if page.complete:
            break
        assert page.first, "an incomplete page without a <first/> id"
        assert len(pages) < 20, "history never completes"
        page = await mam_page(user, archive, max=max, before=page.first)
    results = [r for p in reversed(pages) for r in p.results]
    return results, [len(p.results) for p in pages]


def assert_once(results):
    ids = [i for i, _ in results]
    assert len(ids) == len(set(ids)), f"a message came twice: {ids}"


async def forward_pages(user, archive, max=10):
    """From the oldest message forwards (no <before/>), with <after/>."""
    results = []
    page = await mam_page(user, archive, max=max)
    while True:
        results += page.results
        if page.complete:
            return results
        assert page.last, "an incomplete page without a <last/> id"
        page = await mam_page(user, archive, max=max, after=page.last)


def expect_error(exc, condition):
    assert exc.iq["error"]["condition"] == condition, exc.iq


async def test_dm_history_pages_back_and_forth(alice, bob):
    archive = puppet_jid(bob)
    room_id = await open_dm_from_xmpp(alice, bob, "hello bob")
    expected = ["hello bob"]
    alice_ids = {}
    for k in range(25):
        await bob.send(room_id, f"bob {k:02}")
        expected.append(f"bob {k:02}")
        if k % 6 == 5:
            body = f"alice {k // 6}"
            sent = alice.send(archive, body)
            alice_ids[body] = sent["id"]
            await bob.wait_message(lambda r, e, b=body: e.body == b,
                                   what=f"'{body}' on Matrix")
            expected.append(body)
    assert len(expected) == 30

    results, sizes = await scroll_back(alice, archive, max=10)
    assert_once(results)
    assert [m.findtext(f"{{{NS_CLIENT}}}body") for _, m in results] == \
        expected
    assert sizes[0] == 10 and sizes[1] == 10 and sum(sizes) == 30, sizes
    for archive_id, m in results:
        body = m.findtext(f"{{{NS_CLIENT}}}body")
        assert archive_id.startswith("$")
        assert m.get("type") == "chat"
        if body.startswith("bob "):
            assert slixmpp.JID(m.get("from")).bare == archive
            assert m.get("id") == archive_id
        else:
            # Her own messages, under the ids her client sent them with.
            assert slixmpp.JID(m.get("from")).bare == alice.jid
            assert m.get("to") == archive
            if body in alice_ids:
                assert m.get("id") == alice_ids[body]

    forward = await forward_pages(alice, archive, max=10)
    assert [i for i, _ in forward] == [i for i, _ in results]

    # The other way, Matrix's own history holds what alice said.
    resp = await bob.client.room_messages(room_id, start=bob.client.next_batch,
                                          limit=100)
    assert isinstance(resp, RoomMessagesResponse), resp
    assert [getattr(e, "body", None) for e in reversed(resp.chunk)
            if getattr(e, "body", None)] == expected

    # A real client's pager: slixmpp's XEP-0313 iterator, backwards.
    mam = alice.client.plugin["xep_0313"] if "xep_0313" in \
        alice.client.plugin else None
    if mam is None:
        alice.client.register_plugin("xep_0313")
        mam = alice.client.plugin["xep_0313"]
    seen = [m["mam_result"]["forwarded"]["stanza"]["body"]
            async for m in mam.iterate(jid=archive, reverse=True,
                                       rsm={"max": 7})]
    assert list(reversed(seen)) == expected

    # A period: from the 6th message's time to the 10th's.
    page = await mam_page(alice, archive, max=10, before="")
    older = await mam_page(alice, archive, max=10, before=page.first)
    oldest = await mam_page(alice, archive, max=10, before=older.first)
    stamps = oldest.stamps
    window = await mam_page(alice, archive, max=50, start=stamps[5],
                            end=stamps[9])
    assert window.bodies() == oldest.bodies()[5:10]
    assert window.complete
    # Backwards from the end of a period: the last page before it.
    until = await mam_page(alice, archive, max=10, before="", end=stamps[9])
    assert until.bodies() == oldest.bodies()
    assert until.complete
    # "with" the conversation partner: the whole conversation; with
    # someone who took no part in it: nothing.
    bobs = await mam_page(alice, archive, max=50, before="",
                          with_jid=archive)
    assert bobs.bodies() == expected
    nobody = await mam_page(alice, archive, max=50, before="",
                            with_jid=f"nobody@{DOMAIN}")
    assert nobody.bodies() == [] and nobody.complete

    # Field discovery and disco#info.
    form = await mam.get_fields(jid=archive)
    assert {"FORM_TYPE", "start", "end", "with"} <= set(form.get_fields())
    info = await alice.client.plugin["xep_0030"].get_info(jid=archive)
    assert NS_MAM in info["disco_info"]["features"]

    # An id the archive does not hold.
    try:
        await mam_page(alice, archive, before="$no-such-event")
        raise AssertionError("an unknown <before/> id was accepted")
    except IqError as e:
        expect_error(e, "item-not-found")


async def test_edits_do_not_leave_pages_short(alice, bob):
    """Edits are not archive entries: a page of two that meets a run of
    edits asks Matrix again until it has two messages."""
    archive = puppet_jid(bob)
    room_id = await open_dm_from_xmpp(alice, bob, "start")
    await bob.send(room_id, "first")
    draft = await bob.send(room_id, "draft 0")
    for k in range(1, 6):
        await matrix_edit(bob, room_id, draft, f"draft {k}")
    await bob.send(room_id, "last")
    page = await mam_page(alice, archive, max=2, before="")
    assert page.bodies() == ["draft 5", "last"] and not page.complete
    page = await mam_page(alice, archive, max=2, before=page.first)
    assert page.bodies() == ["start", "first"] and page.complete
    page = await mam_page(alice, archive, max=2, before=page.first)
    assert page.bodies() == [] and page.complete


async def test_gateway_room_history_before_the_join(cluster, gateway, alice):
    """The messages were written before alice joined: a public_chat room has
    history_visibility "shared", so her ghost may read all of it once it is
    a member (with "joined" it would see only what came after its join)."""
    bob, carol = await matrix_pair(cluster)
    try:
        # An event alice may see, but in another room: not in this archive.
        dm_room = await open_dm_from_xmpp(alice, bob, "psst")
        dm_event = await bob.send(dm_room, "in the DM")
        room_id, muc_jid = await make_room(bob, carol, "archive")
        expected = []
        typo = None
        for k in range(25):
            user, nick = (bob, "Bob B") if k % 2 == 0 else (carol, "Carol C")
            body = f"{nick.split()[0].lower()} {k:02}"
            if k == 4:
                typo = await user.send(room_id, "bob 04 tpyo")
            else:
                await user.send(room_id, body)
            expected.append((nick, body))
        # An edit: the archive shows the latest text, once.
        await matrix_edit(bob, room_id, typo, "bob 04")

        try:
            await mam_page(alice, muc_jid, before="")
            raise AssertionError("a room alice never joined let her read")
        except IqError as e:
            expect_error(e, "forbidden")

        await muc(alice).join_muc_wait(muc_jid, "alice", maxstanzas=0,
                                       timeout=30)
        for k in range(2):
            body = f"alice {k}"
            alice.send(muc_jid, body, mtype="groupchat")
            await alice.wait_message(
                lambda m, b=body: m["body"] == b and m["type"] == "groupchat",
                what=f"the reflection of '{body}'")
            expected.append(("alice", body))

        results, sizes = await scroll_back(alice, muc_jid, max=10)
        assert_once(results)
        got = [(slixmpp.JID(m.get("from")).resource,
                m.findtext(f"{{{NS_CLIENT}}}body")) for _, m in results]
        assert got == expected
        assert sizes[0] == 10 and sum(sizes) == 27, sizes
        for archive_id, m in results:
            assert m.get("type") == "groupchat"
            assert slixmpp.JID(m.get("from")).bare == muc_jid
            sid = m.find(f"{{{NS_SID}}}stanza-id")
            assert sid is not None and sid.get("by") == muc_jid
            assert sid.get("id") == archive_id

        forward = await forward_pages(alice, muc_jid, max=10)
        assert [i for i, _ in forward] == [i for i, _ in results]

        info = await alice.client.plugin["xep_0030"].get_info(jid=muc_jid)
        assert NS_MAM in info["disco_info"]["features"]

        for bad in ("$no-such-event", dm_event):
            try:
                await mam_page(alice, muc_jid, before=bad)
                raise AssertionError(f"<before>{bad}</before> was accepted")
            except IqError as e:
                expect_error(e, "item-not-found")
    finally:
        await bob.close()
        await carol.close()


async def test_queries_that_are_refused(alice, bob):
    # A DM that does not exist yet is an empty, complete archive.
    page = await mam_page(alice, puppet_jid(bob), before="")
    assert page.results == [] and page.complete
    # A room alice's (existing) ghost is not in: Matrix refuses, and so
    # does the gateway.
    await open_dm_from_xmpp(alice, bob, "hello")
    alias = unique("closed")
    resp = await bob.client.room_create(alias=alias,
                                        preset=RoomPreset.public_chat)
    assert isinstance(resp, RoomCreateResponse), resp
    await bob.send(resp.room_id, "not for alice")
    try:
        await mam_page(alice, f"#{alias}%{DOMAIN}@{COMPONENT}", before="")
        raise AssertionError("a room alice's ghost is not in let her read")
    except IqError as e:
        expect_error(e, "forbidden")
    # An alias nobody has.
    try:
        await mam_page(alice, f"#{unique('none')}%{DOMAIN}@{COMPONENT}",
                       before="")
        raise AssertionError("an unknown room answered")
    except IqError as e:
        expect_error(e, "item-not-found")
    # Archive metadata is not served.
    try:
        await alice.iq_get(puppet_jid(bob), f"<metadata xmlns='{NS_MAM}'/>")
        raise AssertionError("a metadata request was answered")
    except IqError as e:
        expect_error(e, "feature-not-implemented")
    # Malformed filters.
    try:
        await mam_page(alice, puppet_jid(bob), start="yesterday")
        raise AssertionError("a malformed start was accepted")
    except IqError as e:
        expect_error(e, "bad-request")


async def test_portal_history_lives_on_both_sides(cluster, gateway, alice):
    """Portal mode: the MUC is Prosody's, and so is its archive. What a
    Matrix user says through the portal is in the MUC's MAM; what XMPP
    occupants say is in the Matrix room's history."""
    room, _ = await create_muc(alice, nick="alice")
    room_jid = f"{room}@{MUC}"
    bob = await matrix_user(cluster, "Bob M")
    try:
        room_id = await join_portal(bob, room)
        await wait_occupant(alice, room, "Bob M")
        await bob.wait_member(
            lambda r, e: r == room_id and
            e.state_key == occupant_ghost(room, "alice") and
            e.membership == "join", what="alice's ghost in the portal")
        await bob.send(room_id, "from matrix")
        await alice.wait_message(lambda m: m["body"] == "from matrix",
                                 what="bob's message in the MUC")
        alice.send(room_jid, "from xmpp", mtype="groupchat")
        await bob.wait_message(
            lambda r, e: r == room_id and e.body == "from xmpp",
            what="alice's message in the portal")

        page = await mam_page(alice, room_jid, before="")
        said = [(slixmpp.JID(m.get("from")).resource,
                 m.findtext(f"{{{NS_CLIENT}}}body")) for _, m in page.results]
        assert ("Bob M", "from matrix") in said and \
            ("alice", "from xmpp") in said, said

        resp = await bob.client.room_messages(room_id, start=bob.client.next_batch,
                                              limit=50)
        assert isinstance(resp, RoomMessagesResponse), resp
        bodies = [getattr(e, "body", None) for e in resp.chunk]
        assert "from xmpp" in bodies and "from matrix" in bodies, bodies
    finally:
        await bob.close()
