/* floe_text.h: checks on text from outside (paths, excerpts of bad lines, string values) before
 * it goes into JSON or another format that must stay valid, and the line reader of floe's own
 * small text formats (threat lists, detector settings), and sizes given on command lines. */
#ifndef FLOE_TEXT_H
#define FLOE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_status.h"

/* Length of the well-formed UTF-8 sequence at p (1..4 bytes, at most n; n > 0), or 0 when the
 * bytes there are not one (a stray continuation byte, an overlong form, a surrogate, past
 * U+10FFFF, a sequence cut short). */
size_t floe_utf8_sequence_len(const unsigned char *p, size_t n);

/* Copies s[0..n) to out keeping its well-formed UTF-8 sequences and writing `replacement`
 * (rlen bytes) for each byte that starts none, so the text is valid UTF-8 in any format.
 * out needs n * max(rlen, 1) bytes; returns the bytes written (no NUL). */
size_t floe_utf8_clean(const char *s, size_t n, const char *replacement, size_t rlen, char *out);

/* The next line of text[0..len) from *pos (advanced past its '\n'), with a '#' comment cut off
 * and surrounding blanks (space, tab, CR, VT, FF) trimmed, as *line / *line_len (possibly
 * empty). False at the end of the text. */
bool floe_text_next_line(const char *text, size_t len, size_t *pos, const char **line,
                         size_t *line_len);

/* Calls fn(ctx, line, line_len) for every line of text that is not empty once comments and
 * blanks are gone (floe_text_next_line). Stops at the first status other than FLOE_OK, returns
 * it and sets *bad_line to that line's number (1-based). */
floe_status floe_text_each_line(const char *text, size_t len,
                                floe_status (*fn)(void *ctx, const char *line, size_t line_len),
                                void *ctx, uint64_t *bad_line);

/* A size like "200M", "1.5G" or "4096": a positive number, optionally with a fraction, then
 * optionally K, M, G or T (either case) as that many `unit`s (1000 for decimal sizes, 1024
 * for binary ones), then optionally B. False when the text is anything else. */
bool floe_text_parse_size(const char *text, double unit, double *bytes);

#endif
