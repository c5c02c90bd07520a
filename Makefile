# Slide: `make demo` shows it working on a real Debian arm64 kernel; `make test` runs every test.
# Both install what is missing (Debian packages, the Debian kernel into testdata/).

SWIFT     ?= swift
KERNEL    := testdata/debian/vmlinuz
SLIDE     := .build/release/slide
EMBEDDED  := -target aarch64-none-none-elf -enable-experimental-feature Embedded -wmo -Osize \
             -parse-as-library -Xfrontend -disable-stack-protector
CORE_SRC  := $(shell find Sources/SlideCore -name '*.swift' | sort)

.PHONY: all deps testdata build release embedded test demo bench clean

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

test: deps testdata embedded
	SLIDE_REQUIRE_TESTDATA=1 $(SWIFT) test

demo: release testdata
	@echo "== slide inspect $(KERNEL)"
	@$(SLIDE) inspect $(KERNEL)
	@echo
	@echo "== slide verify $(KERNEL)"
	@$(SLIDE) verify $(KERNEL)
	@echo
	@echo "== slide relocate $(KERNEL) --slide 0x1000000"
	@$(SLIDE) relocate $(KERNEL) --slide 0x1000000 -o .build/vmlinuz.slid

bench: deps testdata
	@Benchmarks/run $(KERNEL)

clean:
	rm -rf .build
