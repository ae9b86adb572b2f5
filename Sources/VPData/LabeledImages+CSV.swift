extension LabeledImages {
  /// Loads a CSV of integer rows, `height * width` pixel values followed by the label, one image
  /// per line; the file may be gzip-compressed.
  ///
  /// Rules: fields are separated by commas and may be padded with spaces; a value may be written
  /// as a float with a zero fraction (`5.0`), anything else non-integer is an error. Pixels must
  /// lie in `0...maxValue` and are stored as `Float(v) / Float(maxValue)`; labels must index
  /// `classNames`. Blank lines and `\r` line ends are ignored. The first line is skipped as a
  /// header only if none of its fields is a number. Errors carry the file and the 1-based line.
  public static func csv(
    file: String, height: Int, width: Int, maxValue: Int, classNames: [String], name: String
  ) throws(DataError) -> LabeledImages {
    let bytes = try Gzip.readMaybeCompressed(file)
    let pixelsPerImage = height * width
    let fieldsPerLine = pixelsPerImage + 1
    var lineCount = 1
    for byte in bytes where byte == 0x0A { lineCount += 1 }
    // Values up to 255 are kept as bytes (`Float(v) / maxValue` when read), larger ones as floats.
    let asBytes = maxValue <= 255
    var pixels = [Float](repeating: 0, count: asBytes ? 0 : lineCount * pixelsPerImage)
    var bytePixels = [UInt8](repeating: 0, count: asBytes ? lineCount * pixelsPerImage : 0)
    var labels = [Int]()
    labels.reserveCapacity(lineCount)
    var parseError: DataError?
    let scale = Float(maxValue)

    bytes.withUnsafeBufferPointer { text in
      pixels.withUnsafeMutableBufferPointer { out in
        bytePixels.withUnsafeMutableBufferPointer { byteOut in
          var position = 0
          var lineNumber = 0
          var imageIndex = 0
          var values = [Int](repeating: 0, count: fieldsPerLine)
          while position < text.count {
            lineNumber += 1
            var end = position
            while end < text.count && text[end] != 0x0A { end += 1 }
            defer { position = end + 1 }
            var lineEnd = end
            if lineEnd > position && text[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            if isBlank(text, position, lineEnd) { continue }
            switch parseLine(text, position, lineEnd, into: &values) {
            case .failure(let problem):
              if lineNumber == 1 && problem.isHeaderLike { continue }
              parseError = DataError(file: file, line: lineNumber, problem.message)
              return
            case .success(let fieldCount):
              guard fieldCount == fieldsPerLine else {
                parseError = DataError(
                  file: file, line: lineNumber,
                  "expected \(fieldsPerLine) fields (\(pixelsPerImage) pixels and a label), found \(fieldCount)"
                )
                return
              }
            }
            let base = imageIndex * pixelsPerImage
            for k in 0..<pixelsPerImage {
              let v = values[k]
              guard v >= 0 && v <= maxValue else {
                parseError = DataError(
                  file: file, line: lineNumber,
                  "field \(k + 1): pixel value \(v) outside 0...\(maxValue)")
                return
              }
              if asBytes { byteOut[base + k] = UInt8(v) } else { out[base + k] = Float(v) / scale }
            }
            let label = values[pixelsPerImage]
            guard label >= 0 && label < classNames.count else {
              parseError = DataError(
                file: file, line: lineNumber, "label \(label) outside 0..<\(classNames.count)")
              return
            }
            labels.append(label)
            imageIndex += 1
          }
        }
      }
    }
    if let parseError { throw parseError }
    guard !labels.isEmpty else { throw DataError(file: file, "no data lines") }
    let used = labels.count * pixelsPerImage
    let samples: ImageSamples =
      asBytes ? .bytes(Array(bytePixels[..<used]), maximum: scale) : .floats(Array(pixels[..<used]))
    return LabeledImages(
      name: name, samples: samples, count: labels.count, height: height, width: width, channels: 1,
      labels: labels, classNames: classNames)
  }

  /// The MNIST-5k CSV (`mnist_5k.csv.gz`): 784 pixels in 0...255, then the label; 28×28 grey,
  /// classes `"0"` … `"9"`.
  public static func mnistCSV(file: String) throws(DataError) -> LabeledImages {
    try csv(
      file: file, height: 28, width: 28, maxValue: 255, classNames: digitClassNames,
      name: "mnist-5k")
  }

  /// scikit-learn's digits as CSV (`digits.csv.gz`): 64 pixels in 0...16, then the label; 8×8
  /// grey scaled by 1/16, classes `"0"` … `"9"`.
  public static func digitsCSV(file: String) throws(DataError) -> LabeledImages {
    try csv(
      file: file, height: 8, width: 8, maxValue: 16, classNames: digitClassNames, name: "digits")
  }
}

private struct CSVProblem: Error {
  var message: String
  /// True when the line's first field is not a number at all (so line 1 may be a header).
  var isHeaderLike: Bool
}

private func isBlank(_ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
  var i = start
  while i < end {
    if text[i] != 0x20 && text[i] != 0x09 { return false }
    i += 1
  }
  return true
}

/// Parses comma-separated integers of `text[start..<end]` into `values`; returns the field count
/// (which may exceed `values.count`: extra fields are counted, not stored).
private func parseLine(
  _ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into values: inout [Int]
) -> Result<Int, CSVProblem> {
  var field = 0
  var i = start
  var numericFields = 0
  var firstProblem: String?
  while true {
    let fieldStart = i
    while i < end && text[i] != 0x2C { i += 1 }
    let fieldEnd = i
    if let value = parseInteger(text, fieldStart, fieldEnd) {
      numericFields += 1
      if field < values.count { values[field] = value }
    } else if firstProblem == nil {
      let raw = String(
        decoding: UnsafeBufferPointer(rebasing: text[fieldStart..<fieldEnd]), as: UTF8.self)
      firstProblem =
        "field \(field + 1): \"\(raw.count > 40 ? String(raw.prefix(40)) + "…" : raw)\" is not an integer"
    }
    field += 1
    if i >= end { break }
    i += 1  // skip the comma
  }
  if let firstProblem {
    return .failure(CSVProblem(message: firstProblem, isHeaderLike: numericFields == 0))
  }
  return .success(field)
}

/// `[spaces] [+|-] digits [. zeros] [spaces]`, or nil.
private func parseInteger(_ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int? {
  var i = start
  var j = end
  while i < j && (text[i] == 0x20 || text[i] == 0x09) { i += 1 }
  while j > i && (text[j - 1] == 0x20 || text[j - 1] == 0x09) { j -= 1 }
  var negative = false
  if i < j && (text[i] == 0x2D || text[i] == 0x2B) {
    negative = text[i] == 0x2D
    i += 1
  }
  var value = 0
  var digits = 0
  while i < j && text[i] >= 0x30 && text[i] <= 0x39 {
    if digits >= 18 { return nil }
    value = value * 10 + Int(text[i] - 0x30)
    digits += 1
    i += 1
  }
  if digits == 0 { return nil }
  if i < j && text[i] == 0x2E {
    i += 1
    while i < j && text[i] == 0x30 { i += 1 }
  }
  return i == j ? (negative ? -value : value) : nil
}
