/* Verifications across the gateway (store/trust.c): a person on one side
 * (the verifier: a bare JID or a Matrix id) who compared the devices of
 * someone on the other side (the subject) with the `verify` command, and
 * the devices they were told of since. Included by store.h. */
#ifndef ISTHMUS_STORE_TRUST_H
#define ISTHMUS_STORE_TRUST_H

struct store;

enum store_verification {
    STORE_DEVICE_UNKNOWN = 0,  /* never shown to the verifier */
    STORE_DEVICE_TOLD = 1,     /* announced as new, not verified */
    STORE_DEVICE_VERIFIED = 2,
};

/* The state of one device (a STORE_DEVICE_*), or -1. */
int store_verification_get(struct store *st, const char *verifier,
                           const char *subject, const char *device);
int store_verification_put(struct store *st, const char *verifier,
                           const char *subject, const char *device,
                           enum store_verification state);
/* Who verified any device of subject: *out (malloc'd array of malloc'd
 * strings; the caller frees both), their count, or -1. */
int store_verifiers_of(struct store *st, const char *subject, char ***out);

#endif
