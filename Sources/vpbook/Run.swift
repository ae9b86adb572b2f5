import ArgumentParser
import VPNotebook

struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a notebook and write one self-contained HTML report (and a JSON manifest).",
    discussion: """
      Blocks run in order over one session. Each block's outputs are cached under .cache/notebooks, keyed on its code, the parameters it reads, the blocks it depends on and the digests of the files it loads, so a second run executes only what changed. The exit status is non-zero when a block failed; the report is written anyway, with a banner that links to the failing block. The block language is documented in docs/NOTEBOOKS.md.

      Examples:
        vpbook run notebooks/tour.md
        vpbook run notebooks/tour.md -p epochs=8 -p seeds=7,8
        vpbook run notebooks/ablation-padding.md --keep-going
      """)

  @OptionGroup var options: NotebookOptions

  func run() throws {
    if try options.printHelpParams() { return }
    let runner = NotebookRunner()
    let succeeded = try runNotebook(runner, options)
    if !succeeded { throw ExitCode(1) }
  }
}
