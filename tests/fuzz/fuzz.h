/* fuzz.h: what the libFuzzer harnesses share. Each harness is one LLVMFuzzerTestOneInput; a
 * broken property aborts with a message, which libFuzzer (and standalone.c, which replays
 * files through the same function in the ordinary builds) reports as a crash. */
#ifndef FLOE_FUZZ_H
#define FLOE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A copy of data[0..size) in a block of exactly that size, so that reading past its end is an
 * ASan error rather than a read of the fuzzer's own buffer (NULL only when out of memory). */
static inline char *fuzz_copy(const uint8_t *data, size_t size) {
    char *copy = malloc(size ? size : 1);
    if (copy && size) __builtin_memcpy(copy, data, size);
    return copy;
}

#endif
