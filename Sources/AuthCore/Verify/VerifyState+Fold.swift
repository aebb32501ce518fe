/// Folding the recent revocations into the verify state's tables (issue 24): shard by shard, a
/// snapshot published after each.
extension VerifyState {
    /// Merges `recent` into `s`'s base one shard at a time, publishing a snapshot after each (with
    /// `recent` and the old watermark: every revocation stays visible throughout), so a replaced
    /// table is released as soon as no reader is inside it: the memory a merge needs beside the
    /// tables is one shard's. `s` ends as the last of those snapshots.
    func fold(_ s: inout VerifySnapshot, adding: RevokedSessions, recent: RevokedSessions, removed: Set<String>, cutoff: Int64,
              blocked: [String: SessionCheck], apiKeys: [String: APIKeyIdentity], nodes: [String: NodeIdentity]) {
        let watermark = s.watermark, others = s.base.others
        var shards = s.base.shards
        let publish = { (shards: [RevokedTable], others: [String: Int64]) -> VerifySnapshot in
            let next = VerifySnapshot(base: RevokedBase(shards: shards, others: others), recent: recent, blockedUsers: blocked,
                                      apiKeys: apiKeys, nodes: nodes, watermark: watermark)
            self.cell.publish(next)
            return next
        }
        let kept = RevokedBase.fold(&shards, others: others, recent: adding, removed: removed, cutoff: cutoff) { partial in
            s = publish(partial, others)
        }
        s = VerifySnapshot(base: RevokedBase(shards: shards, others: kept), recent: recent, blockedUsers: blocked,
                           apiKeys: apiKeys, nodes: nodes, watermark: watermark)
    }
}
