/* The catalogue of the store's statements: one id per question the
 * per-table files ask. Each driver holds the SQL of every id in its own
 * dialect (the SQLite one in store/sqlite/statements.c, which also says
 * what each binds and returns). The contract between a per-table file and
 * a driver is the id with its parameters, in order, and its columns, in
 * order: a driver may write the SQL any way that keeps them. */
#ifndef ISTHMUS_STORE_STATEMENTS_H
#define ISTHMUS_STORE_STATEMENTS_H

enum stmt_id {
    S_TXN_SEEN, S_TXN_MARK, S_TXN_HIGHEST, S_TXN_PRUNE,
    S_GHOST_GET, S_GHOST_PUT,
    S_ROOM_GET, S_ROOM_FIND_DM, S_ROOM_PUT, S_ROOM_DELETE,
    S_MSG_PUT, S_MSG_BY_EVENT, S_MSG_BY_STANZA,
    S_OUTBOX_ADD, S_OUTBOX_HEAD, S_OUTBOX_SCAN, S_OUTBOX_DELETE,
    S_OUTBOX_COUNT, S_OUTBOX_DELETE_RANGE,
    S_INBOUND_GET, S_INBOUND_ADD, S_INBOUND_DONE, S_INBOUND_PRUNE,
    S_OCC_PUT, S_OCC_GET, S_OCC_DELETE, S_OCC_LIST, S_OCC_COUNT_GHOST,
    S_MEMBER_PUT, S_MEMBER_DELETE, S_MEMBER_LIST, S_MEMBER_CLEAR,
    S_MEMBER_GET,
    S_ROOM_FIND_PORTAL, S_ROOM_SUBJECT_GET, S_ROOM_SUBJECT_SET,
    S_ROOM_LAST_TS,
    S_PU_PUT, S_PU_GET, S_PU_BY_NICK, S_PU_DELETE, S_PU_ALL,
    S_MSG_SET_STANZA,
    S_REACT_PUT, S_REACT_LIST, S_REACT_BY_EVENT, S_REACT_DELETE,
    S_MSG_ORDER, S_MSG_LAST_FROM_XMPP, S_READ_ADVANCE, S_READ_GET,
    S_PRES_PUT, S_PRES_GET, S_PRES_SUB_PUT, S_PRES_SUB_DELETE,
    S_PRES_WATCHERS, S_PRES_ROOMS, S_PRES_PRESENT,
    S_AVATAR_GET, S_AVATAR_PUT, S_AVATAR_OF_GET, S_AVATAR_OF_PUT,
    S_MEMBER_BY_NICK, S_GHOST_ROOMS, S_OUTBOX_NEXT_ID,
    S_INBOUND_SENDERS, S_SETTING_GET, S_SETTING_PUT,
    S_COUNT
};

#endif
