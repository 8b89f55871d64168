import Foundation
import NIOCore

/// `--json`: the gateway's answer exactly as it came, for `jq` and scripts.
enum JSONOutput {
    static func print(_ reply: GatewayClient.Reply) {
        var text = String(buffer: reply.body)
        if !text.hasSuffix("\n") { text += "\n" }
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
