#include "matrix/crypto/internal.h"

#include "common/log.h"

#include <stdlib.h>

void mx_crypto_fatal(const char *what, const char *olm_error)
{
    log_error("crypto: %s failed: %s", what, olm_error);
    abort();
}
