# Slide: `make demo` shows it working on real Debian arm64 kernels; `make test` runs every test.
# Both install what is missing (Debian packages, the Debian kernel into testdata/).

SWIFT     ?= swift
KERNEL    := testdata/debian/vmlinuz
SUITES    := bullseye bookworm trixie sid
SLIDE     := .build/release/slide
# The Embedded Swift flags, one place for the kernel build and this check: Kernel/embedded-swift.flags.
EMBEDDED  := $(shell cat Kernel/embedded-swift.flags)
CORE_SRC  := $(shell find Sources/SlideCore -name '*.swift' | sort)

.PHONY: all deps testdata build release embedded kernel test demo soak bench install install-files clean fuzz fuzz-build fuzz-corpus fuzz-smoke

all: build

deps:
	@scripts/install-deps

testdata: deps
	@scripts/fetch-testdata

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product slide

# SlideCore must compile as Embedded Swift for the kernel: checked on every test run.
embedded:
	@mkdir -p .build/embedded
	swiftc $(EMBEDDED) -module-name SlideCore $(CORE_SRC) -c -o .build/embedded/SlideCore.o
	@echo "embedded: SlideCore compiles for aarch64-none-none-elf ($$(stat -c %s .build/embedded/SlideCore.o) bytes)"

# The Slide kernel: RELA, RELR (from the linker), and RELA linked at another base (the
# completeness test compares the two links), with 4 KiB pages; RELA and RELR with 16 and 64 KiB
# pages; and the example modules in a cpio initrd.
KOUT := .build/kernel
kernel: build
	Kernel/build.sh $(KOUT)/rela
	.build/debug/slide mkimage $(KOUT)/rela/slide-kernel.elf -o $(KOUT)/rela/Image
	Kernel/build.sh $(KOUT)/relr --relr
	.build/debug/slide mkimage $(KOUT)/relr/slide-kernel.elf -o $(KOUT)/relr/Image
	Kernel/build.sh $(KOUT)/rela-alt --base 0xffff800010000000
	.build/debug/slide mkimage $(KOUT)/rela-alt/slide-kernel.elf -o $(KOUT)/rela-alt/Image
	for g in 16k 64k; do \
	  Kernel/build.sh $(KOUT)/rela-$$g --granule $$g && .build/debug/slide mkimage $(KOUT)/rela-$$g/slide-kernel.elf -o $(KOUT)/rela-$$g/Image && \
	  Kernel/build.sh $(KOUT)/relr-$$g --granule $$g --relr && .build/debug/slide mkimage $(KOUT)/relr-$$g/slide-kernel.elf -o $(KOUT)/relr-$$g/Image || exit 1; \
	done
	Kernel/modules/build.sh $(KOUT)/modules

test: deps testdata embedded kernel fuzz-smoke
	SLIDE_REQUIRE_TESTDATA=1 SLIDE_REQUIRE_KERNEL=1 $(SWIFT) test
	scripts/check-install .build/debug/slide

# Coverage-guided fuzzing (README "Fuzzing"): libFuzzer targets in Fuzz/ (a package of its own),
# built with libFuzzer and AddressSanitizer. --sanitize=fuzzer makes SwiftPM leave main to
# libFuzzer; -sanitize=fuzzer,address after it is what the compiler keeps (the last -sanitize
# wins). Each product is built alone so the root package's slide and its plugins are not.
FUZZ_TARGETS := elf image kallsyms fdt relr cpio module efimemmap pe
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 5
fuzz-build: deps
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p .build/fuzz/logs; \
	  $(SWIFT) build --package-path Fuzz -c release --build-path .build/fuzz --sanitize=fuzzer \
	    -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing --product fuzz-$$t >.build/fuzz/logs/build-$$t.log 2>&1; \
	  rc=$$?; grep -v "ld.gold: warning: Cannot export local symbol" .build/fuzz/logs/build-$$t.log | tail -n 20; \
	  test $$rc -eq 0 || exit 1; \
	done

fuzz-corpus: testdata
	@scripts/fuzz-corpus

# Each target for FUZZ_SECONDS; non-zero on any crash, which is kept in .build/fuzz/crashes/<target>/.
fuzz: fuzz-build fuzz-corpus
	@scripts/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The bounded run make test does.
fuzz-smoke: fuzz-build fuzz-corpus
	@rm -rf .build/fuzz/smoke
	@FUZZ_WORK=.build/fuzz/smoke FUZZ_LOGS=.build/fuzz/smoke/logs scripts/fuzz $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

demo: release testdata kernel
	@for s in $(SUITES); do \
	  echo "== slide inspect testdata/debian/$$s/vmlinuz (the recognizers, the link base, the tables)"; \
	  $(SLIDE) inspect testdata/debian/$$s/vmlinuz | grep -E "^(Linux version|Link base|RELA table|RELR table|  found by|  entries|  places|Recognizers|  [a-z-]+:|Disagreement)"; \
	  $(SLIDE) verify testdata/debian/$$s/vmlinuz | tail -n 1; \
	  echo; \
	done
	@echo "== slide relocate testdata/debian/trixie/vmlinuz --slide 0x1000000 (RELA, then RELR, as 6.9+ does)"
	@$(SLIDE) relocate testdata/debian/trixie/vmlinuz --slide 0x1000000 -o .build/vmlinuz.slid
	@echo
	@echo "== slide symbols: kallsyms from each raw Image (5.10 relative-base through RELA, 6.12 reordered, 7.x place-relative)"
	@for s in $(SUITES); do printf '%-9s %7s symbols  ' $$s "$$($(SLIDE) symbols testdata/debian/$$s/vmlinuz | wc -l)"; $(SLIDE) symbols testdata/debian/$$s/vmlinuz | grep ' T schedule$$'; done
	@echo
	@echo "== slide relocate --format elf: sid's kernel at +16 MiB, with sections and symbols, disassembled by name"
	@$(SLIDE) relocate testdata/debian/sid/vmlinuz --slide 0x1000000 --format elf -o .build/sid.elf | tail -n 2
	@llvm-objdump -d --disassemble-symbols=do_sys_open .build/sid.elf | sed -n '5,10p'
	@echo
	@echo "== slide kaslr, then slide boot: one seed, trixie's 6.12 on cortex-a57 (48-bit VA) and on max (LPA2: 52-bit VA)"
	@$(SLIDE) kaslr testdata/debian/trixie/vmlinuz --seed 0x123456789abcdef0 --cpu max --entropy | grep -E "^(Model|CPU|Kernel Offset|PHYS_OFFSET|Entropy)"
	@$(SLIDE) boot testdata/debian/trixie/vmlinuz --seed 0x123456789abcdef0 --memory 2048
	@$(SLIDE) boot testdata/debian/trixie/vmlinuz --seed 0x123456789abcdef0 --memory 2048 --cpu max
	@echo
	@echo "== slide link-module --all: every module of sid's 7.x package (.ko.xz), 1 GiB below the kernel (PLTs)"
	@$(SLIDE) link-module --all testdata/debian/sid/modules --at 0xffff800040000000 --undefined-at 0xffff800080000000 | grep -E "^(modules|relocations|plt|failure)"
	@echo
	@echo "== the Slide kernel: three boots (QEMU -kernel with a seed and a module in the initrd; direct at a misaligned address; U-Boot booti)"
	@scripts/demo-boots $(SLIDE) "$(KOUT)/rela/Image --seed 0x5eed5eed --initrd $(KOUT)/modules/initrd.cpio" \
	  "$(KOUT)/relr/Image --loader direct --at 0x48201000 --seed 0xfeedface" \
	  "$(KOUT)/rela/Image --loader u-boot --at 0x45000000 --seed 0x12345678"
	@echo
	@echo "== 64 KiB pages on four CPUs (PSCI), and the linear map slide pagetables predicts for that RAM"
	@$(SLIDE) boot $(KOUT)/rela-64k/Image --seed 0x64 --smp 4 --memory 4096 | grep -E "slide: (granule|phys_offset|linear_map|extable_test|cpus_online|done)"
	@$(SLIDE) pagetables --memory 0x40000000:4G --granule 64k

# make soak [N=200] [SEED=0x…]: N boots of the Slide kernel, every parameter drawn from one master
# seed (printed first; SEED= replays a run), each checked in process against SlideKit's model
# (Sources/slide-soak); failures kept in .build/soak/MASTER/fail-I.txt with the `slide boot`
# command line that replays them.
N    ?= 200
SEED ?=
soak: release kernel
	$(SWIFT) build -c release --product slide-soak
	@KOUT=$(KOUT) .build/release/slide-soak $(N) $(SEED)

# make install [PREFIX=/usr/local] [DESTDIR=…]: slide, its bash/zsh/fish completions (generated by
# swift-argument-parser) and its man page (the package's generate-manual plugin).
PREFIX ?= /usr/local
install: release install-files

# The files alone, from $(SLIDE) as it is (the Installation test runs this with the debug binary).
install-files:
	@mkdir -p .build/install
	$(SLIDE) --generate-completion-script bash > .build/install/slide.bash
	$(SLIDE) --generate-completion-script zsh > .build/install/_slide
	$(SLIDE) --generate-completion-script fish > .build/install/slide.fish
	$(SWIFT) package plugin generate-manual >/dev/null
	install -D -m 755 $(SLIDE) $(DESTDIR)$(PREFIX)/bin/slide
	install -D -m 644 .build/install/slide.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/slide
	install -D -m 644 .build/install/_slide $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_slide
	install -D -m 644 .build/install/slide.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/slide.fish
	install -D -m 644 .build/plugins/GenerateManual/outputs/slide/slide.1 $(DESTDIR)$(PREFIX)/share/man/man1/slide.1
	@echo "installed slide, its completions and slide(1) under $(DESTDIR)$(PREFIX)"

bench: deps testdata
	@Benchmarks/run $(KERNEL)

clean:
	rm -rf .build
