// The predictor's driver: checks what every model needs (a header, an established link base, a
// load address inside RAM on the Image's page size), then the Linux model of the Image's version
// (LinuxModel.swift) or the Slide kernel's own rules (SlideModel.swift).

import Foundation
import SlideCore

public enum KASLRPredictor {
    /// The Linux formulas, oldest first; an Image takes the last whose first version it reaches.
    public static var formulas: [any LinuxKASLRFormula.Type] { [Linux510KASLR.self, Linux61KASLR.self, Linux69KASLR.self, Linux616KASLR.self] }

    /// (major, minor) from "Linux version 6.12.118+deb13-arm64 …".
    public static func version(_ banner: String) -> (Int, Int)? {
        let words = banner.split(separator: " ")
        guard words.count >= 3 else { return nil }
        let parts = words[2].split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }

    public static func predict(_ k: KernelImage, _ q: KASLRQuery) throws(SlideKitError) -> KASLRPrediction {
        guard let header = k.header else { throw SlideKitError(k.path, "not an arm64 Image: no header to read image_size from") }
        _ = try k.requireLinkBase(for: "a KASLR prediction")
        guard q.memory.contains(where: { q.loadPA >= $0.base && q.loadPA &+ header.imageSize <= $0.base &+ $0.size }) else {
            throw SlideKitError(k.path, "--pa \(hex(q.loadPA)): the image (\(hex(header.imageSize)) bytes) does not lie inside --memory")
        }
        // The kernel maps itself with its own pages: it cannot run at an address off its page size.
        let page = header.flags.pageSize.bytes ?? 4096
        guard q.loadPA % page == 0 else {
            throw SlideKitError(k.path, "--pa \(hex(q.loadPA)) is not a multiple of the Image's page size (\(page / 1024) KiB)")
        }
        var p = try k.banner != nil ? linux(k, header, k.banner!, q) : slideImage(k, header, q)
        p.linkBaseStanding = k.linkBaseStanding
        if k.linkBaseStanding == .given { p.assumptions.append("link base \(hex(k.linkBase)) as given with --link-base") }
        return p
    }

    /// A Slide Image: no Linux banner, and Slide's seal or symbol map.
    public static func isSlide(_ k: KernelImage) -> Bool {
        k.banner == nil && ((try? KernelSymbols.read(k))?.source == .slideSymbolMap || k.rela?.source == SealRecognizer.source || k.relr?.source == SealRecognizer.source)
    }

    static func slideImage(_ k: KernelImage, _ header: ImageHeader, _ q: KASLRQuery) throws(SlideKitError) -> KASLRPrediction {
        if isSlide(k) { return try slide(k, header, q) }
        throw SlideKitError(k.path, "neither a Linux Image (no `Linux version` banner) nor a Slide Image (no seal or symbol map)")
    }

    static func contains(_ raw: UnsafeRawBufferPointer, _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard let first = n.first, raw.count >= n.count, let base = raw.baseAddress else { return false }
        var from = 0
        while from + n.count <= raw.count {
            guard let hit = memchr(base + from, Int32(first), raw.count - from - n.count + 1) else { return false }
            let at = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(base + at, n, n.count) == 0 { return true }
            from = at + 1
        }
        return false
    }
}
