extension Safetensors {
  /// Encodes `stateDict` as a safetensors file image.
  ///
  /// Floating-point tensors are written as `F32` (converted with `floats()`), integer and boolean tensors
  /// as `I64`. Tensors keep the state dict's order, both in the header and in the data section;
  /// `__metadata__` (when not empty) comes first with its keys sorted, so equal inputs give identical bytes.
  /// The header is padded with spaces to a multiple of 8 bytes.
  public static func encode(_ stateDict: StateDict, metadata: [String: String] = [:]) throws -> [UInt8] {
    var header = "{"
    var separator = ""
    if !metadata.isEmpty {
      let members = metadata.keys.sorted().map { "\(JSONValue.quote($0)):\(JSONValue.quote(metadata[$0]!))" }
      header += "\"__metadata__\":{" + members.joined(separator: ",") + "}"
      separator = ","
    }
    var data: [UInt8] = []
    for (name, tensor) in stateDict {
      guard name != "__metadata__" else {
        throw CheckpointError(
          path: stateDict.path, kind: .unsupported,
          problem: "a tensor cannot be named '__metadata__' in safetensors")
      }
      let begin = data.count
      let code: String
      if tensor.dtype.isFloatingPoint {
        data += CheckpointTensor.littleEndianBytes(try tensor.floats())
        code = DType.float32.safetensorsCode
      } else {
        data += CheckpointTensor.littleEndianBytes(try tensor.int64s())
        code = DType.int64.safetensorsCode
      }
      let shape = tensor.shape.map(String.init).joined(separator: ",")
      header +=
        separator + JSONValue.quote(name)
        + ":{\"dtype\":\"\(code)\",\"shape\":[\(shape)],\"data_offsets\":[\(begin),\(data.count)]}"
      separator = ","
    }
    header += "}"
    var headerBytes = Array(header.utf8)
    while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
    var out: [UInt8] = []
    out.reserveCapacity(8 + headerBytes.count + data.count)
    out.appendLE(UInt64(headerBytes.count))
    out += headerBytes
    out += data
    return out
  }

  /// Writes `stateDict` to `path` atomically (a temporary file in the same directory, renamed into place).
  /// See `encode(_:metadata:)` for the layout.
  public static func write(_ stateDict: StateDict, metadata: [String: String] = [:], to path: String) throws {
    let bytes: [UInt8]
    do {
      bytes = try encode(stateDict, metadata: metadata)
    } catch let error as CheckpointError {
      throw CheckpointError(path: path, kind: error.kind, problem: error.problem)
    }
    try FileIO.writeAtomically(bytes, to: path)
  }
}
