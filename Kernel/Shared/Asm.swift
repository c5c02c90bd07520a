// The Swift side of every routine in Kernel/Asm/: one declaration each, grouped by the file that
// defines it. Like the rest of Kernel/Shared/, this file is compiled into both SlideEarly and
// SlideKernel (build.sh), so each module sees the same declarations under the same names; a
// declaration emits no code, and a module that does not call a routine does not reference it.
// Every routine here is position independent (PC-relative addresses, registers, or link_base's
// absolute symbol; the literal pools are in head.S and smp.S only), so Early/ may call any of
// them before relocation.

// layout.S: where things are, as we run (physical before the MMU switch, virtual after).

/// The address the image was linked at (`_text`; SlideKASLR.defaultLinkBase unless build.sh --base chose
/// another): relocation places and the run-time VA are relative to it.
@_silgen_name("link_base") func linkBase() -> UInt64
/// Fills in the image's landmarks (ImageLayout, Shared/BootABI.swift).
@_silgen_name("image_layout") func imageLayout(_ out: UnsafeMutablePointer<ImageLayout>)
/// The address of `boot_info` (BootInfo, Shared/BootABI.swift).
@_silgen_name("boot_info_address") func bootInfoAddress() -> UInt64
/// [the embedded symbol map, its size, the image start].
@_silgen_name("symtab_bounds") func symtabBounds(_ out: UnsafeMutablePointer<(UInt64, UInt64, UInt64)>)

// vectors.S: the exception table and the guarded read.

/// [__start___ex_table, __stop___ex_table, the image start].
@_silgen_name("extable_bounds") func extableBounds(_ out: UnsafeMutablePointer<(UInt64, UInt64, UInt64)>)
/// Reads 8 bytes at `address` into `out`: 0, or -EFAULT (-14) when the load faults.
@_silgen_name("slide_read_u64_nofault") func readNoFault(_ address: UInt64, _ out: UnsafeMutablePointer<UInt64>) -> Int64

// sysregs.S: one system register each.

@_silgen_name("read_id_aa64isar0") func readISAR0() -> UInt64
@_silgen_name("read_id_aa64mmfr0") func readMMFR0() -> UInt64
/// RNDR; `ok` is set to 0 when the CPU had no entropy.
@_silgen_name("read_rndr") func readRNDR(_ ok: UnsafeMutablePointer<UInt64>) -> UInt64
/// CNTVCT_EL0 (after an ISB) and CNTFRQ_EL0: the generic timer.
@_silgen_name("read_cntvct") func readCNTVCT() -> UInt64
@_silgen_name("read_cntfrq") func readCNTFRQ() -> UInt64
@_silgen_name("read_mpidr") func readMPIDR() -> UInt64
@_silgen_name("read_tcr") func readTCR() -> UInt64
@_silgen_name("read_sctlr") func readSCTLR() -> UInt64

// cache.S: cache and TLB maintenance.

/// Switches TTBR0_EL1 to the table at `pa` and invalidates the TLB.
@_silgen_name("set_ttbr0") func setTTBR0(_ pa: UInt64)
/// New code at [va, va + size) written through a data alias: clean to PoU, invalidate the I-cache.
@_silgen_name("slide_sync_code") func syncCode(_ va: UInt64, _ size: UInt64)
/// New valid descriptors: visible to the table walker.
@_silgen_name("slide_sync_tables") func syncTables()
/// Descriptors removed over [va, va + size): invalidate their TLB entries.
@_silgen_name("slide_flush_tlb_range") func flushTLB(_ va: UInt64, _ size: UInt64)
/// Data a CPU with its MMU off will read: clean [va, va + size) to the point of coherency.
@_silgen_name("slide_clean_to_poc") func cleanToPoC(_ va: UInt64, _ size: UInt64)

// smp.S: secondary CPUs.

/// PSCI through HVC (smc = 0) or SMC (SMCCC): returns x0.
@_silgen_name("psci_call") func psciCall(_ function: UInt64, _ a1: UInt64, _ a2: UInt64, _ a3: UInt64, _ smc: UInt64) -> Int64
@_silgen_name("smp_check_in") func smpCheckIn()
@_silgen_name("smp_cpus_online") func smpCpusOnline() -> UInt64
@_silgen_name("smp_block_address") func smpBlockAddress() -> UnsafeMutablePointer<SmpBlock>
@_silgen_name("secondary_entry_address") func secondaryEntryAddress() -> UInt64
@_silgen_name("secondary_main_address") func secondaryMainAddress() -> UInt64
@_silgen_name("park") func park() -> Never

// module.S: the call into a loaded module's init function; returns its int.

@_silgen_name("slide_call_init") func callInit(_ function: UInt64) -> Int32

// console.S: bytes to the PL011 at its physical address (usable with the MMU off).

@_silgen_name("early_puts") func earlyPuts(_ s: UnsafePointer<UInt8>, _ n: Int)

// bench.S: `slide.bench=1` only (Shared/Bench.swift).

@_silgen_name("bench_pmu_start") func benchPMUStart()
@_silgen_name("bench_read_instructions") func benchReadInstructions() -> UInt64
/// Linux 6.1's `__relocate_kernel` algorithm, one routine per table.
@_silgen_name("bench_linux_rela") func benchLinuxRela(_ start: UnsafeRawPointer?, _ end: UnsafeRawPointer?, _ bias: UInt64, _ displacement: UInt64)
@_silgen_name("bench_linux_relr") func benchLinuxRelr(_ start: UnsafeRawPointer?, _ end: UnsafeRawPointer?, _ bias: UInt64, _ displacement: UInt64)
