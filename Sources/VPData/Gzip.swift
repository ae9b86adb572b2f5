internal import CZlib
import VPImage

/// Reading possibly gzip-compressed files.
enum Gzip {
  /// True when `bytes` start with the gzip magic `1F 8B`.
  static func isGzip(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
  }

  /// Reads `path`; gzip data (recognised by its magic) is inflated, anything else returned as is.
  static func readMaybeCompressed(_ path: String) throws(DataError) -> [UInt8] {
    let raw: [UInt8]
    do {
      raw = try FileIO.readAll(path)
    } catch {
      throw DataError(file: path, "cannot read file: \(error.reason)")
    }
    return isGzip(raw) ? try inflate(raw, file: path) : raw
  }

  /// Inflates a gzip stream (several concatenated members allowed), checking CRCs and lengths.
  ///
  /// The output buffer is sized from the trailer's ISIZE field and grown geometrically if that
  /// was wrong; truncated or corrupt input throws, naming `file`.
  static func inflate(_ input: [UInt8], file: String) throws(DataError) -> [UInt8] {
    var capacity = input.count * 4
    if input.count >= 18 {
      let n = input.count
      let isize =
        Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16 | Int(input[n - 1])
        << 24
      // ISIZE is untrusted (a truncated file ends in arbitrary bytes): cap the first guess by
      // deflate's maximum ratio and 256 MiB; the buffer grows if the guess was too small.
      capacity = max(min(isize, input.count * 1032, 1 << 28), 1)
    }
    var output = [UInt8](repeating: 0, count: capacity + 1)
    var produced = 0
    var stream = z_stream()
    // 15 + 32: maximum window, automatic gzip/zlib header detection.
    guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK
    else {
      throw DataError(file: file, "cannot initialise zlib")
    }
    defer { inflateEnd(&stream) }
    var failure: String?
    input.withUnsafeBufferPointer { source in
      stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress!)
      stream.avail_in = uInt(source.count)
      while true {
        if produced == output.count {
          output.append(contentsOf: repeatElement(0, count: output.count))
        }
        let status = output.withUnsafeMutableBufferPointer { target -> Int32 in
          stream.next_out = target.baseAddress! + produced
          let room = min(target.count - produced, Int(UInt32.max))
          stream.avail_out = uInt(room)
          let status = CZlib.inflate(&stream, Z_NO_FLUSH)
          produced += room - Int(stream.avail_out)
          return status
        }
        switch status {
        case Z_STREAM_END:
          // Another gzip member may follow (as `cat a.gz b.gz` produces).
          let rest = Int(stream.avail_in)
          if rest == 0 { return }
          let offset = source.count - rest
          if rest >= 2 && source[offset] == 0x1F && source[offset + 1] == 0x8B {
            inflateReset(&stream)
            continue
          }
          failure = "\(rest) bytes of trailing garbage after the gzip data"
          return
        case Z_OK:
          continue
        case Z_BUF_ERROR:
          if stream.avail_in == 0 {
            failure = "truncated gzip data (unexpected end of file)"
            return
          }
          continue
        default:
          let detail = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
          failure = "corrupt gzip data: \(detail)"
          return
        }
      }
    }
    if let failure { throw DataError(file: file, failure) }
    output.removeLast(output.count - produced)
    return output
  }
}
