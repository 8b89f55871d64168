import Foundation

/// How a multipart object's checksum covers its bytes (`x-amz-checksum-type`).
public enum S3ChecksumType: String, Sendable {
    /// The checksum of the parts' checksums, written `base64-N` for N parts.
    case composite = "COMPOSITE"
    /// The checksum of the whole object's bytes, as if uploaded in one piece (CRCs only: they combine).
    case fullObject = "FULL_OBJECT"

    /// S3's default for an algorithm: CRC64NVME has only the full-object form, the others default to composite.
    public static func defaultType(for algorithm: S3ChecksumAlgorithm) -> S3ChecksumType {
        algorithm == .crc64nvme ? .fullObject : .composite
    }

    /// Whether S3 accepts this type with `algorithm`: full-object needs a CRC, composite anything but CRC64NVME.
    public func supports(_ algorithm: S3ChecksumAlgorithm) -> Bool {
        switch self {
        case .composite: return algorithm != .crc64nvme
        case .fullObject: return [.crc32, .crc32c, .crc64nvme].contains(algorithm)
        }
    }

    /// The type of a stored checksum value: composite ones end in `-N`, a part count (base64 never holds `-`).
    public init(ofValue value: String) {
        self = value.contains("-") ? .composite : .fullObject
    }
}

/// A multipart object's checksum from its parts' checksums (base64, in part order, sizes in bytes), without
/// reading a byte of the object: composite by hashing the parts' raw checksums, full-object by combining CRCs.
public enum S3MultipartChecksum {
    public static func value(
        _ algorithm: S3ChecksumAlgorithm, type: S3ChecksumType, parts: [(checksum: String, sizeBytes: Int64)]
    ) -> String? {
        var raw: [[UInt8]] = []
        for part in parts {
            guard let bytes = Data(base64Encoded: part.checksum) else { return nil }
            raw.append(Array(bytes))
        }
        switch type {
        case .composite:
            guard type.supports(algorithm) else { return nil }
            var checksummer = S3Checksummer(algorithm)
            for bytes in raw { bytes.withUnsafeBytes { checksummer.update($0) } }
            return "\(checksummer.finalize())-\(parts.count)"
        case .fullObject:
            guard let combination = CRCCombination(algorithm) else { return nil }
            var combined: UInt64 = 0
            for (bytes, part) in zip(raw, parts) {
                guard bytes.count == combination.width / 8 else { return nil }
                let crc = bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                combined = combination.combine(combined, crc, secondLength: part.sizeBytes)
            }
            let bytes = (0..<combination.width / 8).reversed().map { UInt8(truncatingIfNeeded: combined >> (8 * $0)) }
            return Data(bytes).base64EncodedString()
        }
    }
}

/// The CRC of two byte strings joined, from the CRC of each and the second's length (zlib's `crc32_combine`,
/// for any reflected CRC whose initial value and final xor are all ones): multiplying the first CRC by
/// x^(8 × length) modulo the polynomial appends that many zero bytes to it, and the second CRC supplies the rest.
struct CRCCombination {
    let width: Int
    private let polynomial: UInt64
    /// x^(2^k) modulo the polynomial, for k = 0 …: enough for any length below 2^64 bytes.
    private let powers: [UInt64]

    init?(_ algorithm: S3ChecksumAlgorithm) {
        switch algorithm {
        case .crc32: self.init(width: 32, reflectedPolynomial: UInt64(CRCPolynomial.crc32))
        case .crc32c: self.init(width: 32, reflectedPolynomial: UInt64(CRCPolynomial.crc32c))
        case .crc64nvme: self.init(width: 64, reflectedPolynomial: CRCPolynomial.crc64nvme)
        case .sha1, .sha256: return nil
        }
    }

    init(width: Int, reflectedPolynomial: UInt64) {
        self.width = width
        self.polynomial = reflectedPolynomial
        var powers: [UInt64] = []
        // Reflected: the top bit is x^0, so x^1 is the bit below it.
        var power = UInt64(1) << (width - 2)
        for _ in 0..<67 {
            powers.append(power)
            power = Self.multiply(power, power, width: width, polynomial: reflectedPolynomial)
        }
        self.powers = powers
    }

    func combine(_ first: UInt64, _ second: UInt64, secondLength: Int64) -> UInt64 {
        // x^(8n) = x^(n · 2^3): walk n's bits from 2^3 on.
        var shift = UInt64(1) << (width - 1)
        var length = UInt64(secondLength)
        var k = 3
        while length != 0 {
            if length & 1 == 1 { shift = Self.multiply(powers[k], shift, width: width, polynomial: polynomial) }
            length >>= 1
            k += 1
        }
        return Self.multiply(shift, first, width: width, polynomial: polynomial) ^ second
    }

    /// a × b modulo the polynomial, both reflected.
    private static func multiply(_ a: UInt64, _ b: UInt64, width: Int, polynomial: UInt64) -> UInt64 {
        var bit = UInt64(1) << (width - 1)
        var product: UInt64 = 0
        var b = b
        while bit != 0 {
            if a & bit != 0 { product ^= b }
            bit >>= 1
            b = b & 1 == 1 ? (b >> 1) ^ polynomial : b >> 1
        }
        return product
    }
}
