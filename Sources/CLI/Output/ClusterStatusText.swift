import DFSLauncher

/// `dfs cluster status` as a person reads it: one line about `dfs up`, then a table of members.
struct ClusterStatusText {
    let reply: ClusterControlReply

    init(_ reply: ClusterControlReply) {
        self.reply = reply
    }

    var rendered: String {
        var table = TextTable("MEMBER", "STATE", "PID", "PORT", "LAST EXIT")
        for status in reply.members {
            table.append([
                status.member.description, status.state.rawValue, status.pid.map(String.init), String(status.port),
                status.state == .exited ? status.lastExit : nil,
            ])
        }
        return "dfs up (pid \(reply.supervisorPID)), restart on failure: \(reply.restartPolicy == "on-failure" ? "yes" : "no")\n"
            + table.rendered
    }
}
