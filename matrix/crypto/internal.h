/* What matrix/crypto/'s files share among themselves: the pickle key and the one way a
 * broken invariant ends. */
#ifndef ISTHMUS_MATRIX_CRYPTO_INTERNAL_H
#define ISTHMUS_MATRIX_CRYPTO_INTERNAL_H

#include <stddef.h>

/* libolm encrypts its pickles under a key. Ours is fixed and public: the
 * pickles are sealed by the store under the operator's key (store/seal.c),
 * which is the protection that counts; one key to keep, not two. */
#define MX_PICKLE_KEY "isthmus"
#define MX_PICKLE_KEY_LEN (sizeof MX_PICKLE_KEY - 1)

/* Logs what failed and aborts: for libolm errors that only a programming
 * error or corrupt memory can cause. */
_Noreturn void mx_crypto_fatal(const char *what, const char *olm_error);

#endif
