/// AutoVP's IterMap: FreqMap recomputed every `interval` epochs.
public enum IterMap: MappingPolicy {
  public static let summary = "AutoVP's m-to-1 map, recomputed every interval epochs"
  public static let options: [MappingOption] = [.m, .interval]
  public static let form = MappingForm.sourceAverage
  public static let schedule = RemapSchedule.everyInterval

  public static func remap(_ d: FrequencyMatrix, config: MappingConfig) -> (sources: [[Int]], omega: [Float]) {
    ManyToOneRemap.remap(d, config: config)
  }
}
