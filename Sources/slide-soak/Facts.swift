// What the soak knows about each kernel variant and the example module before any boot: read
// once, in process, with the readers `slide inspect`, `slide link-module` and the boot tests use.

import Foundation
import SlideCore
import SlideKit

/// One kernel variant `make kernel` built: its Image, its ELF and their facts.
struct Variant {
    let name: String
    let image: String
    let elf: String
    /// The Image as `slide kaslr` loads it (for KASLRPredictor).
    let kernel: KernelImage
    /// The ELF as `slide link-module --kernel` loads it (exports, vermagic and CRCs).
    let elfKernel: KernelImage
    let exports: [KernelExport]
    let granule: Granule
    let imageSize: UInt64
    /// `slide inspect`'s RELA entries and RELR places (the boot report's relocs_rela/relocs_relr).
    let rela: Int, relr: Int
    /// _text, _stext, _etext and _end at their link addresses, from the ELF's symbol table.
    let landmarks: ImageLandmarks

    init(name: String, kout: String) throws(SlideKitError) {
        self.name = name
        image = "\(kout)/\(name)/Image"
        elf = "\(kout)/\(name)/slide-kernel.elf"
        kernel = try KernelImage.load(path: image)
        guard let header = kernel.header, let pageSize = header.flags.pageSize.bytes, let g = Granule(pageSize: pageSize) else {
            throw SlideKitError(image, "not an arm64 Image with a page size in its header")
        }
        granule = g
        imageSize = header.imageSize
        let report = try InspectReport.build(kernel)
        rela = (kernel.rela?.size ?? 0) / RelaEntry.size
        relr = report.relrPlaces ?? 0
        elfKernel = try KernelImage.load(path: elf)
        exports = try KernelExports.read(elfKernel)
        // SlideCore's ELF reader over the ELF's .symtab (what llvm-nm lists).
        guard let symbols = KernelSymbols.elfSymbols(elfKernel) else { throw SlideKitError(elf, "no .symtab") }
        let nm = KernelSymbols.addresses(symbols)
        guard let text = nm["_text"], let stext = nm["_stext"], let etext = nm["_etext"], let end = nm["_end"] else {
            throw SlideKitError(elf, "the symbol table lacks _text, _stext, _etext or _end")
        }
        landmarks = ImageLandmarks(text: text, stext: stext, etext: etext, end: end)
    }

    /// "4k", "16k", "64k": the soak's and `slide pagetables --granule`'s spelling.
    var granuleName: String { String(granule.name.description).lowercased() }
}

/// The example module (Kernel/modules/hello.ko) and the initrd that carries it.
struct ModuleFacts {
    let ko: String
    let initrd: String
    let bytes: [UInt8]
    let initrdSize: UInt64
    /// The core and init regions' sizes per granule (SlideCore's ModuleLayout, as each kernel lays them out).
    private let sizes: [(granule: Granule, regions: PerRegion<UInt64>)]

    init(kout: String) throws(SlideKitError) {
        ko = "\(kout)/modules/hello.ko"
        initrd = "\(kout)/modules/initrd.cpio"
        let bytes = try ModuleFiles.read(ko)
        self.bytes = bytes
        initrdSize = UInt64(try Files.read(initrd).count)
        let path = ko
        do {
            sizes = try [Granule.k4, .k16, .k64].map { g in
                (g, try bytes.withUnsafeBytes { raw in try ModuleLayout(try ELFFile(ByteView(raw)), granule: g).regionSize })
            }
        } catch let e as SlideError {
            throw SlideKitError(path, e)
        } catch {
            throw SlideKitError(path, "\(error)")
        }
    }

    func core(_ g: Granule) -> UInt64 { sizes.first { $0.granule == g }!.regions.core }
    func initSize(_ g: Granule) -> UInt64 { sizes.first { $0.granule == g }!.regions.initial }
    func size(_ g: Granule) -> UInt64 { core(g) + initSize(g) }
}

/// Variants, the module and linear maps, each read once.
final class Facts {
    let kout: String
    private var variants: [String: Variant] = [:]
    private var moduleFacts: ModuleFacts? = nil
    private var linearMaps: [String: LinearMapLayout] = [:]

    init(kout: String) { self.kout = kout }

    func variant(_ name: String) throws(SlideKitError) -> Variant {
        if let v = variants[name] { return v }
        let v = try Variant(name: name, kout: kout)
        variants[name] = v
        return v
    }

    func module() throws(SlideKitError) -> ModuleFacts {
        if let m = moduleFacts { return m }
        let m = try ModuleFacts(kout: kout)
        moduleFacts = m
        return m
    }

    /// `slide pagetables --memory RAM:MEMORYM --granule G`'s first layout (PHYS_OFFSET aligned as Linux aligns it).
    func linearMap(memoryMiB: Int, granule: Granule) throws(SlideKitError) -> LinearMapLayout {
        let key = "\(memoryMiB)/\(granule.shift)"
        if let l = linearMaps[key] { return l }
        var o = BootOptions()
        o.memoryMiB = memoryMiB
        guard let l = try PageTableReport.layouts(ramLow: BootOptions.ramBase, ramHigh: o.ramEnd, granule: granule, physOffset: nil).first else {
            throw SlideKitError("--memory", "no linear map layout")
        }
        linearMaps[key] = l
        return l
    }
}
