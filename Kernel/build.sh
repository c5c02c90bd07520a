#!/usr/bin/env bash
# Builds the Slide kernel ELF: Embedded Swift (two modules, each with SlideCore: SlideEarly runs
# before relocation and must pass `slide relacheck`; SlideKernel runs after), the assembly in
# Kernel/Asm/ and Kernel/Late/runtime.c, linked by ld.lld as a PIE at KIMAGE_VADDR. `slide mkimage`
# then makes the Image. The folders are the split: SlideEarly is every .swift file of Kernel/Early/
# and Kernel/Shared/, SlideKernel every .swift file of Kernel/Late/ and Kernel/Shared/.
# Usage: Kernel/build.sh OUTDIR [--relr] [--base VA] [--granule 4k|16k|64k]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1; shift
relr=no; base=; granule=4k  # base: KIMAGE_VADDR_DEFAULT below, from SlideCore
while [ $# -gt 0 ]; do
  case $1 in
    --relr) relr=yes ;;
    --base) base=$2; shift ;;
    --granule) granule=$2; shift ;;
    *) echo "build.sh: unknown option $1" >&2; exit 64 ;;
  esac
  shift
done
case $granule in
  4k) page=4096; gdef=() ;;
  16k) page=16384; gdef=(-D GRANULE_16K) ;;
  64k) page=65536; gdef=(-D GRANULE_64K) ;;
  *) echo "build.sh: --granule takes 4k, 16k or 64k" >&2; exit 64 ;;
esac
mkdir -p "$out"
slide=${SLIDE:-.build/debug/slide}
core=$(find Sources/SlideCore -name '*.swift' | sort)
# The assembly's offsets into the Swift structs (Kernel/Asm/asm-offsets.h) must be the Swift layout:
# the header is generated again from Kernel/Shared/BootABI.swift on the host and compared
# (ASM_OFFSETS_H points the check at another header: a test proves a wrong one stops the build).
# The generator is compiled with SlideCore, so the header also carries SlideCore's constants.
header=${ASM_OFFSETS_H:-Kernel/Asm/asm-offsets.h}
gen=.build/kernel/asm-offsets-gen
if [ ! -x "$gen" ] || [ -n "$(find Kernel/Shared/BootABI.swift Kernel/asm-offsets Sources/SlideCore -newer "$gen" -name '*.swift')" ]; then
  mkdir -p .build/kernel && swiftc $core Kernel/Shared/BootABI.swift Kernel/asm-offsets/main.swift -o "$gen.tmp" && mv "$gen.tmp" "$gen"
fi
"$gen" > "$out/asm-offsets.h"
if ! diff -u "$header" "$out/asm-offsets.h" >&2; then
  echo "build.sh: $header disagrees with the Swift layout of Kernel/Shared/BootABI.swift (above: -header, +Swift); regenerate it: $gen > Kernel/Asm/asm-offsets.h" >&2
  exit 1
fi
# KIMAGE_VADDR's one definition is SlideKASLR.defaultLinkBase: its default comes through the header.
if [ -z "$base" ]; then
  base=$(sed -n 's/^#define KIMAGE_VADDR_DEFAULT \(0x[0-9a-f]*\).*/\1/p' "$out/asm-offsets.h")
  [ -n "$base" ] || { echo "build.sh: no KIMAGE_VADDR_DEFAULT in $out/asm-offsets.h" >&2; exit 1; }
fi
# The PE/COFF file alignment kernel.lds pads the Image's data to: SlideCore's PECOFF.fileAlignment.
pe_align=$(sed -n 's/^#define PE_FILE_ALIGNMENT \(0x[0-9a-f]*\).*/\1/p' "$out/asm-offsets.h")
[ -n "$pe_align" ] || { echo "build.sh: no PE_FILE_ALIGNMENT in $out/asm-offsets.h" >&2; exit 1; }
# The Embedded Swift flags (shared with `make embedded`), then the kernel's own.
mapfile -t swift_flags < Kernel/embedded-swift.flags
swift_flags+=(-Xfrontend -function-sections ${gdef[@]+"${gdef[@]}"})
# Code that runs with the MMU off sees Device memory, where an unaligned access faults: SlideEarly
# and runtime.c are compiled with strict alignment, and the build proves the flag takes effect on a
# probe (an unaligned 8-byte load must become byte loads, not one ldr/ldur).
strict=(-Xcc -mstrict-align)
[ "${SLIDE_TEST_NO_STRICT_ALIGN:-}" != 1 ] || strict=()  # a test proves the check below catches it
probe="$out/strict-align-probe"
printf '@c(slide_probe_unaligned) public func probe(_ p: UnsafeRawPointer) -> UInt64 { p.loadUnaligned(fromByteOffset: 1, as: UInt64.self) }\n' > "$probe.swift"
swiftc "${swift_flags[@]}" "${strict[@]}" -module-name StrictAlignProbe "$probe.swift" -c -o "$probe.o"
if ! llvm-objdump -d "$probe.o" | awk '/<slide_probe_unaligned>:/,/ret/' | grep -q 'ldrb'; then
  echo "build.sh: strict alignment is not in effect for the pre-MMU Swift (the probe's unaligned load is one instruction)" >&2
  exit 1
fi
# Two modules, one per folder, each with Kernel/Shared/ compiled in: what runs before relocation
# (Kernel/Early/: checked by relacheck, strict alignment) and the rest (Kernel/Late/).
early=$(find Kernel/Early -name '*.swift' | sort)
late=$(find Kernel/Late -name '*.swift' | sort)
shared=$(find Kernel/Shared -name '*.swift' | sort)
swiftc "${swift_flags[@]}" "${strict[@]}" -module-name SlideEarly $early $shared ${EXTRA_EARLY_SWIFT:-} $core -c -o "$out/early.o"
swiftc "${swift_flags[@]}" -module-name SlideKernel $late $shared $core -c -o "$out/kernel-swift.o"
"$slide" relacheck "$out/early.o" --root slide_early --root slide_relocate --root slide_exception --root slide_fixup --root slide_place --root slide_efi_main ${EXTRA_EARLY_ROOTS:-}
# The assembly, one file per concern (Kernel/Asm/), linked first in name order: kernel.lds puts the
# Image header (.head.text, head.S) first and the boot path (.text.boot: head.S, then vectors.S)
# at the start of .text; nothing depends on the order of the rest.
asm_objects=()
for src in $(find Kernel/Asm -name '*.S' | sort); do
  obj="$out/asm-$(basename "$src" .S).o"
  clang --target=aarch64-none-elf -DPAGE_SIZE=$page -c "$src" -o "$obj"
  asm_objects+=("$obj")
done
clang --target=aarch64-none-elf -c Kernel/Late/ksymtab.S -o "$out/ksymtab.o"
clang --target=aarch64-none-elf -O2 -ffreestanding -fno-builtin -fPIE -mgeneral-regs-only -mstrict-align -DPAGE_SIZE=$page -c Kernel/Late/runtime.c -o "$out/runtime.o"
link=(-pie -z notext --no-dynamic-linker -z norelro --gc-sections --defsym=KIMAGE_VADDR=$base --defsym=PAGE_SIZE=$page --defsym=PE_FILE_ALIGNMENT=$pe_align -z max-page-size=$page -T Kernel/kernel.lds
      "${asm_objects[@]}" "$out/ksymtab.o" "$out/early.o" "$out/kernel-swift.o" "$out/runtime.o"
      "$(dirname "$(command -v swiftc)")/../lib/swift/embedded/aarch64-none-none-elf/libswiftUnicodeDataTables.a"
      -o "$out/slide-kernel.elf")
if [ $relr = yes ]; then link+=(-z pack-relative-relocs); else link+=(--no-apply-dynamic-relocs); fi
ld.lld "${link[@]}"
