import Foundation
import VPAssets
import VPData
import VPImage

/// Which images of a data set to use: the per-class training budget, a validation split for selection,
/// and the test set.
public struct DataSpec: Codable, Sendable, Equatable {
  /// `fashion-mnist`, `mnist-5k`, `digits`, `animal-mnist`, `union30` (the three 10-class sets together),
  /// `imagefolder:PATH`, `cifar10:DIR`, `cifar100:DIR`.
  public var name: String
  /// Training images per class (the first ones in file order, or a seeded draw when `seed` is set).
  public var perClass: Int?
  /// Validation images per class, taken after the training images.
  public var validationPerClass: Int
  /// Data sets with an official test file: its first `test` images. Others: `test` images per class held out.
  public var test: Int
  /// nil keeps file order (the published protocols); otherwise a seeded per-class shuffle.
  public var seed: UInt64?

  public init(name: String, perClass: Int? = nil, validationPerClass: Int = 0, test: Int = 2000, seed: UInt64? = nil) {
    self.name = name
    self.perClass = perClass
    self.validationPerClass = validationPerClass
    self.test = test
    self.seed = seed
  }
}

/// The train / validation / test splits of one data set at one image side.
public struct PreparedSplit: @unchecked Sendable {
  public var train: ImageSet
  public var validation: ImageSet?
  public var test: ImageSet

  public init(train: ImageSet, validation: ImageSet?, test: ImageSet) {
    self.train = train
    self.validation = validation
    self.test = test
  }
}

/// The data sets vpbook can load by name.
public enum DataCatalog {
  public static let builtIn = ["fashion-mnist", "mnist-5k", "digits", "animal-mnist", "union30"]

  /// The whole data set: the training file and, where one exists, the official test file.
  ///
  /// - Parameter side: the image side the run needs; photos of an image folder, whatever their sizes, are
  ///   resized to it once, as they are read (antialiased bilinear, like PIL's `resize`; the aspect ratio is
  ///   not kept). Without it, an image folder's images must all have the first one's size.
  public static func load(_ name: String, side: Int? = nil) throws -> (train: LabeledImages, test: LabeledImages?) {
    switch name {
    case "fashion-mnist":
      let dir = ProcessInfo.processInfo.environment["VPBOOK_FASHION_MNIST"] ?? "/usr/share/datasets/fashion-mnist"
      return (
        try LabeledImages.fashionMNIST(directory: dir, partition: .train),
        try LabeledImages.fashionMNIST(directory: dir, partition: .test)
      )
    case "mnist-5k":
      return (try LabeledImages.mnistCSV(file: try Assets.path("data/mnist_5k.csv.gz")), nil)
    case "digits":
      return (try LabeledImages.digitsCSV(file: try Assets.path("data/digits.csv.gz")), nil)
    case "animal-mnist":
      return (
        try LabeledImages.animalMNIST(
          dataFile: try Assets.path("data/animal-mnist/animal_data_version_3.gz"),
          labelFile: try Assets.path("data/animal-mnist/animal_label_version_3.gz")), nil
      )
    case "union30":
      // Fashion-MNIST's first 1000 images per class, MNIST-5k and Animal-MNIST: 30 classes of 28×28 grey.
      let fashion = try load("fashion-mnist").train
      let fashionPart = fashion.subset(try Split(labels: fashion.labels, classCount: 10, perClass: 1000).train)
      let parts = [
        (fashionPart, "fashion"), (try load("mnist-5k").train, "digit"), (try load("animal-mnist").train, "animal"),
      ]
      return (try concatenate(parts.map { $0.0 }, prefixes: parts.map { $0.1 }, name: "union30"), nil)
    default:
      if let path = name.dropPrefix("imagefolder:") {
        return (
          try LabeledImages.imageFolder(
            root: path, size: side.map { ImageSize(square: $0) }, name: URL(fileURLWithPath: path).lastPathComponent),
          nil
        )
      }
      if let dir = name.dropPrefix("cifar10:") {
        return (
          try LabeledImages.cifar10(directory: dir, partition: .train),
          try LabeledImages.cifar10(directory: dir, partition: .test)
        )
      }
      if let dir = name.dropPrefix("cifar100:") {
        return (
          try LabeledImages.cifar100(directory: dir, partition: .train),
          try LabeledImages.cifar100(directory: dir, partition: .test)
        )
      }
      throw EngineError(
        "data: unknown data set '\(name)' (known: \(builtIn.joined(separator: ", ")), imagefolder:PATH, cifar10:DIR, cifar100:DIR)"
      )
    }
  }

  /// Images of several data sets with the same image size as one, classes renumbered in order and named
  /// `prefix:class`.
  public static func concatenate(_ sets: [LabeledImages], prefixes: [String], name: String) throws -> LabeledImages {
    guard let first = sets.first else { throw EngineError("data: nothing to concatenate") }
    for s in sets where s.height != first.height || s.width != first.width || s.channels != first.channels {
      throw EngineError(
        "data: \(s.name) has \(s.height)×\(s.width)×\(s.channels) images, \(first.name) \(first.height)×\(first.width)×\(first.channels)"
      )
    }
    var labels: [Int] = []
    var names: [String] = []
    for (s, prefix) in zip(sets, prefixes) {
      labels += s.labels.map { $0 + names.count }
      names += s.classNames.map { "\(prefix):\($0)" }
    }
    // Bytes stay bytes when every part has the same scale (the 30-class union: all /255).
    let samples: ImageSamples
    var bytes: [UInt8] = []
    var maximum: Float? = nil
    for s in sets {
      guard case .bytes(let part, let max) = s.samples, maximum == nil || maximum == max else {
        bytes = []
        maximum = nil
        break
      }
      bytes += part
      maximum = max
    }
    if let maximum { samples = .bytes(bytes, maximum: maximum) } else { samples = .floats(sets.flatMap(\.images)) }
    return LabeledImages(
      name: name, samples: samples, count: labels.count, height: first.height, width: first.width,
      channels: first.channels, labels: labels, classNames: names)
  }

  /// The train / validation / test splits of `spec`, presented at `side` (bilinear, RGB) batch by batch.
  public static func prepare(_ spec: DataSpec, side: Int) throws -> PreparedSplit {
    let (trainFile, testFile) = try load(spec.name, side: side)
    let selection: Split.TestSelection =
      testFile != nil ? .separateFile(count: spec.test) : .heldOut(perClass: spec.test)
    let split = try Split(
      labels: trainFile.labels, classCount: trainFile.classCount, perClass: spec.perClass, val: spec.validationPerClass,
      test: selection, seed: spec.seed)
    let data = try split.apply(trainingFile: trainFile, testFile: testFile)
    // The images stay as stored (bytes at 28×28 for the MNIST family); each batch is resized and expanded
    // to RGB floats when it is used, so memory does not grow with N × side².
    let validation = data.val.count > 0 ? ImageSet(data.val, side: side, name: spec.name + "/val") : nil
    return PreparedSplit(
      train: ImageSet(data.train, side: side, name: spec.name), validation: validation,
      test: ImageSet(data.test, side: side, name: spec.name + "/test"))
  }
}

extension String {
  func dropPrefix(_ prefix: String) -> String? { hasPrefix(prefix) ? String(dropFirst(prefix.count)) : nil }
}
