/// AutoVP's FreqMap: m sources per target (the mean of their logits), from the first frequency matrix, fixed.
public enum FreqMap: MappingPolicy {
  public static let summary = "AutoVP's m-to-1 map from the first frequency matrix, fixed"
  public static let options: [MappingOption] = [.m]
  public static let form = MappingForm.sourceAverage
  public static let schedule = RemapSchedule.once

  public static func remap(_ d: FrequencyMatrix, config: MappingConfig) -> (sources: [[Int]], omega: [Float]) {
    ManyToOneRemap.remap(d, config: config)
  }
}
