#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a child could not be started.
public enum ChildProcessError: Error, Sendable, CustomStringConvertible {
    case notExecutable(path: String)
    case spawnFailed(path: String, errno: Int32)
    case cannotOpenOutput(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .notExecutable(let path):
            return "\(path) does not exist or is not executable"
        case .spawnFailed(let path, let code):
            return "cannot start \(path): \(String(cString: strerror(code)))"
        case .cannotOpenOutput(let path, let code):
            return "cannot open log file \(path): \(String(cString: strerror(code)))"
        }
    }
}
