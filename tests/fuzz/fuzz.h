/* The libFuzzer entry point every harness in tests/fuzz defines. `make fuzz` links harnesses
 * with libFuzzer; `make fuzz-replay` links them with replay.c, which feeds each corpus file
 * once. A harness must not keep state between calls and must free everything it allocates. */
#ifndef JIT_FUZZ_H
#define JIT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input of `size` bytes (not NUL-terminated). Always returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
