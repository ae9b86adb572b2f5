import VPData

/// Target class t is source class t, fixed: for a source model whose classes are the target classes
/// themselves (the policy's default initial map, never remapped; CLIP with `sources=classes` or `sources=ensemble`, whose head is the target classes' own text
/// prompts — Bahng et al.'s CLIP setting). Needs at least as many source classes as targets.
public enum IdentityLabelMapping: MappingPolicy {
  public static let summary = "target t is source class t, fixed (CLIP over the target classes' own prompts)"
  public static let options: [MappingOption] = []
  public static let form = MappingForm.sourceAverage
  public static let schedule = RemapSchedule.never

  public static func remap(_ d: FrequencyMatrix, config: MappingConfig) -> (sources: [[Int]], omega: [Float]) {
    NoRemap.remap(d)
  }
}
