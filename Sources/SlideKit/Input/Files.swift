// Reading inputs and writing outputs atomically.
//
// Every failure names the file: `SlideKitError(path:message:)` prints as `'path': message`,
// to which the CLI adds `slide: error: `. Outputs are written to a temporary file in the same
// directory and renamed into place, so a failed run never leaves a partial file behind.

import Foundation
import SlideCore

/// A failure tied to one file, compared by value: a format error SlideCore found in the file's
/// bytes keeps its typed `SlideError` (field and numbers); a refusal of the host kit is a sentence.
public struct SlideKitError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// What SlideCore's readers found wrong in the bytes.
        case format(SlideError)
        /// What the host kit refuses, said whole.
        case refused(String)
    }

    public var path: String
    public var reason: Reason
    public init(_ path: String, _ message: String) {
        self.path = path
        reason = .refused(message)
    }
    public init(_ path: String, _ error: SlideError) {
        self.path = path
        reason = .format(error)
    }
    public var message: String {
        switch reason {
        case .format(let e): e.description
        case .refused(let text): text
        }
    }
    public var description: String { "'\(path)': \(message)" }
}

public enum Files {
    /// The whole file, or an error that says why not (missing, a directory, unreadable, empty,
    /// larger than `limit`). Memory is bounded before reading: a regular file's size is checked
    /// first, and a device or pipe (`-` is standard input) is read to at most `limit` bytes.
    public static func read(_ path: String, limit: Int = Containers.maxOutput) throws(SlideKitError) -> [UInt8] {
        let bytes = try readPrefix(path, count: limit, whole: true)
        if bytes.isEmpty { throw SlideKitError(path, "file is empty") }
        return bytes
    }

    /// The first `count` bytes (fewer when the file is shorter): enough to tell what a file is
    /// before reading it whole.
    public static func head(_ path: String, count: Int = 4096) throws(SlideKitError) -> [UInt8] {
        try readPrefix(path, count: count, whole: false)
    }

    /// Whether `path` is `-`: standard input where a file is read (once only), standard output where one is written.
    public static func isStandardInput(_ path: String) -> Bool { path == "-" }

    nonisolated(unsafe) static var standardInput: [UInt8]? = nil

    static func readPrefix(_ path: String, count: Int, whole: Bool) throws(SlideKitError) -> [UInt8] {
        if isStandardInput(path) {
            // Read once, bounded, and kept: a later read (the whole after the head) sees the same bytes.
            if standardInput == nil { standardInput = try readBounded(fd: 0, path: "(standard input)", limit: Containers.maxOutput) }
            let all = standardInput!
            if whole && all.count > count { throw tooLarge(path, UInt64(all.count), count) }
            return Array(all.prefix(count))
        }
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw SlideKitError(path, errno == ENOENT ? "no such file" : String(cString: strerror(errno)))
        }
        if st.st_mode & S_IFMT == S_IFDIR { throw SlideKitError(path, "is a directory") }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SlideKitError(path, "cannot open for reading: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        if whole && st.st_mode & S_IFMT == S_IFREG && st.st_size > count {
            throw tooLarge(path, UInt64(st.st_size), count)
        }
        let bytes = try readBounded(fd: fd, path: path, limit: whole ? count + 1 : count)
        if whole && bytes.count > count { throw tooLarge(path, UInt64(bytes.count), count) }
        return bytes
    }

    static func tooLarge(_ path: String, _ size: UInt64, _ limit: Int) -> SlideKitError {
        SlideKitError(path, "is \(size > UInt64(limit) + 1 ? sizeText(size) : "over \(sizeText(UInt64(limit)))"), larger than any kernel or module (--max-size raises the limit of \(sizeText(UInt64(limit))))")
    }

    /// Up to `limit` bytes from `fd`, in 1 MiB reads.
    static func readBounded(fd: Int32, path: String, limit: Int) throws(SlideKitError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(1 << 20, max(limit, 1)))
        while out.count < limit {
            let want = min(chunk.count, limit - out.count)
            let n = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, want) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SlideKitError(path, "read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// Writes `bytes` to `path` through a temporary file and a rename. A file it replaces keeps
    /// its permission bits (unless `mode` says otherwise).
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: Int? = nil) throws(SlideKitError) {
        // `-` is standard output: the bytes go there whole, once everything else succeeded.
        if isStandardInput(path) {
            FileHandle.standardOutput.write(Data(bytes))
            return
        }
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw SlideKitError(path, "is a directory")
        }
        let tmp = dir + "/." + url.lastPathComponent + ".slide-tmp-\(getpid())"
        let ok = bytes.withUnsafeBytes { buf in
            FileManager.default.createFile(atPath: tmp, contents: Data(buf))
        }
        guard ok else { throw SlideKitError(path, "cannot write (directory missing or not writable)") }
        var existing = stat()
        if let mode {
            chmod(tmp, mode_t(mode))
        } else if stat(path, &existing) == 0 {
            chmod(tmp, existing.st_mode & 0o7777)
        }
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw SlideKitError(path, "cannot rename temporary file into place: \(reason)")
        }
    }

    /// Same file on disk (device and inode), for refusing to overwrite an input.
    public static func isSameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}
