#ifndef SWITCHBOARD_CLIBFUZZER_H
#define SWITCHBOARD_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver, for a program that has its own main: parses libFuzzer's command line and runs `test` on each
/// input. Linked in by `-sanitize=fuzzer`.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*test)(const uint8_t *data, size_t size));

#endif
