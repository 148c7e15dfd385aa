#include "floe_field.h"

#include <string.h>

typedef struct field_info {
    const char *name;
    uint8_t name_len;
    uint8_t version;
    uint8_t type;
} field_info;

static const field_info field_table[FLOE_FIELD_COUNT] = {
#define FLOE_FIELD_INFO_(id, name, ver, type) {name, sizeof(name) - 1, ver, type},
    FLOE_FIELD_TABLE(FLOE_FIELD_INFO_)
#undef FLOE_FIELD_INFO_
};

_Static_assert(FLOE_FIELD_COUNT <= 64, "field sets are 64-bit masks");

const char *floe_field_name(floe_field field) {
    return (unsigned)field < FLOE_FIELD_COUNT ? field_table[field].name : NULL;
}

int floe_field_version(floe_field field) {
    return (unsigned)field < FLOE_FIELD_COUNT ? field_table[field].version : 0;
}

floe_type floe_field_type(floe_field field) {
    return (unsigned)field < FLOE_FIELD_COUNT ? (floe_type)field_table[field].type : FLOE_T_STR;
}

floe_field floe_field_lookup(const char *name, size_t name_len) {
    /* Headers are rare (one a file), so a linear pass over 60 names is plenty. */
    for (int i = 0; i < FLOE_FIELD_COUNT; i++) {
        if (field_table[i].name_len == name_len && memcmp(field_table[i].name, name, name_len) == 0)
            return (floe_field)i;
    }
    return FLOE_F_UNKNOWN;
}

static bool is_list_separator(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',';
}

bool floe_field_list_next(const char *text, size_t text_len, size_t *pos, const char **word,
                          size_t *word_len) {
    size_t i = *pos;
    while (i < text_len && is_list_separator(text[i]))
        i++;
    size_t start = i;
    while (i < text_len && !is_list_separator(text[i]))
        i++;
    *pos = i;
    *word = text + start;
    *word_len = i - start;
    return i > start;
}

const char *floe_enum_word(floe_field field, uint8_t value) {
    static const char *const action[] = {NULL, "ACCEPT", "REJECT"};
    static const char *const log_status[] = {NULL, "OK", "NODATA", "SKIPDATA"};
    static const char *const type[] = {NULL, "IPv4", "IPv6", "EFA"};
    static const char *const direction[] = {NULL, "ingress", "egress"};
    switch (field) {
    case FLOE_F_ACTION:
        return value < 3 ? action[value] : NULL;
    case FLOE_F_LOG_STATUS:
        return value < 4 ? log_status[value] : NULL;
    case FLOE_F_TYPE:
        return value < 4 ? type[value] : NULL;
    case FLOE_F_FLOW_DIRECTION:
        return value < 3 ? direction[value] : NULL;
    default:
        return NULL;
    }
}
