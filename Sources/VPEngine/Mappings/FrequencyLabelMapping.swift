/// FLM: the greedy (or optimal) one-to-one map from the frequency matrix of the initial prompt, fixed.
public enum FrequencyLabelMapping: MappingPolicy {
  public static let summary = "one-to-one from the frequency matrix of the untrained prompt, fixed"
  public static let options: [MappingOption] = [.assignment]
  public static let form = MappingForm.sourceAverage
  public static let schedule = RemapSchedule.once

  public static func remap(_ d: FrequencyMatrix, config: MappingConfig) -> (sources: [[Int]], omega: [Float]) {
    OneToOneRemap.remap(d, config: config)
  }
}
