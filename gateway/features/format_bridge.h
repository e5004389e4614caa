/* Formatting and mentions crossing over: the gateway half of
 * gateway/core/formatting.c, which resolves the addresses a mention names
 * (ids mapping, the store) that the pure converters take ready-made. */
#ifndef ISTHMUS_FORMAT_BRIDGE_H
#define ISTHMUS_FORMAT_BRIDGE_H

#include "gateway/core/formatting.h"

#include <jansson.h>
#include <stddef.h>

struct gateway;
struct xmsg;
struct xmsg_ref;

/* XMPP -> Matrix: gives content (built by relations_to_matrix for m;
 * for an edit, its m.new_content too) a formatted_body: m's XHTML-IM
 * sanitised when it has one, else its XEP-0393 styling, with XEP-0372
 * mentions of people the gateway can name as pills and in m.mentions.
 * Leaves content alone when the message has no formatting. */
void format_to_matrix(struct gateway *gw, const struct xmsg *m,
                      const char *conversation, json_t *content);

#endif
