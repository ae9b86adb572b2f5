import ArgumentParser
import Foundation
import VPTensor

@main
struct VPBook: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "vpbook",
    abstract: "Visual prompting on frozen ImageNet classifiers, on a CPU.",
    discussion: """
      Reprograms a frozen, pretrained classifier to a new task by learning only an input prompt and a label
      mapping. Models and data sets come from `make setup` (scripts/setup.sh).
      """,
    version: vpbookVersion,
    subcommands: [
      Classify.self, Train.self, Search.self, Run.self, Watch.self, Clean.self, CheckReport.self, Trial.self,
    ])

  /// OpenBLAS's kernels are chosen when it loads; run with the right ones (`BLASKernels.ensure`).
  static func main() {
    BLASKernels.ensure()
    main(nil)
  }
}

/// The version printed by `--version` and recorded in results.
let vpbookVersion = "0.1.0"

/// Prints a message to standard error.
func note(_ message: String) {
  FileHandle.standardError.write(Data((message + "\n").utf8))
}
