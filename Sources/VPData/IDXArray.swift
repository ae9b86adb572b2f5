/// An unsigned-byte IDX array (the MNIST / Fashion-MNIST file format), optionally gzip-compressed.
///
/// Layout: a big-endian 32-bit magic `0x0000_08NN` (`08` = unsigned bytes, `NN` = number of
/// dimensions), `NN` big-endian 32-bit dimensions, then the product of the dimensions in bytes.
/// Images files have magic `0x00000803` (count, rows, columns), label files `0x00000801`.
public struct IDXArray: Sendable, Equatable {
  /// The dimensions, outermost first.
  public var dimensions: [Int]
  /// The payload, row-major.
  public var data: [UInt8]

  /// Reads `path` (gzip or plain), validating the magic and that the payload size equals the
  /// product of the dimensions. Errors name `path`.
  public init(contentsOfFile path: String) throws(DataError) {
    try self.init(parsing: Gzip.readMaybeCompressed(path), file: path)
  }

  /// Parses IDX bytes (already decompressed); `file` names the source in errors.
  public init(parsing bytes: [UInt8], file: String) throws(DataError) {
    guard bytes.count >= 4 else {
      throw DataError(file: file, "not an IDX file: \(bytes.count) bytes, too short for a header")
    }
    let magic = Self.bigEndian32(bytes, at: 0)
    guard bytes[0] == 0, bytes[1] == 0, bytes[2] == 0x08, bytes[3] >= 1 else {
      throw DataError(
        file: file,
        "bad IDX magic 0x\(String(magic, radix: 16, uppercase: true)) (expected 0x000008NN: unsigned bytes)"
      )
    }
    let rank = Int(bytes[3])
    let headerSize = 4 + 4 * rank
    guard bytes.count >= headerSize else {
      throw DataError(
        file: file,
        "truncated IDX header: \(rank) dimensions need \(headerSize) bytes, file has \(bytes.count)"
      )
    }
    var dimensions = [Int]()
    var expected = 1
    for d in 0..<rank {
      let size = Int(Self.bigEndian32(bytes, at: 4 + 4 * d))
      dimensions.append(size)
      let (product, overflow) = expected.multipliedReportingOverflow(by: size)
      guard !overflow else { throw DataError(file: file, "IDX dimensions \(dimensions) overflow") }
      expected = product
    }
    let payload = bytes.count - headerSize
    guard payload == expected else {
      throw DataError(
        file: file,
        "IDX payload has \(payload) bytes but dimensions \(dimensions.map(String.init).joined(separator: "x")) need \(expected)"
      )
    }
    self.dimensions = dimensions
    self.data = Array(bytes[headerSize...])
  }

  /// Builds an array in memory (the inverse of ``bytes``).
  public init(dimensions: [Int], data: [UInt8]) {
    precondition(
      dimensions.reduce(1, *) == data.count, "IDXArray: payload does not match dimensions")
    self.dimensions = dimensions
    self.data = data
  }

  /// The uncompressed IDX encoding.
  public var bytes: [UInt8] {
    var out: [UInt8] = [0, 0, 0x08, UInt8(dimensions.count)]
    for size in dimensions {
      let v = UInt32(size)
      out += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }
    return out + data
  }

  private static func bigEndian32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
      | UInt32(bytes[offset + 3])
  }
}

/// The training or the test part of a data set that ships both.
public enum DataPartition: String, Sendable, CaseIterable {
  /// The training file(s).
  case train
  /// The test file(s).
  case test
}

extension LabeledImages {
  /// Loads an IDX image file (`N × H × W` bytes, magic `0x00000803`) with its IDX label file
  /// (`N` bytes, magic `0x00000801`); either may be gzip-compressed.
  ///
  /// Samples become `Float(byte) / 255`, one channel. Label and image counts must agree and every
  /// label must index `classNames`. Errors name the offending file.
  public static func idx(
    imagesFile: String, labelsFile: String, classNames: [String], name: String
  ) throws(DataError) -> LabeledImages {
    let images = try IDXArray(contentsOfFile: imagesFile)
    guard images.dimensions.count == 3 else {
      throw DataError(
        file: imagesFile,
        "expected a 3-dimensional IDX image file (magic 0x00000803), found \(images.dimensions.count) dimensions"
      )
    }
    let labels = try IDXArray(contentsOfFile: labelsFile)
    guard labels.dimensions.count == 1 else {
      throw DataError(
        file: labelsFile,
        "expected a 1-dimensional IDX label file (magic 0x00000801), found \(labels.dimensions.count) dimensions"
      )
    }
    let count = images.dimensions[0]
    guard labels.dimensions[0] == count else {
      throw DataError(
        file: labelsFile, "\(labels.dimensions[0]) labels for \(count) images in \(imagesFile)")
    }
    var labelValues = [Int](repeating: 0, count: count)
    for i in 0..<count {
      let label = Int(labels.data[i])
      guard label < classNames.count else {
        throw DataError(
          file: labelsFile, "label \(label) of item \(i) is outside 0..<\(classNames.count)")
      }
      labelValues[i] = label
    }
    return LabeledImages(
      name: name, samples: .bytes(images.data, maximum: 255), count: count,
      height: images.dimensions[1], width: images.dimensions[2], channels: 1, labels: labelValues,
      classNames: classNames)
  }

  /// Fashion-MNIST from `directory` holding `train-images-idx3-ubyte.gz`,
  /// `train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`
  /// (the `.gz` suffix may be absent). 28×28 grey, classes ``fashionMNISTClassNames``.
  public static func fashionMNIST(directory: String, partition: DataPartition) throws(DataError)
    -> LabeledImages
  {
    let prefix = partition == .train ? "train" : "t10k"
    func file(_ stem: String) -> String {
      let plain = "\(directory)/\(prefix)-\(stem)"
      return FileSystem.exists(plain + ".gz") || !FileSystem.exists(plain) ? plain + ".gz" : plain
    }
    return try idx(
      imagesFile: file("images-idx3-ubyte"), labelsFile: file("labels-idx1-ubyte"),
      classNames: fashionMNISTClassNames, name: "fashion-mnist/\(partition.rawValue)")
  }
}
