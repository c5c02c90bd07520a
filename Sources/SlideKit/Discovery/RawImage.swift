// A raw Image as the model: its header, PE/COFF and banner, then table discovery, the link base
// and the already-relocated check; a truncated file is said to be truncated.

import Foundation
import SlideCore

extension KernelImage {

    static func fromImage(_ bytes: [UInt8], path: String, containers: [String], discovery: Discovery,
                          linkBaseOverride: UInt64?) throws(SlideKitError) -> KernelImage {
        do throws(SlideError) {
            let view = bytes.withUnsafeBytes { ByteView($0) } // bytes outlives view: both are locals of this call
            let header = try ImageHeader(from: view)
            var pe: PEInfo? = nil
            var dataSize = bytes.count
            var notes: [String] = []
            if header.hasMZ, header.reserved5 != 0, let p = try? PEInfo(from: view, at: Int(header.reserved5)) {
                pe = p
                if let cert = p.certificate, cert.offset <= UInt64(bytes.count) {
                    dataSize = Int(cert.offset)
                } else if p.rawDataEnd > 0, p.rawDataEnd <= UInt64(bytes.count) {
                    dataSize = Int(p.rawDataEnd)
                }
            }
            let found = try TableFinder.find(in: view, dataSize: dataSize, memorySize: header.imageSize, discovery: discovery,
                                             linkBaseOverride: linkBaseOverride)
            notes += found.notes
            var base = found.linkBase ?? linkBaseOverride.map { LinkBase(value: $0, source: .user, reason: "given with --link-base") }
                ?? LinkBase(value: 0, source: .addendRange, reason: "no relocation table found", established: false)
            // Established only when the tables it rests on are proven (the kernel's code or seal
            // names them and every entry validates) and the evidence leaves one base.
            let tablesProven = [found.rela, found.relr].compactMap { $0 }.allSatisfy(\.proven) && (found.rela != nil || found.relr != nil)
            let tablesGiven = discovery != .auto && discovery != .code
            // arm64 kernels live in the top 2^52 bytes (TTBR1 with at most 52-bit VA): below that a
            // derived base is no kernel's.
            let kernelAddress = base.value >= Self.lowestKernelAddress
            if !kernelAddress && base.source != .user && found.linkBase != nil {
                base.reason += "; \(hex(base.value)) is not a kernel address (below \(hex(Self.lowestKernelAddress)), the bottom of a 52-bit TTBR1 space)"
            }
            let standing: Standing = base.source == .user ? .given
                : found.linkBase == nil ? .unknown
                : !base.established || !kernelAddress ? .inferred
                : tablesProven ? .established : tablesGiven ? .given : .inferred
            var k = KernelImage(
                path: path, format: .image, containers: containers, bytes: bytes, dataSize: dataSize, header: header,
                pe: pe, linkBase: base.value, linkBaseSource: base.source, linkBaseReason: base.reason,
                memorySize: header.imageSize, rela: found.rela, relr: found.relr, notes: notes, elfBytes: nil)
            k.linkBaseStanding = standing
            k.tablesGiven = tablesGiven
            k.alreadyRelocated = found.relocated?.text
            k.recognitions = found.recognitions
            k.disagreements = found.disagreements
            k.guessDisagreements = found.guessDisagreements
            k.exceptionTable = found.exceptionTable.map { $0.offset..<$0.end }
            k.banner = view.linuxBanner(limit: dataSize)
            k.truncation = [truncation(header: header, pe: pe, fileSize: bytes.count), found.truncation].compactMap { $0 }.joined(separator: "; ").nilIfEmpty
            return k
        } catch {
            throw SlideKitError(path, error)
        }
    }

    /// An Image is truncated when its file ends before the PE headers' raw data does (a signed
    /// kernel's certificate table starts where the image data ends) or before its text and data
    /// could fit the header's image_size less the BSS — which only the PE view tells.
    static func truncation(header: ImageHeader, pe: PEInfo?, fileSize: Int) -> String? {
        if let pe {
            if let c = pe.certificate, c.offset &+ c.size > UInt64(fileSize) {
                return "the PE certificate table runs to \(hex(c.offset &+ c.size)), the file ends at \(hex(UInt64(fileSize)))"
            }
            if pe.rawDataEnd > UInt64(fileSize) {
                return "the PE sections' raw data runs to \(hex(pe.rawDataEnd)), the file ends at \(hex(UInt64(fileSize)))"
            }
        }
        if header.imageSize > 0, UInt64(fileSize) < UInt64(ImageHeader.size) { return "shorter than the Image header" }
        // An EFI-stub Image ("MZ") names its PE header (COFF header and the PE32+ optional header:
        // 24 + 240 bytes); a file that ends before them is cut short.
        if header.hasMZ, pe == nil, header.reserved5 != 0, UInt64(header.reserved5) + 24 + 240 > UInt64(fileSize) {
            return "the PE header at \(hex(UInt64(header.reserved5))) lies past the end of the file (\(hex(UInt64(fileSize))) bytes)"
        }
        return nil
    }
}
