/* fuzz_threat_list: threat lists (floe_cidr_set_add_list: one IP or CIDR a line, comments,
 * blanks, CRLF), skipping bad lines as the CLI does, then the longest-prefix structure built
 * from them. Properties: a bad line is reported inside the text; every entry kept, written back
 * as text, parses again and its own first address is found in the built set, under an entry
 * no wider than itself (the longest prefix wins); the set overlaps itself when not empty. */
#include <string.h>

#include "floe_cidr.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_copy(data, size);
    floe_cidr_set *set = text ? floe_cidr_set_new() : NULL;
    if (!set) {
        free(text);
        return 0;
    }
    size_t pos = 0;
    while (pos <= size) {
        uint64_t bad = 0;
        floe_status st = floe_cidr_set_add_list(set, text + pos, size - pos, &bad);
        if (st != FLOE_ERR_FORMAT) break;
        FUZZ_CHECK(bad >= 1);
        size_t at = pos;
        for (uint64_t l = 1; l < bad; l++) {
            const char *nl = memchr(text + at, '\n', size - at);
            FUZZ_CHECK(nl != NULL); /* the bad line is inside the text */
            at = (size_t)(nl - text) + 1;
        }
        const char *nl = memchr(text + at, '\n', size - at);
        if (!nl) break;
        pos = (size_t)(nl - text) + 1;
    }
    if (floe_cidr_set_build(set) == FLOE_OK) {
        const size_t n = floe_cidr_set_count(set);
        for (size_t i = 0; i < n && i < 64; i++) {
            char entry[FLOE_CIDR_STRLEN];
            floe_cidr_set_entry_text(set, i, entry);
            const char *slash = strchr(entry, '/');
            FUZZ_CHECK(slash != NULL);
            floe_addr first;
            FUZZ_CHECK(floe_addr_parse(entry, (size_t)(slash - entry), &first));
            floe_cidr_set *again = floe_cidr_set_new();
            if (again) {
                FUZZ_CHECK(floe_cidr_set_add_text(again, entry, strlen(entry)) == FLOE_OK);
                floe_cidr_set_free(again);
            }
            const long found = floe_cidr_set_lookup(set, &first);
            FUZZ_CHECK(found >= 0 && (size_t)found < n);
            char name[FLOE_CIDR_STRLEN];
            floe_cidr_set_entry_text(set, (size_t)found, name);
            FUZZ_CHECK(atoi(strchr(name, '/') + 1) + (strchr(name, ':') ? 0 : 96) >=
                       atoi(slash + 1) + (strchr(entry, ':') ? 0 : 96));
        }
        if (n > 0) FUZZ_CHECK(floe_cidr_set_overlaps(set, set));
    }
    floe_cidr_set_free(set);
    free(text);
    return 0;
}
