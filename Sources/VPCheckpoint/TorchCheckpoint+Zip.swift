extension TorchCheckpoint {
  /// Reads a zip-format (torch ≥ 1.6) `torch.save` file held in `bytes`.
  ///
  /// The archive holds `PREFIX/data.pkl` (the state dict pickle), `PREFIX/data/<key>` (one raw
  /// little-endian storage per key) and bookkeeping records (`version`, `byteorder`, …). Stored entries
  /// are shared without copying; deflated ones are inflated. A TorchScript archive (`torch.jit.save`, with
  /// `constants.pkl` and `code/`) is refused with the way to re-save its state dict.
  static func loadZip(_ bytes: [UInt8], path: String) throws -> StateDict {
    let archive = try ZipArchive(bytes: bytes, path: path)
    guard
      let pickleEntry = archive.entries.first(where: {
        $0.name == "data.pkl" || ($0.name.hasSuffix("/data.pkl") && $0.name.split(separator: "/").count == 2)
      })
    else {
      throw CheckpointError(
        path: path, kind: .notACheckpoint, problem: "not a torch checkpoint (zip archive has no data.pkl)")
    }
    let prefix = String(pickleEntry.name.dropLast("data.pkl".count))
    if archive.entry(named: prefix + "constants.pkl") != nil
      || archive.entries.contains(where: { $0.name.hasPrefix(prefix + "code/") })
    {
      throw CheckpointError(
        path: path, kind: .unsupported,
        problem: "a TorchScript archive (torch.jit.save: it holds \(prefix)constants.pkl and code/), not a state "
          + "dict; re-save its weights in Python with "
          + "torch.save(torch.jit.load(PATH, map_location=\"cpu\").state_dict(), NEW_PATH)")
    }
    if let byteOrder = archive.entry(named: prefix + "byteorder"),
      try archive.contents(of: byteOrder) == Array("big".utf8)
    {
      throw CheckpointError(
        path: path, kind: .unsupported, problem: "big-endian checkpoints are not supported")
    }
    let pickleBytes = try archive.contents(of: pickleEntry)
    let (root, _) = try Pickle(allowedGlobals: allowedGlobals).load(
      pickleBytes, path: path, member: pickleEntry.name)
    let declared = try declarations(of: root, path: path, member: " (in \(pickleEntry.name))")
    var storages: [String: TensorStorage] = [:]
    for tensor in declared.tensors where storages[tensor.storageKey] == nil {
      guard let record = declared.storages[tensor.storageKey] else { continue }
      let key = record.key
      let name = prefix + "data/" + key
      guard let entry = archive.entry(named: name) else {
        throw CheckpointError(
          path: path, kind: .malformed, problem: "zip archive has no storage entry '\(name)'")
      }
      let data = try archive.data(of: entry)
      guard
        let storage = TensorStorage(
          bytes: data.bytes, byteOffset: data.range.lowerBound, elementCount: record.numel,
          dtype: record.dtype),
        data.range.count >= record.numel * record.dtype.byteSize
      else {
        throw CheckpointError(
          path: path, kind: .malformed,
          problem: "storage entry '\(name)' holds \(data.range.count) bytes, "
            + "but \(record.numel) \(record.dtype) elements need \(record.numel * record.dtype.byteSize)")
      }
      storages[key] = storage
    }
    return try assemble(declared, storages: storages, path: path, format: .torchZip)
  }
}
