/* fuzz_key_spec: the group-by expression (floe_key_spec_parse: "srcaddr/24,dstport,...") and
 * the distinct-count list (floe_key_spec_parse_distinct), the expressions floe takes from its
 * command line. Properties: no crash; an accepted key has between one and the most parts, and
 * can build a table. */
#include "floe_agg.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    /* The first byte splits the rest into the key and the distinct list. */
    const size_t split = (size - 1) * data[0] / 255;
    char *text = fuzz_copy(data + 1, size - 1);
    if (!text) return 0;
    floe_key_spec spec;
    if (floe_key_spec_parse(text, split, 600, &spec) == FLOE_OK) {
        FUZZ_CHECK(spec.nparts <= FLOE_KEY_MAX_PARTS);
        (void)floe_key_spec_parse_distinct(text + split, size - 1 - split, &spec);
        floe_agg *agg = floe_agg_new(&spec);
        floe_agg_free(agg);
    }
    free(text);
    return 0;
}
