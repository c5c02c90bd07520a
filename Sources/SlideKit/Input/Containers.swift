// Recognising and unpacking the containers arm64 kernels ship in.
//
// A kernel file is one of: an ELF (vmlinux), a raw Image ("ARM\x64" at 0x38), a gzip, xz or
// zstd stream holding an Image (Image.gz; modules as .ko.xz / .ko.zst), or an EFI zboot PE
// ("MZ" + "zimg" at 4; payload offset at 0x08, size at 0x0c, compression name at 0x18: "gzip",
// "xzkern", "zstd22") whose payload holds the Image. Unpacking repeats until something other
// than a container is left; the chain is reported.

import CLzma
import CZlib
import CZstd
import SlideCore

public enum Containers {
    /// Unpacks containers until an ELF or raw Image remains. Returns the bytes and the chain
    /// of containers removed, outermost first (`["efi-zboot(gzip)"]`, `["gzip"]`).
    public static func unpack(_ bytes: [UInt8], path: String) throws(SlideKitError) -> ([UInt8], [String]) {
        var current = bytes
        var chain: [String] = []
        for _ in 0..<4 {
            if let method = compression(current) {
                current = try decompress(current, method, path: path)
                chain.append(method)
            } else if let (payload, method) = try zbootPayload(current, path: path) {
                let known = ["gzip": "gzip", "xzkern": "xz", "zstd22": "zstd", "zstd": "zstd"]
                guard let decoder = known[method], compression(payload) == decoder else {
                    throw SlideKitError(path, "EFI zboot payload is compressed with '\(method)'; gzip, xzkern and zstd22 are supported (unpack it first)")
                }
                current = try decompress(payload, decoder, path: path)
                chain.append("efi-zboot(\(method))")
            } else {
                return (current, chain)
            }
        }
        throw SlideKitError(path, "containers nested more than 4 deep")
    }

    /// An EFI zboot PE: "MZ" at 0, "zimg" at 4.
    static func isZboot(_ b: [UInt8]) -> Bool {
        b.count >= 8 && b[0] == 0x4d && b[1] == 0x5a && b[4] == 0x7a && b[5] == 0x69 && b[6] == 0x6d && b[7] == 0x67
    }

    static func isGzip(_ b: [UInt8]) -> Bool { b.count >= 18 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8 }

    /// The compression of a stream, by its magic: "gzip", "xz" (FD 37 7A 58 5A 00), "zstd" (28 B5 2F FD).
    public static func compression(_ b: [UInt8]) -> String? {
        if isGzip(b) { return "gzip" }
        if b.count >= 6 && b[0..<6].elementsEqual([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) { return "xz" }
        if b.count >= 4 && b[0..<4].elementsEqual([0x28, 0xb5, 0x2f, 0xfd]) { return "zstd" }
        return nil
    }

    public static func decompress(_ input: [UInt8], _ method: String, path: String) throws(SlideKitError) -> [UInt8] {
        switch method {
        case "gzip": return try gunzip(input, path: path)
        case "xz": return try unxz(input, path: path)
        case "zstd": return try unzstd(input, path: path)
        default: throw SlideKitError(path, "unknown compression '\(method)'")
        }
    }

    /// The most a decompression may produce. A kernel Image is under 256 MiB (Debian's 7.x: 48 MiB),
    /// so a stream that decodes past it is a bomb, stopped before memory grows past the limit;
    /// `--max-size` raises it.
    public nonisolated(unsafe) static var maxOutput = 256 << 20

    /// Appends decoded bytes, growing the buffer to at most `maxOutput`; false when they do not fit.
    static func take(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) -> Bool {
        guard bytes.count <= maxOutput - output.count else { return false }
        if output.count + bytes.count > output.capacity {
            output.reserveCapacity(min(maxOutput, max(output.capacity * 2, output.count + bytes.count)))
        }
        output.append(contentsOf: bytes)
        return true
    }

    static func tooLarge(_ path: String, _ what: String) -> SlideKitError {
        SlideKitError(path, "\(what) decodes past \(sizeText(UInt64(maxOutput))): larger than any kernel or module (--max-size raises the limit)")
    }

    /// Decodes an .xz stream (liblzma; BCJ filters included, as xzkern uses them).
    public static func unxz(_ input: [UInt8], path: String) throws(SlideKitError) -> [UInt8] {
        var stream = lzma_stream()
        guard lzma_stream_decoder(&stream, UInt64.max, 0x08 /* LZMA_CONCATENATED */) == LZMA_OK else {
            throw SlideKitError(path, "cannot initialise liblzma")
        }
        defer { lzma_end(&stream) }
        var output = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var status = LZMA_OK
        var overflow = false
        input.withUnsafeBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = inBuf.count
            repeat {
                chunk.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = outBuf.count
                    status = lzma_code(&stream, LZMA_FINISH)
                    overflow = !take(UnsafeBufferPointer(rebasing: outBuf[0..<(outBuf.count - stream.avail_out)]), into: &output)
                }
            } while status == LZMA_OK && !overflow
        }
        if overflow { throw tooLarge(path, "xz stream") }
        guard status == LZMA_STREAM_END else {
            let reason = status == LZMA_BUF_ERROR ? "truncated" : "corrupt (liblzma status \(status.rawValue))"
            throw SlideKitError(path, "xz stream is \(reason) after \(output.count) bytes of output")
        }
        return output
    }

    /// Decodes a zstd stream (one or more frames).
    public static func unzstd(_ input: [UInt8], path: String) throws(SlideKitError) -> [UInt8] {
        guard let stream = ZSTD_createDStream() else { throw SlideKitError(path, "cannot initialise libzstd") }
        defer { ZSTD_freeDStream(stream) }
        var output = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var pending = 1 // 0 once the last frame is complete
        var error: String? = nil
        var overflow = false
        input.withUnsafeBytes { inRaw in
            var inBuffer = ZSTD_inBuffer(src: inRaw.baseAddress, size: inRaw.count, pos: 0)
            while !overflow {
                var filled = false
                chunk.withUnsafeMutableBufferPointer { outBuf in
                    var outBuffer = ZSTD_outBuffer(dst: outBuf.baseAddress, size: outBuf.count, pos: 0)
                    pending = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
                    overflow = !take(UnsafeBufferPointer(rebasing: outBuf[0..<outBuffer.pos]), into: &output)
                    filled = outBuffer.pos == outBuffer.size
                }
                if ZSTD_isError(pending) != 0 { error = String(cString: ZSTD_getErrorName(pending)); return }
                // All input read, and the last frame complete (0) or nothing more to flush. (Calling
                // again after a frame ends would ask for the next frame's header: not 0 any more.)
                if inBuffer.pos == inBuffer.size && (pending == 0 || !filled) { return }
            }
        }
        if let error { throw SlideKitError(path, "zstd stream is corrupt (\(error)) after \(output.count) bytes of output") }
        if overflow { throw tooLarge(path, "zstd stream") }
        guard pending == 0 else { throw SlideKitError(path, "zstd stream is truncated after \(output.count) bytes of output") }
        return output
    }

    /// The compressed payload of an EFI zboot image, with its compression name.
    static func zbootPayload(_ b: [UInt8], path: String) throws(SlideKitError) -> ([UInt8], String)? {
        guard b.count >= 0x40, isZboot(b) else {
            return nil
        }
        do throws(SlideError) {
            let v = b.withUnsafeBytes { ByteView($0) }
            let offset = try v.u32(at: 8), size = try v.u32(at: 12)
            guard UInt64(offset) + UInt64(size) <= UInt64(b.count) else {
                throw SlideError.truncated("EFI zboot payload", offset: UInt64(offset), size: UInt64(size), available: UInt64(b.count))
            }
            // The name field is NUL-padded: stop at the first NUL.
            let nameEnd = b[0x18..<0x38].firstIndex(of: 0) ?? 0x38
            let name = String(decoding: b[0x18..<nameEnd], as: UTF8.self)
            return (Array(b[Int(offset)..<Int(offset + size)]), name.isEmpty ? "unknown" : name)
        } catch {
            throw SlideKitError(path, error)
        }
    }

    /// Inflates a gzip stream (zlib with gzip framing). Trailing data after the stream is ignored.
    public static func gunzip(_ input: [UInt8], path: String) throws(SlideKitError) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 16 + 15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw SlideKitError(path, "cannot initialise zlib")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8]()
        output.reserveCapacity(min(maxOutput, input.count * 3))
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var status: Int32 = Z_OK
        var overflow = false
        var mutableInput = input
        mutableInput.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = uInt(inBuf.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(outBuf.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    overflow = !take(UnsafeBufferPointer(rebasing: outBuf[0..<(outBuf.count - Int(stream.avail_out))]), into: &output)
                }
            } while status == Z_OK && !overflow && (stream.avail_in > 0 || stream.avail_out == 0)
        }
        if overflow { throw tooLarge(path, "gzip stream") }
        guard status == Z_STREAM_END else {
            let reason = status == Z_OK || status == Z_BUF_ERROR ? "truncated" : "corrupt (zlib status \(status))"
            throw SlideKitError(path, "gzip stream is \(reason) after \(output.count) bytes of output")
        }
        return output
    }
}
