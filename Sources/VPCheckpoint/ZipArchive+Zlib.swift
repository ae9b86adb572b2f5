import CZlib

extension ZipArchive {
  /// The most bytes handed to zlib per call (its counters are 32-bit).
  private static let zlibChunk = 1 << 30

  /// The CRC-32 of `bytes[range]`.
  static func crc32(_ bytes: [UInt8], _ range: Range<Int>) -> UInt32 {
    bytes.withUnsafeBytes { raw in
      var crc = CZlib.crc32(0, nil, 0)
      var position = range.lowerBound
      while position < range.upperBound {
        let chunk = min(zlibChunk, range.upperBound - position)
        let pointer = raw.baseAddress!.assumingMemoryBound(to: Bytef.self) + position
        crc = CZlib.crc32(crc, pointer, uInt(chunk))
        position += chunk
      }
      return UInt32(truncatingIfNeeded: crc)
    }
  }

  /// Inflates the raw deflate stream `bytes[range]`, which must produce exactly `size` bytes.
  static func inflate(
    _ bytes: [UInt8], _ range: Range<Int>, size: Int, error: (String) -> CheckpointError
  ) throws -> [UInt8] {
    var stream = z_stream()
    guard inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw error("cannot initialise zlib")
    }
    defer { inflateEnd(&stream) }
    var failure: String?
    // One spare byte makes "more output than declared" detectable, and keeps the buffer non-empty.
    let capacity = size + 1
    let output = [UInt8](unsafeUninitializedCapacity: capacity) { out, initialized in
      initialized = 0
      bytes.withUnsafeBytes { raw in
        let input = raw.baseAddress!.assumingMemoryBound(to: Bytef.self)
        var inputPosition = range.lowerBound
        let outBase = out.baseAddress!
        var status: Int32 = Z_OK
        while true {
          if stream.avail_in == 0, inputPosition < range.upperBound {
            let chunk = min(zlibChunk, range.upperBound - inputPosition)
            stream.next_in = UnsafeMutablePointer(mutating: input + inputPosition)
            stream.avail_in = uInt(chunk)
            inputPosition += chunk
          }
          let produced = stream.next_out.map { $0 - outBase } ?? 0
          if stream.avail_out == 0, produced < capacity {
            stream.next_out = outBase + produced
            stream.avail_out = uInt(min(zlibChunk, capacity - produced))
          }
          status = CZlib.inflate(&stream, Z_NO_FLUSH)
          initialized = stream.next_out.map { $0 - outBase } ?? 0
          if status == Z_STREAM_END { break }
          if status == Z_OK { continue }
          if status == Z_BUF_ERROR, initialized >= capacity {
            failure = "inflates to more than the declared \(size) bytes"
          } else if status == Z_BUF_ERROR {
            failure = "deflate data ends early (\(initialized) of \(size) bytes)"
          } else {
            let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
            failure = "invalid deflate data (\(message))"
          }
          break
        }
      }
    }
    if let failure { throw error(failure) }
    guard output.count <= size else { throw error("inflates to more than the declared \(size) bytes") }
    guard output.count == size else {
      throw error("deflate data ends early (\(output.count) of \(size) bytes)")
    }
    return output
  }
}
