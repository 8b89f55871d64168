import DFSCore
import DFSMetadata
import Foundation
import Testing

/// One suite, every backend: the same assertions hold for each driver.
@Suite("MetadataStore conformance")
struct MetadataStoreConformanceTests {
    @Test("nodes register, keep their status across re-registration, and record probes", arguments: TestBackend.all)
    func nodesRegisterAndProbe(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            try await store.registerNode(id: node("node-2"), address: "http://127.0.0.1:8002", role: .replica)
            try await store.registerNode(id: node("node-1"), address: "http://127.0.0.1:8001", role: .main)
            var nodes = try await store.nodes()
            #expect(nodes.map(\.id.rawValue) == ["node-1", "node-2"])
            #expect(nodes.allSatisfy { $0.status == .down })
            let probeTime = Date(timeIntervalSince1970: 1_800_000_000.5)
            try await store.recordProbe(of: node("node-1"), status: .up, latencyMs: 1.5, at: probeTime)
            try await store.registerNode(id: node("node-1"), address: "http://127.0.0.1:9001", role: .main)
            nodes = try await store.nodes()
            #expect(nodes[0].status == .up)
            #expect(nodes[0].address == "http://127.0.0.1:9001")
            #expect(nodes[0].latencyMs == 1.5)
            #expect(nodes[0].lastHeartbeat == probeTime)
            #expect(nodes[0].statusChangedAt == probeTime)
        }
    }

    @Test(
        "a node starts ACTIVE, drains and activates; removing it forgets its locations and cancels its queue",
        arguments: TestBackend.all)
    func nodeLifecycle(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            for id in ["node-1", "node-2", "node-3"] {
                try await store.registerNode(id: node(id), address: "http://127.0.0.1:8001", role: .replica)
            }
            #expect(try await store.nodes().allSatisfy { $0.state == .active })
            #expect(try await store.setNodeState(node("node-2"), to: .draining))
            #expect(try await !store.setNodeState(node("node-9"), to: .draining))
            // Re-registration (a node restarting) keeps the state an operator chose.
            try await store.registerNode(id: node("node-2"), address: "http://127.0.0.1:8002", role: .replica)
            #expect(try await store.nodes().map(\.state) == [.active, .draining, .active])

            let file = sampleFile("k1", name: "a.txt")
            try await store.recordUpload(
                file, verifiedOn: [node("node-1"), node("node-2")], verifiedAt: file.uploadedAt,
                queue: [
                    NewQueueItem(
                        fileKey: file.key, targetNodeID: node("node-2"), sourceNodeID: node("node-1"), kind: .delete,
                        reason: "test")
                ])
            let deleted = sampleFile("k2", name: "b.txt")
            try await store.recordUpload(deleted, verifiedOn: [node("node-2")], verifiedAt: deleted.uploadedAt, queue: [])
            _ = try await store.markDeleted(deleted.key, removedFrom: [node("node-2")], pendingOn: [], at: Date())
            #expect(try await store.activeLocationCount(on: node("node-2")) == 1)
            #expect(try await store.activeLocationCount(on: node("node-3")) == 0)

            #expect(try await store.removeNode(node("node-2"), at: Date()))
            #expect(try await !store.removeNode(node("node-2"), at: Date()))
            #expect(try await store.nodes().map(\.id.rawValue) == ["node-1", "node-3"])
            #expect(try await store.file(file.key)?.locations.map(\.nodeID.rawValue) == ["node-1"])
            #expect(try await store.activeLocationCount(on: node("node-2")) == 0)
            #expect(try await store.queueItems(QueueFilter()).map(\.status) == [.cancelled])
            #expect(try await store.setNodeState(node("node-3"), to: .drained))
            #expect(try await store.setNodeState(node("node-3"), to: .active))
            #expect(try await store.nodes().map(\.state) == [.active, .active])
        }
    }

    @Test(
        "a node's held files page by key with their locations and queued copies; deleted files and other nodes' are left out",
        arguments: TestBackend.all)
    func heldFilesPage(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            for (raw, holders) in [("k3", ["node-1"]), ("k1", ["node-1"]), ("k2", ["node-1", "node-2"]), ("k4", ["node-2"])] {
                let file = sampleFile(raw)
                try await store.recordUpload(
                    file, verifiedOn: holders.map(node), verifiedAt: file.uploadedAt,
                    queue: raw == "k1"
                        ? [
                            NewQueueItem(
                                fileKey: file.key, targetNodeID: node("node-3"), sourceNodeID: nil, kind: .replicate, reason: "t")
                        ]
                        : [])
            }
            let gone = sampleFile("k0")
            try await store.recordUpload(gone, verifiedOn: [node("node-1")], verifiedAt: gone.uploadedAt, queue: [])
            _ = try await store.markDeleted(gone.key, removedFrom: [], pendingOn: [], at: Date())

            let first = try await store.heldFiles(on: node("node-1"), after: nil, limit: 2)
            #expect(first.map(\.entry.file.key.rawValue) == ["k1", "k2"])
            #expect(first[0].comingTo == [node("node-3")] && first[1].comingTo.isEmpty)
            #expect(first[1].entry.verifiedReplicas.map(\.rawValue) == ["node-1", "node-2"])
            let second = try await store.heldFiles(on: node("node-1"), after: first.last?.entry.file.key, limit: 2)
            #expect(second.map(\.entry.file.key.rawValue) == ["k3"])
            #expect(try await store.heldFiles(on: node("node-1"), after: key("k3"), limit: 2).isEmpty)
        }
    }

    @Test(
        "a moved copy is counted and the old one retired together; a source retired meanwhile is reported",
        arguments: TestBackend.all)
    func moveCopySwapsLocations(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            let file = sampleFile("k1")
            try await store.recordUpload(
                file, verifiedOn: ["node-1", "node-2", "node-3"].map(node), verifiedAt: file.uploadedAt, queue: [])
            #expect(try await store.moveCopy(file.key, to: node("node-4"), from: node("node-1"), verifiedAt: Date()))
            #expect(try await store.file(file.key)?.verifiedReplicas.map(\.rawValue) == ["node-2", "node-3", "node-4"])
            // The old copy is gone already: the new one is still recorded, and the caller is told.
            #expect(try await !store.moveCopy(file.key, to: node("node-5"), from: node("node-1"), verifiedAt: Date()))
            #expect(
                try await store.file(file.key)?.verifiedReplicas.map(\.rawValue) == ["node-2", "node-3", "node-4", "node-5"])
            // Moving back onto a node whose copy was retired makes that location ACTIVE again.
            #expect(try await store.moveCopy(file.key, to: node("node-1"), from: node("node-5"), verifiedAt: Date()))
            #expect(
                try await store.file(file.key)?.verifiedReplicas.map(\.rawValue) == ["node-1", "node-2", "node-3", "node-4"])
        }
    }

    @Test("a copy is retired only while enough other verified copies remain", arguments: TestBackend.all)
    func retireKeepsTheFactor(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            let file = sampleFile("k1")
            try await store.recordUpload(
                file, verifiedOn: ["node-1", "node-2", "node-3", "node-4"].map(node), verifiedAt: file.uploadedAt, queue: [])
            #expect(try await store.retireCopy(file.key, on: node("node-4"), keepingAtLeast: 3))
            #expect(try await !store.retireCopy(file.key, on: node("node-3"), keepingAtLeast: 3))
            #expect(try await store.file(file.key)?.verifiedReplicas.map(\.rawValue) == ["node-1", "node-2", "node-3"])
            // A download that still tried the retired copy does not bring it back as a repair.
            #expect(
                try await !store.markReplicaLost(file.key, on: node("node-4"), status: .missing, reason: "404", at: Date()))
            #expect(try await store.queueItems(QueueFilter()).isEmpty)
        }
    }

    @Test("an upload is recorded with its verified locations and queue items in one step", arguments: TestBackend.all)
    func uploadIsRecorded(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            let file = sampleFile("k1", name: "quote's \"name\" 100% ünïcode.txt")
            try await store.recordUpload(
                file, verifiedOn: [node("node-1"), node("node-3")], verifiedAt: file.uploadedAt,
                queue: [
                    NewQueueItem(
                        fileKey: file.key, targetNodeID: node("node-2"), sourceNodeID: node("node-1"), kind: .replicate,
                        reason: "down")
                ])
            let entry = try #require(try await store.file(file.key))
            #expect(entry.file == file)
            #expect(entry.verifiedReplicas.map(\.rawValue) == ["node-1", "node-3"])
            let queue = try await store.queueItems(QueueFilter())
            #expect(queue.count == 1)
            #expect(queue[0].status == .pending)
            #expect(queue[0].targetNodeID == node("node-2"))
            #expect(queue[0].sourceNodeID == node("node-1"))
            #expect(queue[0].errorMessage == "down")
        }
    }

    @Test(
        "a file's block root is kept with it; an older file without one gets it once, a deleted one never",
        arguments: TestBackend.all)
    func blockRoots(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            let root = try #require(SHA256Digest(hex: String(repeating: "ab", count: 32)))
            let other = try #require(SHA256Digest(hex: String(repeating: "cd", count: 32)))
            var withRoot = sampleFile("rooted")
            withRoot.blockRoot = root
            try await store.recordUpload(withRoot, verifiedOn: [node("node-1")], verifiedAt: Date(), queue: [])
            #expect(try await store.file(withRoot.key)?.file.blockRoot == root)
            #expect(try await store.recordBlockRoot(withRoot.key, root: other) == false, "a recorded root is never replaced")
            #expect(try await store.file(withRoot.key)?.file.blockRoot == root)

            let older = sampleFile("older")
            try await store.recordUpload(older, verifiedOn: [node("node-1")], verifiedAt: Date(), queue: [])
            #expect(try await store.file(older.key)?.file.blockRoot == nil)
            #expect(try await store.recordBlockRoot(older.key, root: root))
            #expect(try await store.file(older.key)?.file.blockRoot == root)
            #expect(try await store.listFiles(limit: 10, before: nil).first { $0.file.key == older.key }?.file.blockRoot == root)

            let gone = sampleFile("gone")
            try await store.recordUpload(gone, verifiedOn: [node("node-1")], verifiedAt: Date(), queue: [])
            _ = try await store.markDeleted(gone.key, removedFrom: [node("node-1")], pendingOn: [], at: Date())
            #expect(try await store.recordBlockRoot(gone.key, root: root) == false)
        }
    }

    @Test("recording the same key twice is refused and leaves the first intact", arguments: TestBackend.all)
    func duplicateKeyRefused(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            try await store.recordUpload(sampleFile("dup"), verifiedOn: [node("node-1")], verifiedAt: Date(), queue: [])
            var other = sampleFile("dup")
            other.originalFilename = "other"
            await #expect(throws: MetadataError.self) {
                try await store.recordUpload(
                    other, verifiedOn: [node("node-2")], verifiedAt: Date(),
                    queue: [
                        NewQueueItem(
                            fileKey: other.key, targetNodeID: node("node-3"), sourceNodeID: nil, kind: .replicate, reason: nil)
                    ])
            }
            let entry = try #require(try await store.file(key("dup")))
            #expect(entry.file.originalFilename == "a.txt")
            #expect(entry.verifiedReplicas == [node("node-1")])
            #expect(try await store.queueItems(QueueFilter()).isEmpty)
        }
    }

    @Test(
        "concurrent uploads are all recorded; of two with one key, one wins and the other alone is refused",
        arguments: TestBackend.all)
    func concurrentUploadsWithDuplicates(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            let outcomes = await withTaskGroup(of: (String, String, Bool).self) { group in
                for index in 0..<40 {
                    for name in index < 10 ? ["first", "second"] : ["only"] {
                        group.addTask {
                            let file = sampleFile("c\(index)", name: name)
                            let queued = NewQueueItem(
                                fileKey: file.key, targetNodeID: node("node-3"), sourceNodeID: node("node-1"), kind: .replicate,
                                reason: name)
                            do {
                                try await store.recordUpload(
                                    file, verifiedOn: [node("node-1")], verifiedAt: Date(), queue: [queued])
                                return (file.key.rawValue, name, true)
                            } catch MetadataError.fileAlreadyExists {
                                return (file.key.rawValue, name, false)
                            } catch {
                                Issue.record("unexpected \(error)")
                                return (file.key.rawValue, name, false)
                            }
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let winners = outcomes.filter(\.2)
            #expect(winners.count == 40)
            #expect(Set(winners.map(\.0)).count == 40)
            #expect(try await store.listFiles(limit: 100, before: nil).count == 40)
            for winner in winners {
                #expect(try await store.file(key(winner.0))?.file.originalFilename == winner.1)
            }
            let queue = try await store.queueItems(QueueFilter())
            #expect(queue.count == 40, "only the recorded uploads' queue items remain")
            #expect(
                Set(queue.map { "\($0.fileKey.rawValue)/\($0.errorMessage ?? "")" }) == Set(winners.map { "\($0.0)/\($0.1)" }))
        }
    }

    @Test("files page newest first with a cursor", arguments: TestBackend.all)
    func filesPage(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            for index in 0..<5 {
                try await store.recordUpload(
                    sampleFile("f\(index)", at: 1_800_000_000 + Double(index)), verifiedOn: [node("node-1")], verifiedAt: Date(),
                    queue: [])
            }
            let first = try await store.listFiles(limit: 2, before: nil)
            #expect(first.map(\.file.key.rawValue) == ["f4", "f3"])
            let second = try await store.listFiles(limit: 2, before: first.last!.sequence)
            #expect(second.map(\.file.key.rawValue) == ["f2", "f1"])
            let third = try await store.listFiles(limit: 2, before: second.last!.sequence)
            #expect(third.map(\.file.key.rawValue) == ["f0"])
        }
    }

    @Test(
        "a name search finds keys and original names containing the text, case ignored (also beyond ASCII), with the cursor",
        arguments: TestBackend.all)
    func filesSearch(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            let files = [
                sampleFile("report-2024", at: 1_800_000_000, name: "Q1.pdf"),
                sampleFile("k-photo", at: 1_800_000_001, name: "Holiday REPORT.jpg"),
                sampleFile("k-other", at: 1_800_000_002, name: "notes.txt"),
                sampleFile("k-umlaut", at: 1_800_000_003, name: "ÄRGER_Bericht.pdf"),
                sampleFile("k-percent", at: 1_800_000_004, name: "100%_done_x.txt"),
                sampleFile("k-report-late", at: 1_800_000_005, name: "x.bin"),
                // "Cafe" followed by a combining acute accent (decomposed é): the text is compared as UTF-8 bytes.
                sampleFile("k-decomposed", at: 1_800_000_006, name: "CAFE\u{301} menu.txt"),
                sampleFile("k-cjk", at: 1_800_000_007, name: "報告 Ärger 2024.pdf"),
            ]
            for file in files { try await store.recordUpload(file, verifiedOn: [node("node-1")], verifiedAt: Date(), queue: []) }
            func search(_ text: String, limit: Int = 10, before: Int64? = nil) async throws -> [String] {
                let page = try await store.listFiles(
                    limit: limit, before: before, matching: try FileNameSearch(text), scanSpan: FilePage.unindexedScanSpan)
                #expect(page.nextBefore == nil, "a small store is scanned whole in one page")
                return page.entries.map(\.file.key.rawValue)
            }
            #expect(try await search("RePoRt") == ["k-report-late", "k-photo", "report-2024"])
            #expect(try await search("ärger") == ["k-cjk", "k-umlaut"])
            #expect(try await search("報告") == ["k-cjk"])
            #expect(try await search("告 äR") == ["k-cjk"])
            // Neither % nor _ is a wildcard, and accents are not ignored.
            #expect(try await search("%_d") == ["k-percent"])
            #expect(try await search("_") == ["k-percent", "k-umlaut"])
            #expect(try await search("arger").isEmpty)
            #expect(try await search("no such name").isEmpty)
            #expect(try await search("cafe") == ["k-decomposed"])
            #expect(try await search("e\u{301} M") == ["k-decomposed"])
            let first = try await store.listFiles(
                limit: 2, before: nil, matching: try FileNameSearch("report"), scanSpan: FilePage.unindexedScanSpan)
            #expect(first.entries.map(\.file.key.rawValue) == ["k-report-late", "k-photo"])
            #expect(first.nextBefore == first.entries.last!.sequence)
            #expect(try await search("report", before: first.nextBefore) == ["report-2024"])
            #expect(try await store.markDeleted(key("k-photo"), removedFrom: [node("node-1")], pendingOn: [], at: Date()))
            #expect(try await search("report") == ["k-report-late", "report-2024"])
            // Full-text query syntax in the text (quotes, OR, *, NEAR) is only text.
            let quoted = sampleFile("k-quoted", at: 1_800_000_008, name: "he said \"yes\" OR no* NEAR(x).txt")
            try await store.recordUpload(quoted, verifiedOn: [node("node-1")], verifiedAt: Date(), queue: [])
            #expect(try await search("\"YES\" or") == ["k-quoted"])
            #expect(try await search("no* near(") == ["k-quoted"])
            #expect(try await search("yes OR").isEmpty)
            // Caseless scripts go through the same lookup as ASCII.
            let invoice = sampleFile("k-invoice", at: 1_800_000_009, name: "請求書 2024.pdf")
            try await store.recordUpload(invoice, verifiedOn: [node("node-1")], verifiedAt: Date(), queue: [])
            #expect(try await search("請求書") == ["k-invoice"])
            #expect(try await search("求書 2") == ["k-invoice"])
            #expect(try await search("請求書書").isEmpty)
        }
    }

    @Test(
        "a search no index serves reads a bounded span per page and says where it goes on; following the cursor finds every match once",
        arguments: TestBackend.all)
    func boundedSearchScan(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            // Two-letter texts have no trigram on SQLite; MariaDB scans every search.
            let names = (0..<23).map { $0 % 5 == 0 ? "zq-\($0).txt" : "plain-\($0).txt" }
            for (index, name) in names.enumerated() {
                let file = sampleFile("k-\(index)", at: 1_800_000_000 + Double(index), name: name)
                try await store.recordUpload(file, verifiedOn: [node("node-1")], verifiedAt: Date(), queue: [])
            }
            let search = try FileNameSearch("zQ")
            var found: [String] = []
            var before: Int64? = nil
            var pages = 0
            repeat {
                let page = try await store.listFiles(limit: 10, before: before, matching: search, scanSpan: 4)
                #expect(page.entries.count <= 1, "4 sequence numbers hold at most one match of every fifth file")
                if let next = page.nextBefore, let oldest = page.entries.last?.sequence { #expect(next <= oldest) }
                found += page.entries.map(\.file.key.rawValue)
                before = page.nextBefore
                pages += 1
            } while before != nil && pages < 100
            #expect(found == ["k-20", "k-15", "k-10", "k-5", "k-0"])
            #expect(pages == 6, "23 files, 4 sequence numbers a page")
            // The limit still ends a page first when matches are dense, and without a text nothing is bounded.
            let dense = try await store.listFiles(
                limit: 3, before: nil, matching: try FileNameSearch("pl"), scanSpan: 100)
            #expect(dense.entries.count == 3 && dense.nextBefore == dense.entries.last?.sequence)
            let all = try await store.listFiles(limit: 100, before: nil, matching: nil, scanSpan: 4)
            #expect(all.entries.count == 23 && all.nextBefore == nil)
        }
    }

    @Test("a deleted file disappears, cancels its repairs and queues deletes for unreachable nodes", arguments: TestBackend.all)
    func deleteTombstones(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            let file = sampleFile("gone")
            try await store.recordUpload(
                file, verifiedOn: [node("node-1"), node("node-3")], verifiedAt: Date(),
                queue: [
                    NewQueueItem(
                        fileKey: file.key, targetNodeID: node("node-2"), sourceNodeID: node("node-1"), kind: .replicate,
                        reason: nil)
                ])
            #expect(try await store.markDeleted(file.key, removedFrom: [node("node-1")], pendingOn: [node("node-3")], at: Date()))
            #expect(try await store.file(file.key) == nil)
            #expect(try await store.listFiles(limit: 10, before: nil).isEmpty)
            #expect(try await store.markDeleted(file.key, removedFrom: [], pendingOn: [], at: Date()) == false)
            let items = try await store.queueItems(QueueFilter())
            #expect(items.first { $0.kind == .replicate }?.status == .cancelled)
            let deletes = items.filter { $0.kind == .delete }
            #expect(deletes.map(\.targetNodeID) == [node("node-3")])
            #expect(deletes.first?.status == .pending)
        }
    }

    @Test(
        "a delete marked first queues every node; the nodes it reached at once are completed, the rest stay pending",
        arguments: TestBackend.all)
    func deleteMarkedFirstThenCompleted(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            let file = sampleFile("gone-first")
            try await store.recordUpload(
                file, verifiedOn: [node("node-1"), node("node-2"), node("node-3")], verifiedAt: Date(), queue: [])
            let holders = [node("node-1"), node("node-2"), node("node-3")]
            #expect(try await store.markDeleted(file.key, removedFrom: [], pendingOn: holders, at: Date()))
            #expect(try await store.file(file.key) == nil)
            try await store.completeDeletes(of: file.key, on: [node("node-1"), node("node-3")], at: Date())
            let deletes = try await store.queueItems(QueueFilter()).filter { $0.kind == .delete && $0.fileKey == file.key }
            #expect(
                Dictionary(uniqueKeysWithValues: deletes.map { ($0.targetNodeID, $0.status) }) == [
                    node("node-1"): .completed, node("node-2"): .pending, node("node-3"): .completed,
                ])
        }
    }

    @Test("enqueue skips a duplicate live item", arguments: TestBackend.all)
    func noDuplicateLiveItems(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            let item = NewQueueItem(
                fileKey: key("x"), targetNodeID: node("node-2"), sourceNodeID: nil, kind: .replicate, reason: nil)
            try await store.enqueue([item, item], at: Date())
            try await store.enqueue([item], at: Date())
            #expect(try await store.queueItems(QueueFilter()).count == 1)
        }
    }

    @Test("claims move items to IN_PROGRESS, failures back off to FAILED, completion sticks", arguments: TestBackend.all)
    func claimLifecycle(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            try await store.enqueue(
                [
                    NewQueueItem(
                        fileKey: key("a"), targetNodeID: node("node-2"), sourceNodeID: nil, kind: .replicate, reason: nil),
                    NewQueueItem(
                        fileKey: key("b"), targetNodeID: node("node-3"), sourceNodeID: nil, kind: .replicate, reason: nil),
                ], at: now)
            let claimed = try await store.claimQueueItems(
                for: node("node-2"), owner: "w1", includeFailed: false, now: now, leaseUntil: now.addingTimeInterval(60),
                limit: 10)
            #expect(claimed.map(\.fileKey) == [key("a")])
            #expect(claimed[0].status == .inProgress)
            // Claimed items are not handed out twice.
            #expect(
                try await store.claimQueueItems(
                    for: node("node-2"), owner: "w2", includeFailed: false, now: now, leaseUntil: now.addingTimeInterval(60),
                    limit: 10
                ).isEmpty)

            #expect(
                try await store.failQueueItem(
                    claimed[0].id, owner: "w1", error: "refused", at: now, retryAt: now.addingTimeInterval(30), maxRetries: 2))
            var item = try await store.queueItems(QueueFilter(targetNodeID: node("node-2")))[0]
            #expect(item.status == .pending)
            #expect(item.retryCount == 1)
            #expect(item.errorMessage == "refused")
            // Not due before its backoff has passed.
            #expect(
                try await store.claimQueueItems(
                    for: node("node-2"), owner: "w1", includeFailed: false, now: now.addingTimeInterval(10),
                    leaseUntil: now.addingTimeInterval(70), limit: 10
                ).isEmpty)
            let again = try await store.claimQueueItems(
                for: node("node-2"), owner: "w1", includeFailed: false, now: now.addingTimeInterval(31),
                leaseUntil: now.addingTimeInterval(90), limit: 10)
            #expect(again.count == 1)
            #expect(
                try await store.failQueueItem(
                    again[0].id, owner: "w1", error: "refused again", at: now, retryAt: now.addingTimeInterval(60), maxRetries: 2)
            )
            item = try await store.queueItems(QueueFilter(targetNodeID: node("node-2")))[0]
            #expect(item.status == .failed)
            #expect(item.retryCount == 2)

            // A manual recover takes FAILED items too, and completion is final.
            let manual = try await store.claimQueueItems(
                for: node("node-2"), owner: "w1", includeFailed: true, now: now, leaseUntil: now.addingTimeInterval(60), limit: 10
            )
            #expect(manual.count == 1)
            #expect(try await store.completeQueueItem(manual[0].id, owner: "w1", at: now))
            item = try await store.queueItems(QueueFilter(targetNodeID: node("node-2")))[0]
            #expect(item.status == .completed)
            #expect(item.completedAt != nil)
        }
    }

    @Test("a worker whose claim ran out or was taken over can neither complete nor fail the item", arguments: TestBackend.all)
    func lostClaimChangesNothing(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            try await store.enqueue(
                [NewQueueItem(fileKey: key("a"), targetNodeID: node("node-2"), sourceNodeID: nil, kind: .replicate, reason: nil)],
                at: now)
            let first = try await store.claimQueueItems(
                for: node("node-2"), owner: "paused", includeFailed: false, now: now, leaseUntil: now.addingTimeInterval(60),
                limit: 10)
            let id = try #require(first.first?.id)
            // The lease ran out: nobody took the item yet, but the old owner no longer holds it.
            #expect(try await store.completeQueueItem(id, owner: "paused", at: now.addingTimeInterval(61)) == false)
            #expect(try await store.queueItems(QueueFilter())[0].status == .inProgress)
            // Another worker reclaims it; the old owner wakes up and reports, then the new owner finishes.
            #expect(try await store.releaseExpiredClaims(now: now.addingTimeInterval(61)) == 1)
            let second = try await store.claimQueueItems(
                for: node("node-2"), owner: "other", includeFailed: false, now: now.addingTimeInterval(62),
                leaseUntil: now.addingTimeInterval(122), limit: 10)
            #expect(second.map(\.id) == [id])
            #expect(
                try await store.failQueueItem(
                    id, owner: "paused", error: "woke up", at: now.addingTimeInterval(63), retryAt: now, maxRetries: 1) == false)
            #expect(try await store.completeQueueItem(id, owner: "paused", at: now.addingTimeInterval(63)) == false)
            var item = try await store.queueItems(QueueFilter())[0]
            #expect(
                item.status == .inProgress && item.retryCount == 0 && item.errorMessage == nil, "the old owner changed nothing")
            #expect(try await store.completeQueueItem(id, owner: "other", at: now.addingTimeInterval(64)))
            item = try await store.queueItems(QueueFilter())[0]
            #expect(item.status == .completed)
            #expect(
                try await store.failQueueItem(
                    id, owner: "other", error: "late", at: now.addingTimeInterval(65), retryAt: now, maxRetries: 1) == false)
            #expect(try await store.queueItems(QueueFilter())[0].status == .completed, "completion is final")
        }
    }

    @Test("an expired claim returns to PENDING", arguments: TestBackend.all)
    func expiredClaimsRelease(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            try await store.enqueue(
                [NewQueueItem(fileKey: key("a"), targetNodeID: node("node-2"), sourceNodeID: nil, kind: .replicate, reason: nil)],
                at: now)
            _ = try await store.claimQueueItems(
                for: node("node-2"), owner: "dead", includeFailed: false, now: now, leaseUntil: now.addingTimeInterval(60),
                limit: 10)
            #expect(try await store.releaseExpiredClaims(now: now.addingTimeInterval(30)) == 0)
            #expect(try await store.releaseExpiredClaims(now: now.addingTimeInterval(61)) == 1)
            #expect(try await store.queueItems(QueueFilter())[0].status == .pending)
        }
    }

    @Test("a lease is renewed only by its owner, and a renewed claim does not expire at the old time", arguments: TestBackend.all)
    func leaseRenewal(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            try await store.enqueue(
                [NewQueueItem(fileKey: key("a"), targetNodeID: node("node-2"), sourceNodeID: nil, kind: .replicate, reason: nil)],
                at: now)
            let claimed = try await store.claimQueueItems(
                for: node("node-2"), owner: "w1", includeFailed: false, now: now, leaseUntil: now.addingTimeInterval(60),
                limit: 10)
            let ids = claimed.map(\.id)
            #expect(try await store.renewClaims(ids, owner: "w2", leaseUntil: now.addingTimeInterval(600)) == 0)
            #expect(try await store.renewClaims(ids, owner: "w1", leaseUntil: now.addingTimeInterval(120)) == 1)
            #expect(try await store.renewClaims(ids, owner: "w1", leaseUntil: now.addingTimeInterval(120)) == 1)
            #expect(try await store.renewClaims([], owner: "w1", leaseUntil: now.addingTimeInterval(120)) == 0)
            #expect(try await store.releaseExpiredClaims(now: now.addingTimeInterval(90)) == 0)
            #expect(try await store.releaseExpiredClaims(now: now.addingTimeInterval(121)) == 1)
            // Reclaimed after expiry: the first owner no longer holds it.
            _ = try await store.claimQueueItems(
                for: node("node-2"), owner: "w2", includeFailed: false, now: now.addingTimeInterval(122),
                leaseUntil: now.addingTimeInterval(200), limit: 10)
            #expect(try await store.renewClaims(ids, owner: "w1", leaseUntil: now.addingTimeInterval(300)) == 0)
        }
    }

    @Test("locations record verification and damage", arguments: TestBackend.all)
    func locations(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            let file = sampleFile("loc")
            try await store.recordUpload(file, verifiedOn: [node("node-1")], verifiedAt: file.uploadedAt, queue: [])
            try await store.recordLocation(file.key, on: node("node-1"), status: .corrupt, verifiedAt: nil)
            try await store.recordLocation(
                file.key, on: node("node-2"), status: .active, verifiedAt: file.uploadedAt.addingTimeInterval(5))
            let entry = try #require(try await store.file(file.key))
            #expect(entry.verifiedReplicas == [node("node-2")])
            #expect(entry.locations.first { $0.nodeID == node("node-1") }?.status == .corrupt)
            #expect(entry.locations.first { $0.nodeID == node("node-1") }?.lastVerifiedAt == file.uploadedAt)
        }
    }

    @Test(
        "filenames with quotes, backslashes, % and multibyte characters round-trip unchanged; keys keep their case",
        arguments: TestBackend.all)
    func awkwardTextRoundTrips(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            let names = [
                #"it's "quoted" \back\slashed\ 100% _under_ ünïcödé 日本語 🚀.txt"#,
                #"'; DROP TABLE files; -- \' \" %_"#,
                "trailing space ",
            ]
            for (index, name) in names.enumerated() {
                let file = sampleFile("odd-\(index)", name: name)
                try await store.recordUpload(
                    file, verifiedOn: [node("node-1")], verifiedAt: file.uploadedAt,
                    queue: [
                        NewQueueItem(
                            fileKey: file.key, targetNodeID: node("node-2"), sourceNodeID: nil, kind: .replicate, reason: name)
                    ])
                let entry = try #require(try await store.file(file.key))
                #expect(entry.file.originalFilename == name)
            }
            #expect(try await store.queueItems(QueueFilter()).map(\.errorMessage) == names)
            // Keys that differ only in case or by a trailing character are different files.
            try await store.recordUpload(
                sampleFile("Case.Key", name: "upper"), verifiedOn: [node("node-1")], verifiedAt: Date(), queue: [])
            try await store.recordUpload(
                sampleFile("case.key", name: "lower"), verifiedOn: [node("node-1")], verifiedAt: Date(), queue: [])
            #expect(try await store.file(key("Case.Key"))?.file.originalFilename == "upper")
            #expect(try await store.file(key("case.key"))?.file.originalFilename == "lower")
            #expect(try await store.file(key("case.ke")) == nil)
        }
    }

    // Serialized: SQLite waits for a lock inside sqlite3_step, on one of SQLiteNIO's shared pool threads (as many as
    // cores). Two such tests at once can park every pool thread in lock waits while the lock holder's COMMIT queues
    // behind them, until busy_timeout. A gateway holds one connection per file, so only this test meets it.
    @Test(
        "two stores on one database claiming concurrently never hand out the same item", .serialized, arguments: TestBackend.all)
    func concurrentClaimsAreExclusive(_ backend: TestBackend) async throws {
        try await backend.withFreshStores(count: 2) { stores in
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let items = (0..<40).map {
                NewQueueItem(
                    fileKey: key("c\($0)"), targetNodeID: node("node-2"), sourceNodeID: nil, kind: .replicate, reason: nil)
            }
            try await stores[0].enqueue(items, at: now)
            // Each store claims small batches in a loop until the queue is empty; both run at once.
            let claimedIDs = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for (index, store) in stores.enumerated() {
                    group.addTask {
                        var mine: [Int64] = []
                        while true {
                            let batch = try await store.claimQueueItems(
                                for: node("node-2"), owner: "gateway-\(index)", includeFailed: false, now: now,
                                leaseUntil: now.addingTimeInterval(60), limit: 3)
                            if batch.isEmpty { return mine }
                            mine += batch.map(\.id)
                        }
                    }
                }
                var all: [Int64] = []
                for try await ids in group { all += ids }
                return all
            }
            #expect(claimedIDs.count == items.count)
            #expect(Set(claimedIDs).count == items.count)
            #expect(try await stores[1].queueItems(QueueFilter(status: .inProgress)).count == items.count)
        }
    }
}

@Suite("SQLite migrations")
struct SQLiteMigrationTests {
    @Test("every file in schema/sqlite is a listed migration, numbered in order")
    func migrationsMatchSchemaFolder() throws {
        let schemaFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("schema/sqlite")
        let files = try FileManager.default.contentsOfDirectory(atPath: schemaFolder.path).filter { $0.hasSuffix(".sql") }
            .sorted()
        #expect(files == Migration.sqlite.map(\.name))
        #expect(Migration.sqlite.map(\.version) == Array(1...Migration.sqlite.count))
        for migration in Migration.sqlite {
            let onDisk = try String(contentsOf: schemaFolder.appendingPathComponent(migration.name), encoding: .utf8)
            #expect(onDisk == migration.sql)
        }
    }

    @Test("reopening a database applies nothing twice")
    func reopenIsIdempotent() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-mig-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try await SQLiteMetadataStore.open(path: path, logger: .init(label: "t"))
        try await first.recordUpload(sampleFile("keep"), verifiedOn: [node("node-1")], verifiedAt: Date(), queue: [])
        try await first.close()
        let second = try await SQLiteMetadataStore.open(path: path, logger: .init(label: "t"))
        #expect(try await second.appliedMigrations() == Migration.sqlite.map(\.version))
        #expect(try await second.file(key("keep")) != nil)
        try await second.close()
    }
}
