import VPEngine

/// The runs of one method over its seeds, registered in the session under `name`.
struct RunGroup: Codable, Sendable {
  var name: String
  var method: RunMethod
  var model: String
  var data: DataSpec
  var prompt: PromptConfig
  /// The sweep point, `[[axis, value]]`.
  var axes: [[String]]
  /// One result per seed, in seed order.
  var results: [RunResult]

  var seeds: [UInt64] { results.map(\.seed) }
  var first: RunResult? { results.first }
}
