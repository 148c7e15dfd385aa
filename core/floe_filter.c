#include "floe_filter.h"

#include <string.h>
#include <strings.h>

#define ALL_VALUES 0xff

void floe_filter_all(floe_filter *filter) {
    filter->action = ALL_VALUES;
    filter->log_status = ALL_VALUES;
}

bool floe_filter_is_all(const floe_filter *filter) {
    return filter->action == ALL_VALUES && filter->log_status == ALL_VALUES;
}

/* words[v] names enum value v (words[0], "-", is not accepted as input). */
static floe_status parse_words(const char *text, const char *const *words, unsigned nwords,
                               uint8_t *mask) {
    uint8_t result = 0;
    const char *p = text;
    for (;;) {
        size_t len = strcspn(p, ",");
        if (len == 3 && strncasecmp(p, "all", 3) == 0) {
            result = ALL_VALUES;
        } else {
            unsigned v = 1;
            while (v < nwords && !(strlen(words[v]) == len && strncasecmp(p, words[v], len) == 0))
                v++;
            if (v == nwords) return FLOE_ERR_FORMAT;
            result |= (uint8_t)(1u << v);
        }
        if (p[len] == 0) break;
        p += len + 1;
    }
    *mask = result;
    return FLOE_OK;
}

floe_status floe_filter_parse_action(const char *text, floe_filter *filter) {
    static const char *const words[] = {"-", "accept", "reject"};
    return parse_words(text, words, 3, &filter->action);
}

floe_status floe_filter_parse_log_status(const char *text, floe_filter *filter) {
    static const char *const words[] = {"-", "ok", "nodata", "skipdata"};
    return parse_words(text, words, 4, &filter->log_status);
}

uint32_t floe_filter_select(const floe_filter *filter, const floe_batch *batch, uint32_t *rows) {
    /* A missing column reads as "-" (value 0) for every row. The parser stores 0 for "-". */
    static const uint8_t no_value = 0;
    const uint8_t *action = floe_batch_u8_or_null(batch, FLOE_F_ACTION);
    const uint8_t *log_status = floe_batch_u8_or_null(batch, FLOE_F_LOG_STATUS);
    uint32_t n = 0;
    for (uint32_t i = 0; i < batch->count; i++) {
        unsigned a = action != NULL ? action[i] : no_value;
        unsigned s = log_status != NULL ? log_status[i] : no_value;
        rows[n] = i;
        n += (filter->action >> (a & 7) & 1) & (filter->log_status >> (s & 7) & 1);
    }
    return n;
}
