#!/usr/bin/env bash
# Builds the example modules (C, compiled to ET_REL with clang and `ld.lld -r -T module.lds`, as
# Linux builds a .ko) and packs them into a newc cpio initrd for `slide boot --initrd`.
# Usage: Kernel/modules/build.sh OUTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
mkdir -p "$out/initrd/lib/modules"
for src in "$here"/*.c; do
  name=$(basename "$src" .c)
  clang --target=aarch64-linux-gnu -O2 -ffreestanding -fno-pic -fno-stack-protector -mgeneral-regs-only \
        -fno-asynchronous-unwind-tables -fno-unwind-tables -c "$src" -o "$out/$name.o"
  ld.lld -r -T "$here/module.lds" "$out/$name.o" -o "$out/$name.ko"
  cp "$out/$name.ko" "$out/initrd/lib/modules/"
done
(cd "$out/initrd" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) > "$out/initrd.cpio.tmp"
mv "$out/initrd.cpio.tmp" "$out/initrd.cpio"
