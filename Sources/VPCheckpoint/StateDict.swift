/// The container format a state dict was read from.
public enum CheckpointFormat: String, Sendable, CustomStringConvertible {
  /// `torch.save` ≥ 1.6: a zip archive with `data.pkl` and one file per storage.
  case torchZip
  /// `torch.save` before 1.6: concatenated pickles followed by the raw storages.
  case torchLegacy
  /// Hugging Face `.safetensors`.
  case safetensors

  /// The format's name.
  public var description: String { rawValue }

  /// The format `bytes` appear to be in, judging by their first bytes (nil when none matches).
  ///
  /// Zip archives start with `PK\u{3}\u{4}`, safetensors files with an 8-byte header length followed by
  /// `{`, and legacy torch files with a pickle PROTO opcode (the magic number is checked when loading).
  public static func detect(_ bytes: [UInt8]) -> CheckpointFormat? {
    if bytes.starts(with: [0x50, 0x4b, 0x03, 0x04]) { return .torchZip }
    if bytes.count > 8, bytes[8] == UInt8(ascii: "{") { return .safetensors }
    if bytes.first == 0x80 { return .torchLegacy }
    return nil
  }
}

/// An ordered collection of named tensors, as stored in a checkpoint.
///
/// Iterating yields `(name, tensor)` pairs in the file's order (for safetensors: in data-offset order).
/// Entries such as `num_batches_tracked` (int64 scalars) are kept; callers skip what they do not need.
public struct StateDict: Sendable, RandomAccessCollection {
  /// One named tensor.
  public typealias Element = (name: String, tensor: CheckpointTensor)

  /// The file the tensors were read from (`"<memory>"` for a state dict built in code).
  public let path: String
  /// The format the file was in (nil for a state dict built in code).
  public let format: CheckpointFormat?
  /// The safetensors `__metadata__` strings (empty for other formats).
  public let metadata: [String: String]

  private var names: [String] = []
  private var tensors: [CheckpointTensor] = []
  private var indexByName: [String: Int] = [:]

  /// Creates a state dict from ordered pairs; a repeated name replaces the earlier tensor in place
  /// (as a Python dict would).
  public init(
    _ entries: [(String, CheckpointTensor)], path: String = "<memory>", format: CheckpointFormat? = nil,
    metadata: [String: String] = [:]
  ) {
    self.path = path
    self.format = format
    self.metadata = metadata
    for (name, tensor) in entries {
      var labelled = tensor
      labelled.sourcePath = path
      labelled.name = name
      if let i = indexByName[name] {
        tensors[i] = labelled
      } else {
        indexByName[name] = names.count
        names.append(name)
        tensors.append(labelled)
      }
    }
  }

  /// The first position.
  public var startIndex: Int { 0 }
  /// One past the last position.
  public var endIndex: Int { names.count }
  /// The pair at `position`.
  public subscript(position: Int) -> Element { (names[position], tensors[position]) }

  /// The tensor names, in order.
  public var keys: [String] { names }
  /// The `(name, tensor)` pairs, in order.
  public var entries: [(name: String, tensor: CheckpointTensor)] { Array(self) }

  /// The tensor named `name`, if present.
  public subscript(name: String) -> CheckpointTensor? {
    indexByName[name].map { tensors[$0] }
  }

  /// Whether a tensor named `name` is present.
  public func contains(_ name: String) -> Bool { indexByName[name] != nil }

  /// The tensor named `name`, or an error naming the file and the missing key.
  public func tensor(_ name: String) throws -> CheckpointTensor {
    guard let tensor = self[name] else {
      throw CheckpointError(path: path, kind: .missingTensor, problem: "no tensor named '\(name)'")
    }
    return tensor
  }

  /// The values of `name` as row-major `Float`s (see `CheckpointTensor.floats()`).
  public func floats(_ name: String) throws -> [Float] { try tensor(name).floats() }

  /// The shape of `name`.
  public func shape(_ name: String) throws -> [Int] { try tensor(name).shape }
}
