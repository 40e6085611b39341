// LLVMFuzzerRunDriver is defined by libFuzzer (-sanitize=fuzzer); this target only declares it to Swift.
#include "CLibFuzzer.h"
