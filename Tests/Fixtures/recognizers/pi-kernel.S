// The pi-relocate-c fixture: common.S's header and data; the routine is pi-relocate.c.
#include "common.S"
