internal import CZlib
import Foundation

extension Image {
  /// Encodes the image as an 8-bit PNG: colour type 0 (grey) or 2 (RGB), non-interlaced.
  ///
  /// Samples are quantised with ``bytes`` (so 8-bit decoded images round-trip exactly). Each row
  /// gets the PNG filter (0–4) with the smallest sum of absolute filtered bytes, then the whole
  /// stream is deflated with zlib at `compressionLevel` (0–9). The image must not be empty.
  public func pngData(compressionLevel: Int = 6) -> [UInt8] {
    precondition(
      width > 0 && height > 0, "pngData: cannot encode an empty \(width)x\(height) image")
    let rowBytes = width * channels
    let samples = bytes
    var filtered = [UInt8](repeating: 0, count: height * (rowBytes + 1))
    samples.withUnsafeBufferPointer { source in
      filtered.withUnsafeMutableBufferPointer { target in
        var candidate = [UInt8](repeating: 0, count: rowBytes)
        candidate.withUnsafeMutableBufferPointer { cand in
          for y in 0..<height {
            let row = source.baseAddress! + y * rowBytes
            let out = target.baseAddress! + y * (rowBytes + 1)
            var bestCost = Int.max
            for filter in 0..<5 {
              var cost = 0
              for i in 0..<rowBytes {
                // a: left, b: above, c: above-left (0 outside the image), as the PNG spec names them.
                let a = i >= channels ? Int(row[i - channels]) : 0
                let b = y > 0 ? Int(row[i - rowBytes]) : 0
                let c = y > 0 && i >= channels ? Int(row[i - rowBytes - channels]) : 0
                let predicted: Int
                switch filter {
                case 0: predicted = 0
                case 1: predicted = a
                case 2: predicted = b
                case 3: predicted = (a + b) >> 1
                default: predicted = paeth(a, b, c)
                }
                let value = UInt8(truncatingIfNeeded: Int(row[i]) - predicted)
                cand[i] = value
                cost += value < 128 ? Int(value) : 256 - Int(value)
              }
              if cost < bestCost {
                bestCost = cost
                out[0] = UInt8(filter)
                (out + 1).update(from: cand.baseAddress!, count: rowBytes)
              }
            }
          }
        }
      }
    }
    var bound = compressBound(uLong(filtered.count))
    var compressed = [UInt8](repeating: 0, count: Int(bound))
    let status = compressed.withUnsafeMutableBufferPointer { target in
      filtered.withUnsafeBufferPointer { source in
        compress2(
          target.baseAddress, &bound, source.baseAddress, uLong(source.count),
          Int32(max(0, min(9, compressionLevel))))
      }
    }
    precondition(status == Z_OK, "pngData: zlib compress2 failed with status \(status)")
    compressed.removeLast(compressed.count - Int(bound))

    var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    png.reserveCapacity(compressed.count + 64)
    var header = [UInt8]()
    appendBigEndian(UInt32(width), to: &header)
    appendBigEndian(UInt32(height), to: &header)
    header += [8, channels == 1 ? 0 : 2, 0, 0, 0]
    appendChunk("IHDR", header, to: &png)
    appendChunk("IDAT", compressed, to: &png)
    appendChunk("IEND", [], to: &png)
    return png
  }

  /// The PNG encoding as a `data:image/png;base64,…` URI, for inline images in HTML reports.
  public func pngDataURI() -> String {
    "data:image/png;base64," + Data(pngData()).base64EncodedString()
  }

  /// Writes ``pngData(compressionLevel:)`` to `path` atomically: a temporary file in the same
  /// directory is written, synced and renamed over `path`, so readers never see a partial file.
  public func writePNG(toFile path: String, compressionLevel: Int = 6) throws(ImageError) {
    let data = pngData(compressionLevel: compressionLevel)
    do {
      try FileIO.writeAtomically(data, to: path)
    } catch {
      throw ImageError(file: path, kind: .unwritable, detail: error.reason)
    }
  }
}

@inline(__always)
private func paeth(_ a: Int, _ b: Int, _ c: Int) -> Int {
  let p = a + b - c
  let pa = abs(p - a)
  let pb = abs(p - b)
  let pc = abs(p - c)
  if pa <= pb && pa <= pc { return a }
  return pb <= pc ? b : c
}

private func appendBigEndian(_ value: UInt32, to bytes: inout [UInt8]) {
  bytes += [
    UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF),
    UInt8(value & 0xFF),
  ]
}

private func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
  let typeBytes = Array(type.utf8)
  appendBigEndian(UInt32(data.count), to: &png)
  png += typeBytes
  png += data
  var crc = crc32(0, nil, 0)
  crc = typeBytes.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt($0.count)) }
  if !data.isEmpty {  // zlib's crc32 returns 0 (not `crc`) for a NULL buffer
    crc = data.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt($0.count)) }
  }
  appendBigEndian(UInt32(crc), to: &png)
}
