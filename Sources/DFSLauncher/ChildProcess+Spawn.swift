#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension ChildProcess {
    /// `posix_spawn` with default signal dispositions, an empty mask, a new process group, stdin from
    /// `/dev/null`, stdout/stderr as `output` says, and no other inherited file descriptors.
    static func spawn(executable: String, arguments: [String], environment: [String: String], output: ChildOutput) throws -> pid_t
    {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var everySignal = sigset_t()
        sigfillset(&everySignal)
        var noSignal = sigset_t()
        sigemptyset(&noSignal)
        posix_spawnattr_setsigdefault(&attributes, &everySignal)
        posix_spawnattr_setsigmask(&attributes, &noSignal)
        posix_spawnattr_setpgroup(&attributes, 0)
        var flags = Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP)
        #if canImport(Darwin)
            flags |= Int32(POSIX_SPAWN_CLOEXEC_DEFAULT)
        #endif
        posix_spawnattr_setflags(&attributes, Int16(flags))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)

        var outputDescriptors: [Int32] = []
        defer { outputDescriptors.forEach { close($0) } }
        func openForAppending(_ path: String) throws -> Int32 {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw ChildProcessError.cannotOpenOutput(path: path, errno: errno) }
            outputDescriptors.append(descriptor)
            return descriptor
        }
        switch output {
        case .inherit:
            #if canImport(Darwin)
                // With CLOEXEC_DEFAULT even 1 and 2 would close; dup2 onto themselves keeps them.
                posix_spawn_file_actions_adddup2(&actions, 1, 1)
                posix_spawn_file_actions_adddup2(&actions, 2, 2)
            #endif
            break
        case .discard:
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        case .file(let path):
            let descriptor = try openForAppending(path)
            posix_spawn_file_actions_adddup2(&actions, descriptor, 1)
            posix_spawn_file_actions_adddup2(&actions, descriptor, 2)
        case .files(let standardOutput, let standardError):
            posix_spawn_file_actions_adddup2(&actions, try openForAppending(standardOutput), 1)
            posix_spawn_file_actions_adddup2(&actions, try openForAppending(standardError), 2)
        }
        #if os(Linux)
            // A NIO socket or a log file of the supervisor must not stay open in a long-lived child.
            if let closeFrom = closeFromAction {
                _ = closeFrom(&actions, 3)
            }
        #endif

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw ChildProcessError.spawnFailed(path: executable, errno: result) }
        return pid
    }
}

#if os(Linux)
    private typealias CloseFromAction = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc ≥ 2.34 has `posix_spawn_file_actions_addclosefrom_np`, but its header hides it from Swift's Glibc
    /// module; look it up at run time and do without it on older systems (descriptors are CLOEXEC there anyway).
    private let closeFromAction: CloseFromAction? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            return nil
        }
        return unsafeBitCast(symbol, to: CloseFromAction.self)
    }()
#endif
