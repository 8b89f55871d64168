import DFSCore

/// Bytes that arrived, or were stored, differ from what they should be.
enum IntegrityError: Error, CustomStringConvertible {
    case downloadDigestMismatch(expected: String, actual: SHA256Digest, wentToStandardOutput: Bool)
    case downloadLengthMismatch(expected: Int64, actual: Int64, wentToStandardOutput: Bool)
    case storedDigestDiffers(local: SHA256Digest, gateway: String)

    var description: String {
        switch self {
        case .downloadDigestMismatch(let expected, let actual, let wentToStandardOutput):
            return "the downloaded bytes have SHA-256 \(actual) but the gateway announced \(expected); "
                + Self.consequence(wentToStandardOutput)
        case .downloadLengthMismatch(let expected, let actual, let wentToStandardOutput):
            return "the download ended after \(actual) of \(expected) bytes; " + Self.consequence(wentToStandardOutput)
        case .storedDigestDiffers(let local, let gateway):
            return "the gateway recorded SHA-256 \(gateway) but the file has \(local); delete the upload and retry"
        }
    }

    private static func consequence(_ wentToStandardOutput: Bool) -> String {
        wentToStandardOutput ? "do not trust what was written to stdout" : "nothing was kept"
    }
}
