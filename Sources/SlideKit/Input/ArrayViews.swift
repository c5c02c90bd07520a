// Typed-throws wrappers over Array's `withUnsafe...Bytes` (which only rethrows `any Error`).

import SlideCore

extension Array {
    func withView<T, E: Error>(_ body: (ByteView) throws(E) -> T) throws(E) -> T {
        let result: Result<T, E> = withUnsafeBytes { raw in Result { () throws(E) -> T in try body(ByteView(raw)) } }
        return try result.get()
    }

    mutating func withMutableView<T, E: Error>(_ body: (MutableByteView) throws(E) -> T) throws(E) -> T {
        let result: Result<T, E> = withUnsafeMutableBytes { raw in Result { () throws(E) -> T in try body(MutableByteView(raw)) } }
        return try result.get()
    }
}
