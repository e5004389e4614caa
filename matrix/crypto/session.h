/* Olm sessions (libolm): the pairwise channel between two devices that
 * carries room keys. */
#ifndef ISTHMUS_MATRIX_CRYPTO_SESSION_H
#define ISTHMUS_MATRIX_CRYPTO_SESSION_H

#include "matrix/crypto/account.h"

#include <stdbool.h>

struct mx_session;

/* Olm message types: a pre-key message opens a session, a normal one
 * continues it. */
enum { MX_OLM_PREKEY = 0, MX_OLM_MESSAGE = 1 };

void mx_session_free(struct mx_session *s);
/* Caller frees. */
char *mx_session_pickle(const struct mx_session *s);
struct mx_session *mx_session_unpickle(const char *pickle, const char **err);
/* The session's id (base64). Owned by s. */
const char *mx_session_id(const struct mx_session *s);

/* The session a pre-key message from sender_curve opens, taking the
 * one-time key it used out of the account (save the account too). NULL
 * with *err when body is no pre-key message for this account. */
struct mx_session *mx_session_inbound(struct mx_account *a,
                                      const char *sender_curve,
                                      const char *body, const char **err);
/* Whether a pre-key message belongs to this session. */
bool mx_session_matches(struct mx_session *s, const char *sender_curve,
                        const char *body);
/* The plaintext (caller frees), or NULL with *err: a message that is not
 * this session's fails here. */
char *mx_session_decrypt(struct mx_session *s, int type, const char *body,
                         const char **err);

/* A session towards a device, from its identity key and a one-time key
 * claimed from it. NULL with *err when the keys are not keys. */
struct mx_session *mx_session_outbound(struct mx_account *a,
                                       const char *their_curve,
                                       const char *their_one_time_key,
                                       const char **err);
/* Encrypts plaintext: *type (MX_OLM_PREKEY until the other side has
 * answered) and the body (caller frees). */
char *mx_session_encrypt(struct mx_session *s, const char *plaintext,
                         int *type);

#endif
