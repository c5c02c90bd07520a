// The structural-scan and seal fixtures: tables and data, no relocation routine at all.
#include "common.S"
