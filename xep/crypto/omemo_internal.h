/* Shared by the two files behind omemo_crypto.h; nothing else includes
 * libomemo-c. */
#ifndef ISTHMUS_XEP_CRYPTO_OMEMO_INTERNAL_H
#define ISTHMUS_XEP_CRYPTO_OMEMO_INTERNAL_H

#include <omemo/curve.h>
#include <omemo/key_helper.h>
#include <omemo/protocol.h>
#include <omemo/session_builder.h>
#include <omemo/session_cipher.h>
#include <omemo/session_pre_key.h>
#include <omemo/signal_protocol.h>

struct omemo_lib {
    signal_context *ctx;
};

#endif
