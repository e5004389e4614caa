"""Starts matridge with one fix, for `bench_peers.py --matridge-case-fix`
only; the default run starts matridge unchanged.

matridge 0.4.1 on slidge 0.4.2 stores a MUC's JID local part with the
Matrix room id's case ("!2EyICw..."), but the XMPP server routes the
user's join to the lowercased JID ("!2eyicw...", nodeprep), so slidge's
lookup by JID misses, it takes the lowercased string for the room id, and
answers item-not-found: no Matrix room (whose ids are mixed case) can be
joined. Storing the local part lowercased makes the lookup find the room
and its real id; nothing else changes. Run with the matridge venv's
python, with matridge's own arguments."""

import sys

import matridge
import matridge.group

_local_part = matridge.group.Bookmarks.legacy_id_to_jid_local_part


async def lowercased_local_part(self, legacy_id):
    return (await _local_part(self, legacy_id)).lower()


matridge.group.Bookmarks.legacy_id_to_jid_local_part = lowercased_local_part
sys.argv[0] = "matridge"
sys.exit(matridge.main())
