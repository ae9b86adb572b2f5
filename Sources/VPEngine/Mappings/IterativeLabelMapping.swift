/// ILM: FLM recomputed every `interval` epochs with the current prompt (an extra forward pass each time).
public enum IterativeLabelMapping: MappingPolicy {
  public static let summary = "one-to-one, recomputed every interval epochs with the current prompt"
  public static let options: [MappingOption] = [.assignment, .interval]
  public static let form = MappingForm.sourceAverage
  public static let schedule = RemapSchedule.everyInterval

  public static func remap(_ d: FrequencyMatrix, config: MappingConfig) -> (sources: [[Int]], omega: [Float]) {
    OneToOneRemap.remap(d, config: config)
  }
}
