import Foundation
import Testing

@testable import Gateway

@Suite("Judging a returning node's inventory")
struct InventoryVerdictTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("a live file's blob is kept, a deleted file's is removed whatever its age")
    func liveAndDeleted() {
        #expect(InventoryVerdict.judge(state: .live, modifiedAt: 0, now: now, orphanGrace: .seconds(60)) == .keep)
        #expect(
            InventoryVerdict.judge(state: .deleted, modifiedAt: now.timeIntervalSince1970, now: now, orphanGrace: .seconds(60))
                == .removeDeleted)
    }

    @Test("a blob no file owns is removed only once older than the grace period")
    func orphansNeedGrace() {
        let young = now.timeIntervalSince1970 - 30
        let old = now.timeIntervalSince1970 - 61
        #expect(InventoryVerdict.judge(state: nil, modifiedAt: young, now: now, orphanGrace: .seconds(60)) == .spareYoungOrphan)
        #expect(InventoryVerdict.judge(state: nil, modifiedAt: old, now: now, orphanGrace: .seconds(60)) == .removeOrphan)
        #expect(
            InventoryVerdict.judge(state: nil, modifiedAt: now.timeIntervalSince1970, now: now, orphanGrace: .zero)
                == .removeOrphan)
    }
}
