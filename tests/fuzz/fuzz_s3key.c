/* fuzz_s3key: file paths as S3 lays them out (floe_s3key_parse: account, region, date folders,
 * the file name's flow log id, time and hash; Hive-style and CloudWatch export layouts), the
 * outside text every input's name is. Properties: no crash; every span it returns lies inside
 * the path; a recognised key's time formats as a timestamp. */
#include <string.h>

#include "floe_s3key.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *path = fuzz_copy(data, size);
    if (!path) return 0;
    floe_s3key key;
    const floe_s3key_layout layout = floe_s3key_parse(path, size, &key);
    FUZZ_CHECK(layout == key.layout);
    const floe_s3key_span spans[] = {key.anchor,       key.org_id,   key.account, key.region,
                                     key.flow_log_id,  key.hash,     key.task,    key.log_stream,
                                     key.interface_id, key.file_name};
    for (size_t i = 0; i < sizeof spans / sizeof *spans; i++)
        FUZZ_CHECK(spans[i].len == 0 || (size_t)spans[i].off + spans[i].len <= size);
    if (key.has_time) {
        char buf[32];
        FUZZ_CHECK(floe_s3key_format_time(key.time, buf, sizeof buf) > 0);
    }
    free(path);
    return 0;
}
