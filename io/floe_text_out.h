/* floe_text_out.h: one text value as a CSV field (RFC 4180: quoted when it holds a comma, a
 * quote or a line break, quotes doubled) or a JSON string (quote, backslash and control
 * characters escaped), for the small tables written through stdio (run table, findings). The
 * text must already be valid UTF-8 (floe_utf8_clean). */
#ifndef FLOE_TEXT_OUT_H
#define FLOE_TEXT_OUT_H

#include <stdio.h>

void floe_put_csv_text(FILE *out, const char *s);
void floe_put_json_text(FILE *out, const char *s);

#endif
