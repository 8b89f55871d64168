#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A local file the CLI could not read or write, with the system's reason.
enum LocalFileError: Error, CustomStringConvertible {
    case cannotRead(String, errno: Int32)
    case cannotWrite(String, errno: Int32)
    case notARegularFile(String)
    case alreadyExists(String)
    case changedWhileReading(String)

    var description: String {
        switch self {
        case .cannotRead(let path, let code): return "cannot read \(path): \(String(cString: strerror(code)))"
        case .cannotWrite(let path, let code): return "cannot write \(path): \(String(cString: strerror(code)))"
        case .notARegularFile(let path): return "\(path) is not a regular file"
        case .alreadyExists(let path):
            return "\(path) already exists; pass -o PATH to choose another name, or --force to replace it"
        case .changedWhileReading(let path): return "\(path) changed while it was being uploaded; try again"
        }
    }
}
