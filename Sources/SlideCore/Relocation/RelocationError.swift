// The error a static relocation gives when it cannot be applied, worded as lld words it.

/// Why a static relocation could not be applied.
public struct RelocationError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable { case outOfRange, misaligned, unsupported, placeOutside }
    public var kind: Kind
    public var type: RelocationType
    public var place: UInt64
    public var value: Int64 = 0
    public var low: Int64 = 0
    public var high: Int64 = 0

    public var description: String {
        // Built from StaticString pieces: the kernel prints these too (see Text.swift).
        let t = TextPiece(type.description)
        switch kind {
        case .outOfRange:
            return text("relocation ", t, " at ", .hex(place), " out of range: ", .hex(signed: value), " is not in [", .hex(signed: low), ", ", .hex(signed: high), "]")
        case .misaligned:
            return text("relocation ", t, " at ", .hex(place), ": improper alignment for relocation: ", .hex(signed: value), " is not ", .number(high), "-byte aligned")
        case .unsupported:
            return text("unsupported relocation ", t, " at ", .hex(place))
        case .placeOutside:
            return text("relocation ", t, " at ", .hex(place), " lies outside its section")
        }
    }
}
