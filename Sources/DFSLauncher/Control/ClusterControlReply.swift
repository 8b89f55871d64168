/// The answer to one control request: one line of JSON on the socket.
public struct ClusterControlReply: Codable, Sendable, Equatable {
    /// Whether the request was carried out; a refusal or failure says why in `message`.
    public var succeeded: Bool
    /// A sentence for the person at the terminal (empty for a plain `status`).
    public var message: String
    /// Every member's state after the request.
    public var members: [ClusterMemberStatus]
    /// The pid of the `dfs up` that answered.
    public var supervisorPID: Int32
    /// `no` or `on-failure`: what `dfs up` does when a member dies on its own.
    public var restartPolicy: String

    public init(succeeded: Bool, message: String, members: [ClusterMemberStatus], supervisorPID: Int32, restartPolicy: String) {
        self.succeeded = succeeded
        self.message = message
        self.members = members
        self.supervisorPID = supervisorPID
        self.restartPolicy = restartPolicy
    }

    enum CodingKeys: String, CodingKey {
        case succeeded, message, members
        case supervisorPID = "supervisor_pid"
        case restartPolicy = "restart_policy"
    }
}
