// Reading inputs and writing outputs atomically.
//
// Every failure names the file: `SlideKitError(path:message:)` prints as `'path': message`,
// to which the CLI adds `slide: error: `. Outputs are written to a temporary file in the same
// directory and renamed into place, so a failed run never leaves a partial file behind.

import Foundation
import SlideCore

/// A failure tied to one file.
public struct SlideKitError: Error, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }
    public init(_ path: String, _ error: SlideError) { self.init(path, error.description) }
    public var description: String { "'\(path)': \(message)" }
}

public enum Files {
    /// The whole file, or an error that says why not (missing, a directory, unreadable, empty).
    public static func read(_ path: String) throws(SlideKitError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SlideKitError(path, "no such file")
        }
        if isDirectory.boolValue { throw SlideKitError(path, "is a directory") }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw SlideKitError(path, "cannot open for reading") }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.readToEnd() ?? Data() } catch {
            throw SlideKitError(path, "read failed: \(error.localizedDescription)")
        }
        if data.isEmpty { throw SlideKitError(path, "file is empty") }
        return [UInt8](data)
    }

    /// Writes `bytes` to `path` through a temporary file and a rename. A file it replaces keeps
    /// its permission bits (unless `mode` says otherwise).
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: Int? = nil) throws(SlideKitError) {
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
