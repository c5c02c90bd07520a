// Secondary CPUs: the boot CPU starts every other CPU the devicetree lists through PSCI CPU_ON
// (Arm DEN0022, PSCI 0.2+, SMC64 function 0xc4000003), over the conduit `/psci/method` names
// (hvc or smc, the SMC Calling Convention). Each enters Asm/smp.S's secondary_entry at its physical
// address with the MMU off, turns it on with the boot CPU's tables (relocation happened once,
// before), joins at its virtual address in secondary_main, leaves the identity map, checks in and
// parks. The boot CPU reports `cpus_online`.

/// PSCI CPU_ON, SMC64 calling convention (DEN0022 §5.1.4).
let psciCPUOn: UInt64 = 0xc400_0003
/// The MPIDR_EL1 affinity fields Aff3 (39:32) and Aff2-Aff0 (23:0): what a cpu node's `reg` holds.
let mpidrAffinity: UInt64 = 0xff_00ff_ffff
/// Stacks Asm/smp.S has for secondaries.
let maxSecondaries = 8

/// Starts the other CPUs; returns how many CPUs are online (this one included) and any PSCI errors.
func startSecondaries(info: BootInfo, fdt: FDT) -> (online: UInt64, listed: Int, errors: [String]) {
    var mpidrs: [UInt64] = []
    try? fdt.forEachCPU { mpidrs.append($0) }
    let own = readMPIDR() & mpidrAffinity
    let others = mpidrs.filter { $0 & mpidrAffinity != own }
    guard !others.isEmpty, let method = try? fdt.property(node: "psci", name: "method") else { return (1, max(mpidrs.count, 1), []) }
    let smc: UInt64 = fdt.stringLength(method) == 3 && fdt.byte(method, at: 0) == UInt8(ascii: "s") ? 1 : 0

    // What a secondary reads with its MMU off: published to the point of coherency.
    let block = smpBlockAddress()
    block.pointee = SmpBlock(tcr: readTCR(), ttbr0: info.ttbr0Boot, ttbr1: info.ttbr1, entry: secondaryMainAddress(),
                             kimageVoffset: info.kimageVoffset)
    cleanToPoC(UInt64(UInt(bitPattern: block)), UInt64(MemoryLayout<SmpBlock>.size))
    let entryPA = secondaryEntryAddress() &- info.kimageVoffset

    var errors: [String] = [], started: UInt64 = 0
    for (i, mpidr) in others.prefix(maxSecondaries).enumerated() {
        let r = psciCall(psciCPUOn, mpidr, entryPA, UInt64(i + 1), smc)
        if r == 0 { started += 1 } else { errors.append("cpu\(hex(mpidr)):psci\(r)") }
    }
    if others.count > maxSecondaries { errors.append("cpus-beyond-\(maxSecondaries)-not-started:\(others.count - maxSecondaries)") }
    // Wait for them to check in, one second at most.
    let deadline = readCNTVCT() &+ readCNTFRQ()
    while smpCpusOnline() < started && readCNTVCT() < deadline {}
    let online = smpCpusOnline()
    if online < started { errors.append(text("timeout:", .number(started - online), "-did-not-check-in")) }
    return (1 + online, mpidrs.count, errors)
}

/// A secondary CPU at its virtual address: off the identity map, checked in, parked.
@c(secondary_main)
func secondaryMain(_ index: UInt64) {
    setTTBR0(bootInfo().pointee.ttbr0Late)
    smpCheckIn()
    park()
}
