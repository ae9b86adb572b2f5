import VPImage

/// Which CIFAR binary format a file holds.
public enum CIFARVariant: Sendable, Equatable {
  /// Records of 1 label byte + 3072 image bytes.
  case cifar10
  /// Records of 2 label bytes (coarse, fine) + 3072 image bytes; the fine label is used.
  case cifar100

  /// Bytes per record.
  public var recordSize: Int { self == .cifar10 ? 3073 : 3074 }
  /// Number of (fine) classes.
  public var classCount: Int { self == .cifar10 ? 10 : 100 }
}

extension LabeledImages {
  /// Loads CIFAR binary batch files (`data_batch_N.bin`, `test_batch.bin`, `train.bin`,
  /// `test.bin`), concatenated in the order given.
  ///
  /// Each record is the label byte(s) then 3072 bytes: the 32×32 red plane, then green, then
  /// blue (CHW); images are transposed to HWC and scaled by 1/255. A file whose size is not a
  /// multiple of the record size, or a label outside the class range, is an error naming the file.
  /// `classNames` defaults to the standard CIFAR names.
  public static func cifar(
    files: [String], variant: CIFARVariant, classNames: [String]? = nil, name: String
  ) throws(DataError) -> LabeledImages {
    let names = classNames ?? (variant == .cifar10 ? cifar10ClassNames : cifar100ClassNames)
    var contents = [[UInt8]]()
    var total = 0
    for file in files {
      let bytes: [UInt8]
      do {
        bytes = try FileIO.readAll(file)
      } catch {
        throw DataError(file: file, "cannot read file: \(error.reason)")
      }
      guard !bytes.isEmpty, bytes.count % variant.recordSize == 0 else {
        throw DataError(
          file: file,
          "size \(bytes.count) is not a positive multiple of the \(variant == .cifar10 ? "CIFAR-10" : "CIFAR-100") record size \(variant.recordSize)"
        )
      }
      contents.append(bytes)
      total += bytes.count / variant.recordSize
    }
    let labelBytes = variant.recordSize - 3072
    try MemoryBudget.require(
      Int64(total) * 3072, for: "\(total) CIFAR images (32×32×3 bytes each)", file: files.first ?? name)
    var samples = [UInt8](repeating: 0, count: total * 3072)
    var labels = [Int](repeating: 0, count: total)
    var index = 0
    for (file, bytes) in zip(files, contents) {
      let records = bytes.count / variant.recordSize
      for r in 0..<records {
        let base = r * variant.recordSize
        let label = Int(bytes[base + labelBytes - 1])
        guard label < names.count else {
          throw DataError(file: file, "record \(r): label \(label) outside 0..<\(names.count)")
        }
        if variant == .cifar100 && bytes[base] >= 20 {
          throw DataError(file: file, "record \(r): coarse label \(bytes[base]) outside 0..<20")
        }
        labels[index] = label
        bytes.withUnsafeBufferPointer { source in
          samples.withUnsafeMutableBufferPointer { target in
            let image = source.baseAddress! + base + labelBytes
            let out = target.baseAddress! + index * 3072
            for p in 0..<1024 {
              out[3 * p] = image[p]
              out[3 * p + 1] = image[1024 + p]
              out[3 * p + 2] = image[2048 + p]
            }
          }
        }
        index += 1
      }
    }
    return LabeledImages(
      name: name, samples: .bytes(samples, maximum: 255), count: total, height: 32, width: 32, channels: 3,
      labels: labels,
      classNames: names)
  }

  /// CIFAR-10 from the `cifar-10-batches-bin` directory: `data_batch_1.bin` … `data_batch_5.bin`
  /// (train) or `test_batch.bin` (test). Class names come from `batches.meta.txt` when present
  /// (one per line, blank lines ignored), else ``cifar10ClassNames``.
  public static func cifar10(directory: String, partition: DataPartition) throws(DataError)
    -> LabeledImages
  {
    let files =
      partition == .train
      ? (1...5).map { "\(directory)/data_batch_\($0).bin" } : ["\(directory)/test_batch.bin"]
    let names = try classNamesFile("\(directory)/batches.meta.txt", expected: 10)
    // CIFAR-10's six batches hold the same number of records (10 000): a batch cut short at a record
    // boundary would otherwise load fewer images without a word.
    let reference = "\(directory)/data_batch_1.bin"
    if let expected = FileSystem.size(reference).map({ $0 / CIFARVariant.cifar10.recordSize }) {
      for file in files {
        guard let size = FileSystem.size(file) else { continue }
        let records = size / CIFARVariant.cifar10.recordSize
        if records != expected {
          throw DataError(
            file: file,
            "holds \(records) records but data_batch_1.bin holds \(expected): every CIFAR-10 batch has the same number (the file is truncated?)"
          )
        }
      }
    }
    return try cifar(
      files: files, variant: .cifar10, classNames: names, name: "cifar10/\(partition.rawValue)")
  }

  /// CIFAR-100 from the `cifar-100-binary` directory: `train.bin` or `test.bin`, fine labels.
  /// Class names come from `fine_label_names.txt` when present, else ``cifar100ClassNames``.
  public static func cifar100(directory: String, partition: DataPartition) throws(DataError)
    -> LabeledImages
  {
    let names = try classNamesFile("\(directory)/fine_label_names.txt", expected: 100)
    return try cifar(
      files: ["\(directory)/\(partition.rawValue).bin"], variant: .cifar100, classNames: names,
      name: "cifar100/\(partition.rawValue)")
  }

  /// The non-blank, trimmed lines of `path`, or nil when it does not exist.
  private static func classNamesFile(_ path: String, expected: Int) throws(DataError) -> [String]? {
    guard FileSystem.exists(path) else { return nil }
    let bytes: [UInt8]
    do {
      bytes = try FileIO.readAll(path)
    } catch {
      throw DataError(file: path, "cannot read file: \(error.reason)")
    }
    let names = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline)
      .map { $0.trimmed(of: " \t\r") }
      .filter { !$0.isEmpty }
    guard names.count == expected else {
      throw DataError(file: path, "expected \(expected) class names, found \(names.count)")
    }
    return names
  }
}

/// CIFAR-10's class names, by label.
public let cifar10ClassNames = [
  "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]

/// CIFAR-100's fine class names, by label (alphabetical, as in `fine_label_names.txt`).
public let cifar100ClassNames = [
  "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
  "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
  "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup",
  "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house",
  "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man",
  "maple_tree", "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid",
  "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine",
  "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew",
  "skunk", "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar", "sunflower",
  "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor", "train", "trout",
  "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
]
