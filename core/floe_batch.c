#include "floe_batch.h"

#include <stdlib.h>
#include <string.h>

size_t floe_type_size(floe_type type) {
    switch (type) {
    case FLOE_T_U8:
    case FLOE_T_ENUM:
        return sizeof(uint8_t);
    case FLOE_T_U16:
        return sizeof(uint16_t);
    case FLOE_T_U64:
        return sizeof(uint64_t);
    case FLOE_T_TIME:
        return sizeof(int64_t);
    case FLOE_T_ADDR:
        return sizeof(floe_addr);
    case FLOE_T_STR:
        return sizeof(floe_slice);
    }
    return 0;
}

floe_status floe_batch_init(floe_batch *batch, uint32_t capacity) {
    memset(batch, 0, sizeof(*batch));
    if (capacity == 0) return FLOE_ERR_INVALID;
    batch->capacity = capacity;
    batch->line_no = calloc(capacity, sizeof(*batch->line_no));
    batch->nulls = calloc(capacity, sizeof(*batch->nulls));
    if (batch->line_no == NULL || batch->nulls == NULL) {
        floe_batch_free(batch);
        return FLOE_ERR_NOMEM;
    }
    return FLOE_OK;
}

floe_status floe_batch_reserve(floe_batch *batch, uint64_t fields) {
    for (int f = 0; f < FLOE_FIELD_COUNT; f++) {
        if (!(fields >> f & 1)) continue;
        if (batch->values[f] == NULL)
            batch->values[f] =
                calloc(batch->capacity, floe_type_size(floe_field_type((floe_field)f)));
        if (batch->values[f] == NULL) return FLOE_ERR_NOMEM;
    }
    batch->present = fields;
    batch->count = 0;
    return FLOE_OK;
}

void floe_batch_free(floe_batch *batch) {
    for (int f = 0; f < FLOE_FIELD_COUNT; f++)
        free(batch->values[f]);
    free(batch->line_no);
    free(batch->nulls);
    memset(batch, 0, sizeof(*batch));
}
