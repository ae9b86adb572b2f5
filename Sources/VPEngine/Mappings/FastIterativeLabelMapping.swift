/// Fast ILM: ILM whose frequency matrix is re-estimated from the forward passes already made while training
/// the previous epoch (only the first one costs an extra pass).
public enum FastIterativeLabelMapping: MappingPolicy {
  public static let summary = "ILM estimated from the previous epoch's training passes (no extra pass)"
  public static let options: [MappingOption] = [.assignment, .interval]
  public static let form = MappingForm.sourceAverage
  public static let schedule = RemapSchedule.everyInterval
  public static let reusesTrainingPasses = true

  public static func remap(_ d: FrequencyMatrix, config: MappingConfig) -> (sources: [[Int]], omega: [Float]) {
    OneToOneRemap.remap(d, config: config)
  }
}
