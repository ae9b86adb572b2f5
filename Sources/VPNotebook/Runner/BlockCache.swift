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
  var seconds: Double
  var created: String
}

/// The per-block cache: one JSON entry per key (the commit point, written last) and, for blocks that
/// train prompts, a `.safetensors` file with the learned δ. Both are written atomically, so an
/// interrupted run leaves either a complete entry or none.
final class BlockCache {
  /// Bumped whenever the entries or the HTML they hold change shape.
  static let format = 1

  let directory: String

  init(directory: String) {
    self.directory = directory
  }

  private func paths(_ key: String) -> (json: String, tensors: String) {
    let folder = directory + "/" + String(key.prefix(2))
    return (folder + "/" + key + ".json", folder + "/" + key + ".safetensors")
  }

  /// The entry for `key` with its prompts, or nil when there is none or it cannot be read.
  func load(_ key: String) -> (entry: CacheEntry, deltas: [String: [Float]])? {
    let (jsonPath, tensorPath) = paths(key)
    guard let data = FileManager.default.contents(atPath: jsonPath),
      let entry = try? ResultsJSON.decoder().decode(CacheEntry.self, from: data),
      entry.format == BlockCache.format, entry.key == key
    else { return nil }
    var deltas: [String: [Float]] = [:]
    if !entry.deltaGroups.isEmpty {
      guard let stateDict = try? loadCheckpoint(tensorPath) else { return nil }
      for (index, name) in entry.deltaGroups.enumerated() {
        guard let values = try? stateDict.floats("delta.\(index)") else { return nil }
        deltas[name] = values
      }
    }
    return (entry, deltas)
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
      try AtomicFile.write(Data(bytes), to: tensorPath)
    }
    try AtomicFile.write(try ResultsJSON.encoder().encode(entry), to: jsonPath)
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
