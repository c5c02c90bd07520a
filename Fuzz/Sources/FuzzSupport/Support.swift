// What every fuzz target shares: the input as an 8-byte-aligned copy (the FDT reader and the
// kernel's views assume the alignment a loader gives), and a sink that keeps results alive so
// the optimizer cannot drop the work that produced them.

import SlideCore

/// Runs `body` over a fresh, 16-byte-aligned copy of the input.
public func withAlignedCopy<T>(_ data: UnsafePointer<UInt8>, _ size: Int, _ body: (UnsafeMutableRawBufferPointer) -> T) -> T {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 16)
    defer { buffer.deallocate() }
    if size > 0 { buffer.baseAddress!.copyMemory(from: data, byteCount: size) }
    return body(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size]))
}

/// The input as an array.
public func bytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    [UInt8](UnsafeBufferPointer(start: data, count: size))
}

/// Folds values into a global the optimizer must keep.
nonisolated(unsafe) public var sinkValue: UInt64 = 0
@inline(never) public func sink(_ v: UInt64) { sinkValue = sinkValue &* 31 &+ v }
@inline(never) public func sink(_ s: String) { sink(UInt64(s.utf8.count)) }
@inline(never) public func sink(_ e: SlideError) { sink(e.description) }
