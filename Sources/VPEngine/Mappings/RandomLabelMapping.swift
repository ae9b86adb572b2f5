import VPData

/// RLM: a random injective map from targets to source classes, fixed for the whole run.
public enum RandomLabelMapping: MappingPolicy {
  public static let summary = "a random one-to-one map, fixed"
  public static let options: [MappingOption] = []
  public static let form = MappingForm.sourceAverage
  public static let schedule = RemapSchedule.never

  public static func initialSources(
    _ config: MappingConfig, sources: Int, targets: Int, rng: inout SplitMix64, context: MappingContext
  ) throws -> [[Int]] {
    rng.permutation(sources).prefix(targets).map { [$0] }
  }

  public static func remap(_ d: FrequencyMatrix, config: MappingConfig) -> (sources: [[Int]], omega: [Float]) {
    NoRemap.remap(d)
  }
}
