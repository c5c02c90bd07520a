import ArgumentParser
import SlideCore
import SlideKit

struct KASLRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kaslr",
        abstract: "Predict the layout a KASLR seed gives a kernel Image on a CPU (Linux 5.4 to 7.x, or Slide).",
        usage: "slide kaslr <image> [--seed <seed>] [--cpu <cpu>] [<options>]",
        discussion: """
            For a Linux Image, the model of its version's formula (chosen from its
            `Linux version` banner): linux-5.4 (kaslr.c), linux-5.11 (pi/kaslr_early.c),
            linux-6.9 (the VA-size-dependent range) and linux-6.16 (no linear-map
            randomization). Each was checked against real boots of Debian's 5.10, 6.1,
            6.12 and 7.2 kernels under QEMU. The CPU matters: a kernel built for 52-bit
            VA runs 52-bit only where the CPU has LPA2 (QEMU's max), which moves the
            Kernel Offset and PHYS_OFFSET, and the CPU's PA size decides whether the
            linear map is randomized. For a Slide Image, the Slide kernel's own rules:
            the same offset formula, physical randomization over --memory minus the
            image and --reserve, and the module region drawn from the seed.

            Prints the Kernel Offset (as the kernel prints it when it panics), the
            kernel's VA range, kimage_voffset (VA - PA of the kernel image, which
            __pa/__va of kernel symbols use) for --pa, PHYS_OFFSET (the PA the linear
            map starts at) for --memory, and
            the module region; --entropy adds the bits of entropy of each part. Values
            the kernel draws from a random source at boot are shown as ranges, and
            anything taken on trust is listed as "Assumed".

            CPUs: \(QEMUCPU.names).

            Examples:
              slide kaslr vmlinuz --seed 0x123456789abcdef0
              slide kaslr vmlinuz --seed 0x123456789abcdef0 --cpu max --entropy
              slide kaslr vmlinuz --seed 1 --memory 0x40000000:4G --json
              slide kaslr Image --seed 0x5eed --pa 0x48201000
              slide kaslr vmlinuz --loader efi --efi-memmap dmesg.txt --efi-seed 0x2291d8cd
              slide kaslr Image --loader efi --efi-memmap boot.txt --efi-seed 0x5eed

            --loader efi: where Linux's EFI stub (efi_random_alloc) puts the Image in
            physical memory, from the EFI memory map Linux printed with efi=debug: the
            candidate slots, their count and bits, and with --efi-seed the slot. The
            printed map holds the stub's own slot, which is given back first. For a Slide
            Image, the Slide kernel's own stub: its slot (SlideKASLR.efiSlot) over the
            conventional memory of such a map or of a Slide boot's efi_ranges line, with
            the 64-bit --efi-seed it read from EFI_RNG_PROTOCOL.
            """)

    @Argument(help: ArgumentHelp("Kernel Image: \(FileKind.formats).")) var file: String?
    @Option(name: .customLong("image"), help: .hidden) var imageOption: String?
    @Option(name: .customLong("link-base"), parsing: .unconditional,
            help: "Link address of the image's first byte, when the Image does not establish it.", transform: { try parseNumber($0) })
    var linkBase: UInt64?
    /// The kernel file: positional, as in every command (`--image` is kept for old scripts).
    var image: String { file ?? imageOption ?? "" }
    @Option(parsing: .unconditional, help: "The 64-bit /chosen/kaslr-seed (0 or absent: none).", transform: { try parseNumber($0) })
    var seed: UInt64 = 0
    @Option(help: "QEMU CPU model (sets the PA size, LPA2 and RNDR; default cortex-a57, or max for a 16 KiB-page Image).")
    var cpu: String?
    @Option(name: .customLong("va-bits"), help: "The VA size the kernel may use (48 forces 48-bit on an LPA2 CPU, like arm64.nolva).")
    var vaBits: Int?
    @Option(name: .customLong("pa-bits"), help: "The CPU's PA size in bits, instead of the model's.") var paBits: Int?
    @Option(parsing: .unconditional, help: "Physical address of the Image's first byte (default 0x40200000, QEMU's -kernel).",
            transform: { try parseNumber($0) })
    var pa: UInt64 = BootOptions.qemuKernelAddress
    @Option(parsing: .singleValue, help: ArgumentHelp(memoryHelp + " (default 1G, QEMU virt -m 1G); repeatable."),
            transform: { try parseMemory($0) })
    var memory: [PhysicalRange] = []
    @Option(parsing: .singleValue, help: "Physical range a Slide kernel must avoid (BASE:SIZE: the DTB, an initrd); repeatable.",
            transform: { try parseRange($0) })
    var reserve: [PhysicalRange] = []
    @Option(help: "Kernel command line (nokaslr, kaslr.phys=0, arm64_sw.nokaslr=1 …).") var append = ""
    @Option(help: "efi: where Linux's EFI stub puts the Image in physical memory (needs --efi-memmap).") var loader: KASLRLoader?
    @Option(name: .customLong("efi-memmap"), help: "efi: the EFI memory map as Linux prints it with efi=debug (a dmesg will do; slide boot --save-efi-memmap writes one).")
    var efiMemmap: String?
    @Option(name: .customLong("efi-seed"), parsing: .unconditional, help: "efi: the seed the stub read from EFI_RNG_PROTOCOL (32 bits for Linux, 64 for a Slide Image): the slot it picks.",
            transform: { try parseNumber($0) })
    var efiSeed: UInt64?
    @Flag(name: .customLong("efi-memmap-before-slot"), help: "efi: the map is the one the stub saw (it holds no slot of the stub's yet).")
    var efiMemmapBeforeSlot = false
    @Option(name: .customLong("efi-kernel-at"), parsing: .unconditional, help: "efi: PA(_text) of the boot that printed the map: its slot is given back.",
            transform: { try parseNumber($0) })
    var efiKernelAt: UInt64?
    @Flag(help: "Print the bits of entropy of each part.") var entropy = false
    @Flag(help: "Print JSON (schema slide/v1).") var json = false

    func validate() throws {
        guard (file == nil) != (imageOption == nil) else { throw ValidationError("give the kernel Image once (slide kaslr IMAGE …)") }
        if let cpu, QEMUCPU.named(cpu) == nil { throw ValidationError("--cpu '\(cpu)' is not one of: \(QEMUCPU.names)") }
        if let v = vaBits, ![39, 42, 47, 48, 52].contains(v) { throw ValidationError("--va-bits takes 39, 42, 47, 48 or 52") }
        if let p = paBits, !(32...52).contains(p) { throw ValidationError("--pa-bits takes 32 to 52") }
        if loader == .efi {
            guard efiMemmap != nil else { throw ValidationError("--loader efi needs --efi-memmap FILE (the EFI memory map the stub chooses from)") }
            if efiMemmapBeforeSlot && efiKernelAt != nil { throw ValidationError("--efi-kernel-at names the slot in a printed map; --efi-memmap-before-slot says there is none") }
        } else if efiMemmap != nil || efiSeed != nil || efiMemmapBeforeSlot || efiKernelAt != nil {
            throw ValidationError("--efi-memmap, --efi-seed, --efi-memmap-before-slot and --efi-kernel-at need --loader efi")
        }
    }

    func run() throws {
        try reportingErrors { () throws(SlideKitError) in
            var q = try query()
            let k = try KernelImage.load(path: image, linkBase: linkBase)
            if loader == .efi { return try efi(k) }
            q.cpu = cpu.flatMap { QEMUCPU.named($0) } ?? QEMUCPU.defaultCPU(pageSize: k.header?.flags.pageSize.bytes)
            let p = try KASLRPredictor.predict(k, q)
            noteGiven(k)
            emit(json ? p.json(file: image, query: q, entropy: entropy).rendered() + "\n" : p.text(query: q, entropy: entropy))
        }
    }

    func query() throws(SlideKitError) -> KASLRQuery {
        var q = KASLRQuery()
        q.seed = seed
        q.vaBits = vaBits; q.paBits = paBits
        q.loadPA = pa
        q.commandLine = append
        if !memory.isEmpty { q.memory = memory.map(\.pair) }
        q.reserved = reserve.map(\.pair)
        return q
    }
}

extension KASLRCommand {
    /// `--loader efi`: the stub's physical slot.
    func efi(_ k: KernelImage) throws(SlideKitError) {
        guard let path = efiMemmap else { return }
        let text = String(decoding: try Files.read(path), as: UTF8.self)
        if KASLRPredictor.isSlide(k) { return try slideEFI(k, text: text, path: path) }
        if let s = efiSeed, s > UInt64(UInt32.max) { throw SlideKitError(image, "--efi-seed \(hex(s)): Linux's stub reads a 32-bit seed") }
        var q = EFIStubPredictor.Query()
        q.map = try EFIMemoryMapText.parse(text, path: path)
        q.mapIsBeforeSlot = efiMemmapBeforeSlot
        q.kernelAt = efiKernelAt
        q.seed = efiSeed.map { UInt32($0) }
        q.commandLine = append
        let p = try EFIStubPredictor.predict(k, q)
        emit(json ? p.json(file: image).rendered() + "\n" : p.text())
    }
}

extension KASLRCommand {
    /// `--loader efi` for a Slide Image: the Slide stub's slot (SlideEFIModel) from the
    /// conventional memory of the map (efi=debug lines, or a Slide boot's `efi_ranges`) and the 64-bit seed.
    func slideEFI(_ k: KernelImage, text: String, path: String) throws(SlideKitError) {
        guard let header = k.header, let page = header.flags.pageSize.bytes else { throw SlideKitError(image, "not an arm64 Image with a page size in its header") }
        guard k.pe != nil else { throw SlideKitError(image, "not a PE/COFF Image: UEFI firmware cannot start it, so no EFI stub runs") }
        if efiMemmapBeforeSlot || efiKernelAt != nil { throw SlideKitError(image, "--efi-memmap-before-slot and --efi-kernel-at are for Linux's stub; the Slide kernel reports the map it chose from") }
        let granule: Granule = page == 65536 ? .k64 : page == 16384 ? .k16 : .k4
        let ranges = try SlideEFIModel.conventional(text: text, path: path)
        let p = SlideEFIModel.predict(imageSize: header.imageSize, granule: granule, conventional: ranges, seed: efiSeed)
        emit(json ? p.json(file: image).rendered() + "\n" : p.text())
    }
}

/// `slide kaslr --loader`: which loader's placement to model (only the EFI stub's so far).
enum KASLRLoader: String, ExpressibleByArgument { case efi }
