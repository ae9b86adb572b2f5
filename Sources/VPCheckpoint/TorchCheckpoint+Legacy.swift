extension TorchCheckpoint {
  /// The little-endian bytes of the legacy magic number 0x1950a86a20f9469cfc6c.
  static let legacyMagic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

  /// Reads a legacy (pre-1.6) `torch.save` file held in `bytes`.
  ///
  /// Layout: pickles of the magic number, the protocol version (1001), a `sys_info` dict, the state dict,
  /// and the list of storage keys; then, for each key in that order, an int64 element count followed by
  /// the storage's raw little-endian elements. Tensors share `bytes` without copying.
  static func loadLegacy(_ bytes: [UInt8], path: String) throws -> StateDict {
    let plain = Pickle()
    let (magic, afterMagic) = try plain.load(bytes, path: path)
    guard magic == .bigInt(legacyMagic) else {
      throw CheckpointError(
        path: path, kind: .notACheckpoint,
        problem: "not a torch checkpoint (bad magic: the first pickle holds a \(magic.kindDescription), "
          + "not 0x1950a86a20f9469cfc6c)")
    }
    let (version, afterVersion) = try plain.load(bytes, path: path, from: afterMagic)
    guard version == .int(1001) else {
      throw CheckpointError(
        path: path, kind: .unsupported,
        problem: "unsupported legacy torch protocol version "
          + (version.intValue.map(String.init) ?? version.kindDescription))
    }
    let (sysInfo, afterSysInfo) = try plain.load(bytes, path: path, from: afterVersion)
    if sysInfo["little_endian"] == .bool(false) {
      throw CheckpointError(
        path: path, kind: .unsupported, problem: "big-endian checkpoints are not supported")
    }
    let (root, afterRoot) = try Pickle(allowedGlobals: allowedGlobals).load(
      bytes, path: path, from: afterSysInfo)
    let declared = try declarations(of: root, path: path, member: "")
    let (keyList, afterKeys) = try plain.load(bytes, path: path, from: afterRoot)
    guard let keys = keyList.elements else {
      throw CheckpointError(
        path: path, kind: .malformed,
        problem: "the storage key list is a \(keyList.kindDescription), not a list")
    }
    var position = afterKeys
    var storages: [String: TensorStorage] = [:]
    for keyValue in keys {
      guard let key = keyValue.stringValue else {
        throw CheckpointError(
          path: path, kind: .malformed, problem: "storage key is a \(keyValue.kindDescription), not a string")
      }
      guard let record = declared.storages[key] else {
        throw CheckpointError(
          path: path, kind: .malformed, problem: "storage '\(key)' is listed but used by no tensor")
      }
      func truncated(_ need: Int) -> CheckpointError {
        CheckpointError(
          path: path, kind: .truncated,
          problem: "truncated storage data at byte \(position) (storage '\(key)' needs \(need) bytes, "
            + "\(max(0, bytes.count - position)) left)")
      }
      guard bytes.contains(offset: position, length: 8) else { throw truncated(8) }
      let count = bytes.loadLE(position, as: Int64.self)
      guard count == Int64(record.numel) else {
        throw CheckpointError(
          path: path, kind: .malformed,
          problem:
            "storage '\(key)' at byte \(position) holds \(count) elements, "
            + "the pickle declares \(record.numel)"
        )
      }
      position += 8
      let length = record.numel * record.dtype.byteSize  // checked when the record was made
      guard
        let storage = TensorStorage(
          bytes: bytes, byteOffset: position, elementCount: record.numel, dtype: record.dtype)
      else { throw truncated(length) }
      storages[key] = storage
      position += length
    }
    return try assemble(declared, storages: storages, path: path, format: .torchLegacy)
  }
}
