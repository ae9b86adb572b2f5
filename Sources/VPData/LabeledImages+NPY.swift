extension LabeledImages {
  /// Loads images and labels from two `.npy` files.
  ///
  /// `imagesFile`: shape `(N, H, W)` (one channel) or `(N, H, W, C)` with `C` 1 or 3, C order.
  /// `|u1` samples become `Float(v) / 255`; float samples are taken as they are (expected in
  /// [0, 1]); integer samples are divided by 255. `labelsFile`: shape `(N,)`, an integer dtype.
  /// `classNames` defaults to `"0"` … `"max label"`. Errors name the offending file.
  public static func npy(
    imagesFile: String, labelsFile: String, classNames: [String]? = nil, name: String
  ) throws(DataError) -> LabeledImages {
    let images = try NPYArray(contentsOfFile: imagesFile)
    let shape = images.shape
    guard shape.count == 3 || (shape.count == 4 && (shape[3] == 1 || shape[3] == 3)) else {
      throw DataError(
        file: imagesFile,
        "expected image shape (N, H, W) or (N, H, W, C) with C 1 or 3, found \(shape)")
    }
    let labelArray = try NPYArray(contentsOfFile: labelsFile)
    guard labelArray.shape.count == 1, let labels = labelArray.ints else {
      throw DataError(
        file: labelsFile,
        "expected integer labels of shape (N,), found \(labelArray.dtype) \(labelArray.shape)")
    }
    guard labels.count == shape[0] else {
      throw DataError(
        file: labelsFile, "\(labels.count) labels for \(shape[0]) images in \(imagesFile)")
    }
    let names = classNames ?? (0..<((labels.max() ?? -1) + 1)).map(String.init)
    if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= names.count }) {
      throw DataError(
        file: labelsFile, "label \(labels[bad]) of item \(bad) is outside 0..<\(names.count)")
    }
    let samples: ImageSamples
    switch images.storage {
    case .uint8(let bytes): samples = .bytes(bytes, maximum: 255)
    case .float32(let values): samples = .floats(values)
    case .float64(let values): samples = .floats(values.map { Float($0) })
    case .int32, .int64: samples = .floats(images.floats.map { $0 / 255 })
    }
    return LabeledImages(
      name: name, samples: samples, count: shape[0], height: shape[1], width: shape[2],
      channels: shape.count == 4 ? shape[3] : 1, labels: labels, classNames: names)
  }
}
