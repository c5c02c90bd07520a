// Where Linux's EFI stub puts a kernel Image: the SlideCore model of the Image's stub version
// (Sources/SlideCore/Placement/LinuxEFI/) over an EFI memory map, as `slide kaslr --loader efi`
// and `slide boot --loader efi` need it.
//
// A map Linux printed (efi=debug) is the one the stub handed over at ExitBootServices, after it
// allocated its own slot and its buffers: docs/linux-kaslr.md ("UEFI boots") shows on boots under
// edk2 and U-Boot that giving back the slot (its region, of the stub's allocation type and size)
// and every Loader Data region (the FDT, the initrd, pool pages), joined to their Conventional
// neighbours, gives the map the stub counted slots in, exactly.

import Foundation
import SlideCore

public enum EFIStubPredictor {
    /// The stub models, oldest first; an Image takes the last whose first version it reaches.
    public static var models: [any LinuxEFIStubModel.Type] { [LinuxEFI510Stub.self, LinuxEFI61Stub.self] }

    public struct Query {
        /// The map: as Linux printed it (after the stub's allocation), unless `mapIsBeforeSlot`.
        public var map: [EFIMemoryRegion] = []
        public var mapIsBeforeSlot = false
        /// PA(_text), when known: the stub's slot in a printed map.
        public var kernelAt: UInt64? = nil
        /// The 32-bit seed the stub read first from EFI_RNG_PROTOCOL.
        public var seed: UInt32? = nil
        public var commandLine = ""
        public init() {}
    }

    /// The model for an Image's banner, or a refusal naming what is missing.
    public static func model(_ k: KernelImage) throws(SlideKitError) -> (any LinuxEFIStubModel.Type, (Int, Int)) {
        guard let banner = k.banner else { throw SlideKitError(k.path, "--loader efi: not a Linux Image (no `Linux version` banner); the Slide kernel's own EFI stub has no model here") }
        guard let v = KASLRPredictor.version(banner) else { throw SlideKitError(k.path, "cannot read the version in '\(banner.prefix(60))'") }
        guard let m = models.last(where: { v >= $0.firstVersion }) else {
            throw SlideKitError(k.path, "Linux \(v.0).\(v.1): no EFI stub model (efi_random_alloc is modelled from 5.10 on)")
        }
        return (m, v)
    }

    public static func predict(_ k: KernelImage, _ q: Query) throws(SlideKitError) -> EFIStubPrediction {
        guard let header = k.header, let page = header.flags.pageSize.bytes else { throw SlideKitError(k.path, "not an arm64 Image with a page size in its header") }
        guard k.pe != nil else { throw SlideKitError(k.path, "not a PE/COFF Image: UEFI firmware cannot start it, so no EFI stub runs") }
        let (model, version) = try model(k)
        let words = q.commandLine.split(separator: " ")
        if words.contains("nokaslr") {
            throw SlideKitError(k.path, "nokaslr: the EFI stub draws no slot; it runs the Image where the firmware loaded it when 2 MiB-aligned, else copies it to a 2 MiB-aligned block the firmware chooses")
        }
        let rules = model.rules
        guard let alloc = EFIRandomAlloc(size: header.imageSize, align: model.kernelAlignment(pageSize: page, nokaslr: false), rules: rules,
                                         skipsSpecificPurpose: !words.contains("efi=nosoftreserve")) else {
            throw SlideKitError(k.path, "image_size \(hex(header.imageSize)) cannot be allocated")
        }
        var p = EFIStubPrediction(model: "\(model.name)", source: "\(model.source)", measured: "\(model.measured)", version: version,
                                  imageSize: header.imageSize, alloc: alloc, seedTableBytes: model.seedTableBytes)
        p.stubMap = q.map
        if !q.mapIsBeforeSlot {
            let slot = try kernelRegion(k.path, q.map, alloc, at: q.kernelAt)
            p.givenBack = slot
            p.stubMap = beforeSlot(q.map, slot: slot)
        }
        p.runs = alloc.runs(in: p.stubMap)
        p.total = p.runs.reduce(0) { $0 &+ $1.count }
        if let seed = q.seed {
            p.seed = seed
            p.address = alloc.slot(seed: seed, in: p.stubMap)
            p.index = p.address == nil ? nil : EFIRandomAlloc.target(total: p.total, seed: seed)
        }
        return p
    }

    /// The stub's own slot in a printed map: the region of its allocation type and size starting
    /// at `at`, or, with no address, the only such region on the alignment.
    static func kernelRegion(_ path: String, _ map: [EFIMemoryRegion], _ alloc: EFIRandomAlloc, at: UInt64?) throws(SlideKitError) -> EFIMemoryRegion {
        let type = alloc.rules.slotType
        let typeName = EFIMemoryMapText.typeNames[Int(type.rawValue)]
        if let at {
            guard let r = map.first(where: { $0.type == type && $0.start <= at && at &- $0.start < $0.pageCount &* EFIMemoryRegion.pageSize }),
                  at &- r.start &+ alloc.size <= r.pageCount &* EFIMemoryRegion.pageSize else {
                throw SlideKitError(path, "the map has no \(typeName) region holding \(hex(alloc.size)) bytes at \(hex(at)): is it the map of this boot?")
            }
            return EFIMemoryRegion(type: type, start: at, pageCount: alloc.size / EFIMemoryRegion.pageSize, attributes: r.attributes)
        }
        let fits = map.filter { $0.type == type && $0.size == alloc.size && $0.start % alloc.align == 0 }
        guard fits.count == 1 else {
            throw SlideKitError(path, fits.isEmpty
                ? "the map has no \(typeName) region of the kernel's \(hex(alloc.size)) bytes (the stub's slot); if it is the map before the stub ran, say so (--efi-memmap-before-slot), or give the kernel's address (--efi-kernel-at)"
                : "\(fits.count) \(typeName) regions of the kernel's \(hex(alloc.size)) bytes (\(fits.map { hex($0.start) }.joined(separator: ", "))): give the kernel's address (--efi-kernel-at)")
        }
        return fits[0]
    }

    /// The map the stub drew from, rebuilt from a printed one: its slot and every Loader Data
    /// region (the type of the stub's own buffers: FDT, initrd, pool pages) turned back into
    /// Conventional memory and joined to their Conventional neighbours.
    static func beforeSlot(_ map: [EFIMemoryRegion], slot: EFIMemoryRegion) -> [EFIMemoryRegion] {
        joinConventional(giveBack(slot, in: map).map { r in
            r.type == .loaderData ? EFIMemoryRegion(type: .conventional, start: r.start, pageCount: r.pageCount, attributes: r.attributes) : r
        })
    }

    /// The map with `slot` turned back into Conventional memory, joined to Conventional
    /// neighbours with the same attributes (the firmware keeps free memory as one descriptor).
    static func giveBack(_ slot: EFIMemoryRegion, in map: [EFIMemoryRegion]) -> [EFIMemoryRegion] {
        var out: [EFIMemoryRegion] = []
        let free = EFIMemoryRegion(type: .conventional, start: slot.start, pageCount: slot.pageCount, attributes: slot.attributes)
        for r in map {
            guard r.type == slot.type, r.start <= slot.start, let end = r.end, let slotEnd = slot.end, slotEnd <= end else { out.append(r); continue }
            if slot.start > r.start { out.append(EFIMemoryRegion(type: r.type, start: r.start, pageCount: (slot.start - r.start) / EFIMemoryRegion.pageSize, attributes: r.attributes)) }
            out.append(free)
            if end > slotEnd { out.append(EFIMemoryRegion(type: r.type, start: slotEnd, pageCount: (end - slotEnd) / EFIMemoryRegion.pageSize, attributes: r.attributes)) }
        }
        return joinConventional(out)
    }

    static func joinConventional(_ map: [EFIMemoryRegion]) -> [EFIMemoryRegion] {
        var out: [EFIMemoryRegion] = []
        for r in map {
            if let last = out.last, last.type == .conventional, r.type == .conventional, last.attributes == r.attributes, last.end == r.start {
                out[out.count - 1].pageCount += r.pageCount
            } else {
                out.append(r)
            }
        }
        return out
    }
}

/// What the model says for one Image and map.
public struct EFIStubPrediction {
    public var model: String, source: String, measured: String
    public var version: (Int, Int)
    public var imageSize: UInt64
    public var alloc: EFIRandomAlloc
    public var seedTableBytes: Int
    /// The map the stub counted slots in, and the region given back to make it (nil when the
    /// map was given as the stub saw it).
    public var stubMap: [EFIMemoryRegion] = []
    public var givenBack: EFIMemoryRegion? = nil
    public var runs: [EFISlotRun] = []
    public var total: UInt64 = 0
    public var seed: UInt32? = nil
    public var index: UInt64? = nil
    public var address: UInt64? = nil

    /// log2 of the slot count: the bits a uniformly drawn slot carries.
    public var entropyBits: Double { total == 0 ? 0 : log2(Double(total)) }
}
