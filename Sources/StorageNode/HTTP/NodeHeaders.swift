import DFSCore
import HTTPTypes

/// The node protocol's header names as `HTTPField.Name`s (spelled once, in `NodeProtocol`).
extension HTTPField.Name {
    static let dfsReplicateTo = HTTPField.Name(NodeProtocol.replicateToHeader)!
    static let dfsExpectedDigest = HTTPField.Name(NodeProtocol.expectedDigestHeader)!
    static let dfsExpectedBlockRoot = HTTPField.Name(NodeProtocol.expectedBlockRootHeader)!
    static let dfsReplicaIdleLimit = HTTPField.Name(NodeProtocol.replicaIdleLimitHeader)!
    static let dfsBlockRoot = HTTPField.Name(NodeProtocol.blockRootHeader)!
    static let dfsVerified = HTTPField.Name(NodeProtocol.verifiedHeader)!
    static let dfsContentLength = HTTPField.Name(NodeProtocol.contentLengthHeader)!
    static let dfsDamagedBlocks = HTTPField.Name(NodeProtocol.damagedBlocksHeader)!
    static let dfsChecksum = HTTPField.Name(NodeProtocol.checksumHeader)!
    static let dfsNodeID = HTTPField.Name(NodeProtocol.nodeIDHeader)!
    static let dfsClusterSecret = HTTPField.Name(ClusterSecret.headerName)!
}
