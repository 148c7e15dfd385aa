/* floe_cidr.h: a set of IPv4 and IPv6 prefixes with longest-prefix lookup: threat lists,
 * internal ranges, allow-lists.
 *
 * Entries are added as prefixes (an address and a length), then the set is built once and only
 * read after, by any number of threads. Lookup returns the longest entry that contains the
 * address (its index in insertion order), so a list holding both 185.220.101.0/24 and
 * 185.220.101.47 names the /32 for that address and the /24 for its neighbours.
 *
 * How: IPv4 lives in the IPv4-mapped part of the 128-bit space (::ffff:a.b.c.d, prefix 96+n), as
 * floe_addr stores it. Building paints the nested prefixes into sorted, disjoint intervals, each
 * labelled with the innermost prefix covering it, so a lookup is one binary search. For IPv4 a
 * table of 65,536 entries, one per /16, narrows that search to the intervals touching the
 * address's /16: a list of a million addresses costs a few comparisons a lookup. */
#ifndef FLOE_CIDR_H
#define FLOE_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_addr.h"
#include "floe_status.h"

typedef struct floe_cidr_set floe_cidr_set;

/* An empty set; NULL when out of memory. */
floe_cidr_set *floe_cidr_set_new(void);
void floe_cidr_set_free(floe_cidr_set *set);

/* Adds addr/len, len in 0..128 over the 16-byte form (an IPv4 /n is 96 + n). Bits past the
 * length are ignored. Only before floe_cidr_set_build. */
floe_status floe_cidr_set_add(floe_cidr_set *set, const floe_addr *addr, unsigned len);

/* Parses one entry, "10.0.0.0/8", "192.0.2.1", "2001:db8::/32" or "::1" (no spaces), and adds
 * it. FLOE_ERR_FORMAT when it is not an address with an optional prefix length in range. */
floe_status floe_cidr_set_add_text(floe_cidr_set *set, const char *text, size_t len);

/* Adds every entry of a list in the threat-list form: one IP or CIDR a line, '#' starts a
 * comment, blank lines and surrounding spaces ignored, CRLF accepted. On a bad line returns
 * FLOE_ERR_FORMAT with *bad_line (1-based) set, having added the lines before it. */
floe_status floe_cidr_set_add_list(floe_cidr_set *set, const char *text, size_t len,
                                   uint64_t *bad_line);

/* Builds the lookup structure; the set is read-only afterwards. */
floe_status floe_cidr_set_build(floe_cidr_set *set);

/* Entries added (duplicates included). */
size_t floe_cidr_set_count(const floe_cidr_set *set);

/* The index (insertion order) of the longest entry containing addr, or -1. Built sets only. */
long floe_cidr_set_lookup(const floe_cidr_set *set, const floe_addr *addr);

static inline bool floe_cidr_set_contains(const floe_cidr_set *set, const floe_addr *addr) {
    return floe_cidr_set_lookup(set, addr) >= 0;
}

/* Whether some address is in both built sets. */
bool floe_cidr_set_overlaps(const floe_cidr_set *a, const floe_cidr_set *b);

/* Entry i as text, "10.0.0.0/8" (an IPv4 entry in IPv4 form), into out (FLOE_CIDR_STRLEN). */
#define FLOE_CIDR_STRLEN (FLOE_ADDR_STRLEN + 4)
void floe_cidr_set_entry_text(const floe_cidr_set *set, size_t i, char *out);

#endif
