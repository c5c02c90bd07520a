// Kernel modules on disk: which files are modules, their names, their ELF bytes (decompressed),
// and every module under a directory.

import Foundation
import SlideCore

public enum ModuleFiles {
    /// The file names a module has: plain, or compressed as Debian and Kbuild ship them.
    public static let suffixes = [".ko", ".ko.gz", ".ko.xz", ".ko.zst"]

    /// `ext4` for `…/ext4.ko.xz`.
    public static func name(_ path: String) -> String {
        let file = URL(fileURLWithPath: path).lastPathComponent
        guard let suffix = suffixes.last(where: { file.hasSuffix($0) }) else { return file }
        return String(file.dropLast(suffix.count))
    }

    /// A module's ELF bytes, decompressed when the file is a gzip, xz or zstd stream. A kernel
    /// Image or a linked ELF is refused with what to do instead.
    public static func read(_ path: String) throws(SlideKitError) -> [UInt8] {
        let raw = try Files.read(path)
        var bytes = raw
        if case .compressed(let method) = FileKind(raw) { bytes = try Containers.decompress(raw, method, path: path) }
        switch FileKind(bytes) {
        case .image, .zboot:
            throw SlideKitError(path, "this is a kernel Image, not a module (link-module takes .ko files; give the kernel with --kernel ELF or --symbols System.map)")
        case .elf(let type?) where type != .rel:
            throw SlideKitError(path, "an ELF of type \(type), not a module (ET_REL): a kernel goes to --kernel")
        default:
            return bytes
        }
    }

    /// Every module under `directory` (symbolic links followed), relative paths, sorted.
    public static func discover(_ directory: String) throws(SlideKitError) -> (root: String, paths: [String]) {
        let root = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        guard let walker = FileManager.default.enumerator(atPath: root) else { throw SlideKitError(directory, "cannot read the directory") }
        let paths = walker.compactMap { $0 as? String }.filter { p in suffixes.contains { p.hasSuffix($0) } }.sorted()
        if paths.isEmpty { throw SlideKitError(directory, "no modules (\(suffixes.joined(separator: ", "))) under this directory") }
        return (root, paths)
    }
}
