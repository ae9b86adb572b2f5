/// A minimal, defensive zip reader over an in-memory archive.
///
/// It reads the end-of-central-directory record (and the ZIP64 one when present), the central directory
/// and local headers, validating every offset and size against the buffer. Entries may be stored or
/// deflated; CRC-32 checksums are verified when an entry's data is read.
struct ZipArchive {
  /// One file of the archive, as described by the central directory.
  struct Entry {
    let name: String
    let flags: UInt16
    let method: UInt16
    let crc32: UInt32
    let compressedSize: Int
    let uncompressedSize: Int
    let localHeaderOffset: Int
  }

  let bytes: [UInt8]
  let path: String
  private(set) var entries: [Entry] = []
  private var indexByName: [String: Int] = [:]

  private static let endOfCentralDirectory: UInt32 = 0x0605_4b50
  private static let zip64EndOfCentralDirectory: UInt32 = 0x0606_4b50
  private static let zip64Locator: UInt32 = 0x0706_4b50
  private static let centralHeader: UInt32 = 0x0201_4b50
  private static let localHeader: UInt32 = 0x0403_4b50

  private static func error(_ path: String, _ kind: CheckpointError.Kind, _ problem: String)
    -> CheckpointError
  {
    CheckpointError(path: path, kind: kind, problem: problem)
  }

  /// Parses the archive's directory.
  init(bytes: [UInt8], path: String) throws {
    self.bytes = bytes
    self.path = path
    func bad(_ problem: String) -> CheckpointError {
      Self.error(path, .malformed, "bad zip archive: \(problem)")
    }

    // End of central directory: 22 bytes plus a comment of up to 65535 bytes, at the end of the file.
    guard bytes.count >= 22 else {
      throw Self.error(
        path, .truncated, "truncated zip archive (\(bytes.count) bytes, no end of central directory)")
    }
    var eocd = -1
    var candidate = bytes.count - 22
    let lowest = max(0, bytes.count - 22 - 65535)
    while candidate >= lowest {
      if bytes.loadLE(candidate, as: UInt32.self) == Self.endOfCentralDirectory {
        eocd = candidate
        break
      }
      candidate -= 1
    }
    guard eocd >= 0 else {
      throw Self.error(
        path, .truncated, "truncated zip archive (end of central directory record not found)")
    }
    let disk = bytes.loadLE(eocd + 4, as: UInt16.self)
    let directoryDisk = bytes.loadLE(eocd + 6, as: UInt16.self)
    var entryCount = UInt64(bytes.loadLE(eocd + 10, as: UInt16.self))
    var directorySize = UInt64(bytes.loadLE(eocd + 12, as: UInt32.self))
    var directoryOffset = UInt64(bytes.loadLE(eocd + 16, as: UInt32.self))
    var directoryLimit = eocd

    // ZIP64: a locator just before the EOCD record points at the ZIP64 EOCD record.
    if eocd >= 20, bytes.loadLE(eocd - 20, as: UInt32.self) == Self.zip64Locator {
      let recordOffset = bytes.loadLE(eocd - 20 + 8, as: UInt64.self)
      guard recordOffset <= UInt64(eocd - 20), bytes.contains(offset: Int(recordOffset), length: 56),
        bytes.loadLE(Int(recordOffset), as: UInt32.self) == Self.zip64EndOfCentralDirectory
      else { throw bad("ZIP64 end of central directory record not found at \(recordOffset)") }
      let record = Int(recordOffset)
      entryCount = bytes.loadLE(record + 32, as: UInt64.self)
      directorySize = bytes.loadLE(record + 40, as: UInt64.self)
      directoryOffset = bytes.loadLE(record + 48, as: UInt64.self)
      directoryLimit = record
    } else if disk != 0 || directoryDisk != 0 {
      throw Self.error(path, .unsupported, "multi-disk zip archives are not supported")
    }
    guard directoryOffset <= UInt64(directoryLimit), directorySize <= UInt64(directoryLimit) - directoryOffset
    else {
      throw bad(
        "central directory (\(directorySize) bytes at \(directoryOffset)) lies outside the "
          + "\(directoryLimit) bytes before its end record")
    }
    guard entryCount <= directorySize / 46 else {
      throw bad("central directory of \(directorySize) bytes cannot hold \(entryCount) entries")
    }
    var position = Int(directoryOffset)
    let end = position + Int(directorySize)
    for number in 0..<Int(entryCount) {
      guard position <= end - 46, bytes.loadLE(position, as: UInt32.self) == Self.centralHeader else {
        throw bad("central directory entry \(number) at byte \(position) is invalid")
      }
      let flags = bytes.loadLE(position + 8, as: UInt16.self)
      let method = bytes.loadLE(position + 10, as: UInt16.self)
      let crc = bytes.loadLE(position + 16, as: UInt32.self)
      var compressed = UInt64(bytes.loadLE(position + 20, as: UInt32.self))
      var uncompressed = UInt64(bytes.loadLE(position + 24, as: UInt32.self))
      let nameLength = Int(bytes.loadLE(position + 28, as: UInt16.self))
      let extraLength = Int(bytes.loadLE(position + 30, as: UInt16.self))
      let commentLength = Int(bytes.loadLE(position + 32, as: UInt16.self))
      var localOffset = UInt64(bytes.loadLE(position + 42, as: UInt32.self))
      let nameStart = position + 46
      let extraStart = nameStart + nameLength
      let next = extraStart + extraLength + commentLength
      guard next <= end else { throw bad("central directory entry \(number) overruns the directory") }
      let name = String(decoding: bytes[nameStart..<extraStart], as: UTF8.self)

      // ZIP64 extended information: 8-byte values for the fields saturated above, in this order.
      var field = extraStart
      while field + 4 <= extraStart + extraLength {
        let id = bytes.loadLE(field, as: UInt16.self)
        let size = Int(bytes.loadLE(field + 2, as: UInt16.self))
        let dataEnd = field + 4 + size
        guard dataEnd <= extraStart + extraLength else {
          throw bad("extra field of '\(name)' overruns its entry")
        }
        if id == 0x0001 {
          var cursor = field + 4
          func next64() throws -> UInt64 {
            guard cursor + 8 <= dataEnd else { throw bad("ZIP64 extra field of '\(name)' is too short") }
            defer { cursor += 8 }
            return bytes.loadLE(cursor, as: UInt64.self)
          }
          if uncompressed == 0xFFFF_FFFF { uncompressed = try next64() }
          if compressed == 0xFFFF_FFFF { compressed = try next64() }
          if localOffset == 0xFFFF_FFFF { localOffset = try next64() }
        }
        field = dataEnd
      }
      guard let compressedSize = Int(exactly: compressed), let uncompressedSize = Int(exactly: uncompressed),
        let headerOffset = Int(exactly: localOffset), headerOffset < bytes.count,
        compressedSize <= bytes.count
      else { throw bad("entry '\(name)' has sizes or an offset beyond the archive") }
      let entry = Entry(
        name: name, flags: flags, method: method, crc32: crc, compressedSize: compressedSize,
        uncompressedSize: uncompressedSize, localHeaderOffset: headerOffset)
      indexByName[name] = entries.count
      entries.append(entry)
      position = next
    }
  }

  /// The entry called `name`, if any (the last one, when a name repeats).
  func entry(named name: String) -> Entry? {
    indexByName[name].map { entries[$0] }
  }

  /// The uncompressed data of `entry`: a buffer and the byte range holding it. Stored entries return the
  /// archive buffer itself (no copy); deflated entries are inflated into a new buffer.
  func data(of entry: Entry) throws -> (bytes: [UInt8], range: Range<Int>) {
    func bad(_ problem: String) -> CheckpointError {
      Self.error(path, .malformed, "bad zip entry '\(entry.name)': \(problem)")
    }
    let header = entry.localHeaderOffset
    guard bytes.contains(offset: header, length: 30),
      bytes.loadLE(header, as: UInt32.self) == Self.localHeader
    else { throw bad("no local header at byte \(header)") }
    let nameLength = Int(bytes.loadLE(header + 26, as: UInt16.self))
    let extraLength = Int(bytes.loadLE(header + 28, as: UInt16.self))
    let start = header + 30 + nameLength + extraLength
    guard bytes.contains(offset: start, length: entry.compressedSize) else {
      throw Self.error(
        path, .truncated,
        "truncated zip entry '\(entry.name)' (needs \(entry.compressedSize) bytes at byte \(start), "
          + "\(max(0, bytes.count - start)) left)")
    }
    guard entry.flags & 1 == 0 else {
      throw Self.error(path, .unsupported, "zip entry '\(entry.name)' is encrypted")
    }
    let compressed = start..<(start + entry.compressedSize)
    let result: (bytes: [UInt8], range: Range<Int>)
    switch entry.method {
    case 0:
      guard entry.compressedSize == entry.uncompressedSize else {
        throw bad("stored with \(entry.compressedSize) bytes but declares \(entry.uncompressedSize)")
      }
      result = (bytes, compressed)
    case 8:
      // Deflate expands at most ~1032:1; refuse claims beyond that before allocating.
      guard entry.uncompressedSize / 1032 <= entry.compressedSize + 1 else {
        throw bad("claims \(entry.uncompressedSize) bytes from \(entry.compressedSize) compressed bytes")
      }
      let inflated = try Self.inflate(bytes, compressed, size: entry.uncompressedSize) { bad($0) }
      result = (inflated, 0..<inflated.count)
    default:
      throw Self.error(
        path, .unsupported, "zip entry '\(entry.name)' uses unsupported compression method \(entry.method)")
    }
    let crc = Self.crc32(result.bytes, result.range)
    guard crc == entry.crc32 else {
      throw bad("CRC-32 mismatch (stored \(hex32(entry.crc32)), computed \(hex32(crc)))")
    }
    return result
  }

  /// A copy of the uncompressed data of `entry`.
  func contents(of entry: Entry) throws -> [UInt8] {
    let data = try self.data(of: entry)
    return Array(data.bytes[data.range])
  }

  private func hex32(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
  }
}
