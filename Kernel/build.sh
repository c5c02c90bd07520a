#!/usr/bin/env bash
# Builds the Slide kernel: Embedded Swift (the kernel's files + SlideCore, one module), boot.S
# and runtime.c, linked by ld.lld as a PIE at KIMAGE_VADDR, then `slide mkimage`.
# Usage: Kernel/build.sh OUTDIR [--relr] [--base VA]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1; shift
relr=no; base=0xffff800008000000
while [ $# -gt 0 ]; do
  case $1 in
    --relr) relr=yes ;;
    --base) base=$2; shift ;;
    *) echo "build.sh: unknown option $1" >&2; exit 64 ;;
  esac
  shift
done
mkdir -p "$out"
core=$(find Sources/SlideCore -name '*.swift' | sort)
swiftc -target aarch64-none-none-elf -enable-experimental-feature Embedded -wmo -Osize -parse-as-library \
  -Xfrontend -disable-stack-protector -Xfrontend -function-sections -Xcc -fPIE \
  -module-name SlideKernel Kernel/*.swift $core -c -o "$out/kernel-swift.o"
clang --target=aarch64-none-elf -c Kernel/boot.S -o "$out/boot.o"
clang --target=aarch64-none-elf -O2 -ffreestanding -fno-builtin -fPIE -mgeneral-regs-only -c Kernel/runtime.c -o "$out/runtime.o"
link=(-pie -z notext --no-dynamic-linker -z norelro --gc-sections --defsym=KIMAGE_VADDR=$base -T Kernel/kernel.lds
      "$out/boot.o" "$out/kernel-swift.o" "$out/runtime.o"
      "$(dirname "$(command -v swiftc)")/../lib/swift/embedded/aarch64-none-none-elf/libswiftUnicodeDataTables.a"
      -o "$out/slide-kernel.elf")
if [ $relr = yes ]; then link+=(-z pack-relative-relocs); else link+=(--no-apply-dynamic-relocs); fi
ld.lld "${link[@]}"
