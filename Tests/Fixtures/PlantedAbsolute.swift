// Planted into the pre-relocation half of the kernel by a test: a table of pointers (each an
// R_AARCH64_ABS64 in the object, a RELATIVE entry once linked) read by an entry point that
// would run before relocation. `slide relacheck` must fail the build.

let plantedNames: [StaticString] = ["before", "relocation"]

@c(slide_planted)
func slidePlanted(_ i: Int) -> Int { plantedNames[i & 1].utf8CodeUnitCount }
