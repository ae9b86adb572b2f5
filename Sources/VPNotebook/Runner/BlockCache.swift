import Foundation
import VPCheckpoint
import VPEngine

/// What a block left behind: its outputs and its effects on the session.
struct CacheEntry: Codable, Sendable {
  var format: Int
  var key: String
  var notebook: String
  var line: Int
  var code: String
  var panels: [Panel]
  var groups: [RunGroup]
  /// The groups whose learned prompt δ is stored in the entry's `.safetensors` file.
  var deltaGroups: [String]
  /// The SHA-256 of that file, checked before it is read.
  var tensorsSHA256: String? = nil
  var seconds: Double
  var created: String
}

/// The per-block cache: one JSON entry per key (the commit point, written last) and, for blocks that
/// train prompts, a `.safetensors` file with the learned δ. Both are written atomically, so an
/// interrupted run leaves either a complete entry or none; and both carry a SHA-256 that is checked when
/// they are read (the entry's first line is the digest of the JSON after it; the entry records the
/// tensors' digest), so an entry changed on disk is reported and recomputed, never used.
final class BlockCache {
  /// Bumped whenever the entries or the HTML they hold change shape.
  static let format = 2

  let directory: String

  init(directory: String) {
    self.directory = directory
  }

  private func paths(_ key: String) -> (json: String, tensors: String) {
    let folder = directory + "/" + String(key.prefix(2))
    return (folder + "/" + key + ".json", folder + "/" + key + ".safetensors")
  }

  /// What the cache holds for a key.
  enum Lookup {
    case hit(CacheEntry, deltas: [String: [Float]])
    case miss
    /// An entry exists but does not match its digests or cannot be read (the reason, naming the file).
    case corrupt(String)
  }

  /// The entry for `key` with its prompts, after checking both files against their digests.
  func load(_ key: String) -> Lookup {
    let (jsonPath, tensorPath) = paths(key)
    guard let data = FileManager.default.contents(atPath: jsonPath) else { return .miss }
    guard let newline = data.firstIndex(of: 0x0A), newline - data.startIndex == 64 else {
      return .corrupt("\(jsonPath) has no digest line (an entry of another version, or damaged)")
    }
    let recorded = String(decoding: data[data.startIndex..<newline], as: UTF8.self)
    let body = data[(newline + 1)...]
    guard SHA256.hex(Data(body)) == recorded else {
      return .corrupt("\(jsonPath) does not match its recorded SHA-256 (changed after it was written)")
    }
    guard let entry = try? ResultsJSON.decoder().decode(CacheEntry.self, from: Data(body)),
      entry.format == BlockCache.format, entry.key == key
    else { return .corrupt("\(jsonPath) is not a cache entry for this block") }
    var deltas: [String: [Float]] = [:]
    if !entry.deltaGroups.isEmpty {
      // Read once: the digest is checked on the very bytes that are then decoded.
      guard let bytes = FileManager.default.contents(atPath: tensorPath) else {
        return .corrupt("\(tensorPath) cannot be read")
      }
      guard SHA256.hex(bytes) == entry.tensorsSHA256 else {
        return .corrupt("\(tensorPath) does not match the SHA-256 its entry recorded (changed after it was written)")
      }
      guard let stateDict = try? loadCheckpoint(bytes: [UInt8](bytes), path: tensorPath) else {
        return .corrupt("\(tensorPath) cannot be read")
      }
      for (index, name) in entry.deltaGroups.enumerated() {
        guard let values = try? stateDict.floats("delta.\(index)") else {
          return .corrupt("\(tensorPath) has no prompt for run '\(name)'")
        }
        deltas[name] = values
      }
    }
    return .hit(entry, deltas: deltas)
  }

  /// Stores an entry and the prompts of its groups.
  func store(_ entry: CacheEntry, deltas: [String: [Float]]) throws {
    var entry = entry
    let (jsonPath, tensorPath) = paths(entry.key)
    entry.deltaGroups = entry.groups.map(\.name).filter { deltas[$0] != nil }
    if !entry.deltaGroups.isEmpty {
      var tensors: [(String, CheckpointTensor)] = []
      for (index, name) in entry.deltaGroups.enumerated() {
        let values = deltas[name]!
        guard let tensor = CheckpointTensor(shape: [values.count], floats: values) else { continue }
        tensors.append(("delta.\(index)", tensor))
      }
      let bytes = try Safetensors.encode(
        StateDict(tensors, path: tensorPath, format: .safetensors, metadata: [:]),
        metadata: ["key": entry.key, "groups": entry.deltaGroups.joined(separator: "\n")])
      entry.tensorsSHA256 = SHA256.hex(Data(bytes))
      try AtomicFile.write(Data(bytes), to: tensorPath)
    }
    let json = try ResultsJSON.encoder().encode(entry)
    try AtomicFile.write(Data((SHA256.hex(json) + "\n").utf8) + json, to: jsonPath)
  }

  /// Removes the whole cache folder; returns how many entries it held.
  @discardableResult
  static func clean(directory: String) throws -> Int {
    guard FileManager.default.fileExists(atPath: directory) else { return 0 }
    let count =
      (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String])?.filter {
        $0.hasSuffix(".json") && $0.contains("/")
      }
      .count ?? 0
    try FileManager.default.removeItem(atPath: directory)
    return count
  }
}
