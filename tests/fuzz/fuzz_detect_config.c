/* fuzz_detect_config: the detectors' config file (floe_detect_config_parse: one NAME = VALUE
 * a line, durations, numbers, port lists, address lists) and the check that follows it
 * (floe_detect_config_finish). Properties: no crash, no leak, and a rejected file names a line
 * within it with a message. */
#include <string.h>

#include "floe_detect.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_copy(data, size);
    if (!text) return 0;
    floe_detect_config config;
    floe_detect_config_init(&config);
    uint64_t bad_line = 0;
    char err[256] = "";
    floe_status st = floe_detect_config_parse(&config, text, size, &bad_line, err, sizeof err);
    if (st == FLOE_ERR_FORMAT) {
        uint64_t lines = 1;
        for (size_t i = 0; i < size; i++)
            lines += text[i] == '\n';
        FUZZ_CHECK(bad_line >= 1 && bad_line <= lines);
        FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof err) != NULL);
    } else if (st == FLOE_OK) {
        st = floe_detect_config_finish(&config);
        FUZZ_CHECK(st == FLOE_OK || st == FLOE_ERR_FORMAT || st == FLOE_ERR_INVALID ||
                   st == FLOE_ERR_NOMEM);
    }
    floe_detect_config_free(&config);
    free(text);
    return 0;
}
