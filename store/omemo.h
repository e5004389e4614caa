/* The store's OMEMO state (store/omemo.c): each puppet's OMEMO device
 * (identity, pre-keys, sessions, the identities of the devices it talks
 * to), as opaque records under (owner, kind, name, id), and the device
 * lists of the XMPP users the gateway encrypts to. Included by store.h.
 *
 * Every record is sealed (store/seal.c) on the way in: without the
 * operator's key file the database holds no key that decrypts anything.
 * Without a store key set, writes fail (-1) rather than keep keys in
 * clear. */
#ifndef ISTHMUS_STORE_OMEMO_H
#define ISTHMUS_STORE_OMEMO_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* 1 with *data (malloc'd, the caller frees) and *len, 0 none, -1 error
 * (also a record that does not open). */
int store_omemo_get(struct store *st, const char *owner, int kind,
                    const char *name, uint32_t id, uint8_t **data,
                    size_t *len);
int store_omemo_put(struct store *st, const char *owner, int kind,
                    const char *name, uint32_t id, const uint8_t *data,
                    size_t len);
int store_omemo_del(struct store *st, const char *owner, int kind,
                    const char *name, uint32_t id);
/* The ids under (owner, kind, name), ascending: *ids malloc'd (the
 * caller frees), their count, or -1. */
int store_omemo_ids(struct store *st, const char *owner, int kind,
                    const char *name, uint32_t **ids);

#endif
