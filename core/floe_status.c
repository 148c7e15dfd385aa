#include "floe_status.h"

const char *floe_status_str(floe_status status) {
    switch (status) {
    case FLOE_OK:
        return "ok";
    case FLOE_ERR_NOMEM:
        return "out of memory";
    case FLOE_ERR_INVALID:
        return "invalid argument";
    case FLOE_ERR_FORMAT:
        return "bad format description";
    case FLOE_ERR_IO:
        return "I/O error";
    case FLOE_ERR_CORRUPT:
        return "corrupt compressed data";
    case FLOE_ERR_TRUNCATED:
        return "truncated compressed data";
    case FLOE_ERR_UNSUPPORTED:
        return "unsupported";
    case FLOE_ERR_INTERRUPTED:
        return "interrupted";
    }
    return "unknown status";
}
