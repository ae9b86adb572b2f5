/// Loads the checkpoint at `path`, whatever its format (torch zip, legacy torch, or safetensors).
///
/// The format is sniffed from the leading bytes (`CheckpointFormat.detect`), never from the extension.
/// Any problem — unreadable file, unknown format, malformed or hostile content — throws a
/// `CheckpointError` whose description starts with `path`.
public func loadCheckpoint(_ path: String) throws -> StateDict {
  try loadCheckpoint(bytes: FileIO.readAll(path), path: path)
}

/// Loads a checkpoint held in memory; `path` names it in errors.
public func loadCheckpoint(bytes: [UInt8], path: String) throws -> StateDict {
  switch CheckpointFormat.detect(bytes) {
  case .torchZip: return try TorchCheckpoint.loadZip(bytes, path: path)
  case .torchLegacy: return try TorchCheckpoint.loadLegacy(bytes, path: path)
  case .safetensors: return try Safetensors.read(bytes: bytes, path: path)
  case nil:
    guard !bytes.isEmpty else {
      throw CheckpointError(path: path, kind: .truncated, problem: "empty file, not a checkpoint")
    }
    let leading = bytes.prefix(8).map { b in
      let digits = String(b, radix: 16)
      return digits.count == 1 ? "0" + digits : digits
    }
    throw CheckpointError(
      path: path, kind: .notACheckpoint,
      problem: "not a torch checkpoint (bad magic: expected a zip archive, a legacy torch pickle or a "
        + "safetensors header, found \(leading.joined(separator: " ")))")
  }
}
