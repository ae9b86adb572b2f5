import ArgumentParser
import Foundation
import VPCheckpoint
import VPEngine
import VPModels

extension PromptKind: ExpressibleByArgument {}
extension MappingKind: ExpressibleByArgument {}
extension AssignmentMethod: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension ScheduleKind: ExpressibleByArgument {}

struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train a visual prompt with a label mapping, for one or more seeds, and evaluate it.",
    discussion: """
      Protocol FMNIST-VP-S (the defaults): MobileNetV2, Fashion-MNIST, the first 500 training images per
      class, the first 2000 test images, 28 → 64 px in a 128 canvas, padding prompt, Adam lr 0.01, MultiStep
      at 50/72 %, batch 64, 10 epochs.
        vpbook train --mapping ilm --seeds 7,8,9 --json output/ilm.json
      Selection uses the validation split (--val-per-class); the test split is evaluated once, at the end.
      """)

  @Option(help: "Source model.") var model: ModelName = .mobilenetV2
  @Option(help: "Checkpoint for the model; default: the one installed by setup.") var weights: String?
  @Option(
    help: "Data set: \(DataCatalog.builtIn.joined(separator: ", ")), imagefolder:PATH, cifar10:DIR, cifar100:DIR.")
  var data = "fashion-mnist"
  @Option(help: "Training images per class.") var perClass: Int = 500
  @Option(help: "Validation images per class (taken after the training images; 0 selects the last epoch).")
  var valPerClass: Int = 50
  @Option(help: "Test images: the first N of the official test file, or N per class held out.") var test: Int = 2000
  @Option(help: "Prompt: pad or watermark.") var prompt: PromptKind = .pad
  @Option(help: "Canvas (model input) side in pixels.") var canvas: Int = 128
  @Option(help: "Image side inside the canvas (pad prompt).") var image: Int = 64
  @Option(help: "Watermark prompt: frame width (default: the whole image).") var frame: Int?
  @Flag(
    help:
      "Pad prompt: learn AutoVP's input scale (the image is zoomed about the canvas centre by a trainable factor starting at 1, kept in [0.1, 5]; set the starting size with --image)."
  )
  var learnScale = false
  @Option(help: "Label mapping: \(MappingKind.allCases.map(\.rawValue).joined(separator: ", ")).")
  var mapping: MappingKind = .ilm
  @Option(help: "One-to-one assignment: greedy or hungarian.") var assignment: AssignmentMethod = .greedy
  @Option(help: "Epochs between remappings (ILM, IterMap, BLM).") var interval: Int = 1
  @Option(name: .customLong("m"), help: "Sources per target (freqmap, itermap).") var sourcesPerTarget: Int = 1
  @Option(help: "BLM+'s k (default max(1, int(0.15 K))).") var topK: Int?
  @Option(help: "Epochs.") var epochs: Int = 10
  @Option(help: "Learning rate.") var lr: Double = 0.01
  @Option(help: "Batch size.") var batch: Int = 64
  @Option(help: "Optimizer: adam or sgd (momentum 0.9).") var optimizer: OptimizerKind = .adam
  @Option(help: "Schedule: multistep, cosine or constant.") var schedule: ScheduleKind = .multistep
  @Option(help: "Seeds, comma-separated (mean ± std is reported).") var seeds: String = "7"
  @Option(help: "Write every result as JSON to this file.") var json: String?
  @Option(help: "Save the learned prompt (last seed) as .safetensors.") var savePrompt: String?
  @Flag(help: "Also evaluate the test split after every epoch (curves only; never used for selection).")
  var testCurve = false
  @Flag(help: "No progress bar.") var quiet = false
  @Option(
    help:
      "Run a baseline instead of training a prompt: zero-shot (FLM with the untrained prompt) or linear-probe (a linear layer on the frozen features; use --lr 0.1)."
  )
  var baseline: Baseline?

  enum Baseline: String, ExpressibleByArgument, CaseIterable {
    case zeroShot = "zero-shot"
    case linearProbe = "linear-probe"
  }

  func parsedSeeds() throws -> [UInt64] {
    let parts = seeds.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    let values = parts.compactMap { UInt64($0) }
    guard !values.isEmpty, values.count == parts.count else {
      throw ValidationError("--seeds expects comma-separated non-negative integers, got '\(seeds)'")
    }
    return values
  }

  func run() throws {
    let seeds = try parsedSeeds()
    let promptConfig = PromptConfig(
      kind: prompt, canvas: canvas, image: prompt == .pad ? image : canvas, frame: frame, learnableScale: learnScale)
    try promptConfig.validate()
    let classifier = try ModelZoo.load(model, weights: weights)
    let spec = DataSpec(name: data, perClass: perClass, validationPerClass: valPerClass, test: test)
    let split = try DataCatalog.prepare(spec, side: promptConfig.imageSide)
    let sourceNames = classifier.classCount == 1000 ? try? ImageNetClasses.names() : nil
    let experiment = try Experiment(
      model: classifier, train: split.train, validation: split.validation, test: split.test, sourceNames: sourceNames)
    experiment.testEveryEpoch = testCurve
    experiment.sourceSynsets = try? ImageNetClasses.wordNetSynsets()
    let bar = ProgressBar(enabled: !quiet)
    experiment.progress = { bar.update($0) }
    let mappingConfig = MappingConfig(
      mapping, assignment: assignment, interval: interval, sourcesPerTarget: sourcesPerTarget, topK: topK)
    let training = TrainingConfig(
      epochs: epochs, batchSize: batch, learningRate: lr, optimizer: optimizer, schedule: schedule)
    note(
      "\(classifier.name) on \(data): \(split.train.count) train / \(split.validation?.count ?? 0) val / \(split.test.count) test images, \(split.train.classCount) classes; \(mappingConfig.label), \(epochs) epochs"
    )
    var results: [RunResult] = []
    for seed in baseline == .zeroShot ? [seeds[0]] : seeds {
      bar.label = "seed \(seed)"
      let r: RunResult
      switch baseline {
      case .zeroShot?: r = try experiment.zeroShot(prompt: promptConfig, assignment: assignment)
      case .linearProbe?: r = try experiment.linearProbe(prompt: promptConfig, training: training, seed: seed)
      case nil: r = try experiment.run(prompt: promptConfig, mapping: mappingConfig, training: training, seed: seed)
      }
      bar.finish()
      results.append(r)
      print(
        String(
          format: "seed %llu: test %.2f %% (epoch %d selected), %.1f s (%.1f s remapping), %.0f img/s", r.seed,
          r.testAccuracy * 100, r.selectedEpoch, r.wallSeconds, r.remapSeconds, r.trainImagesPerSecond)
          + (r.inputScale.map { String(format: ", input scale σ = %.3f", $0) } ?? ""))
    }
    let summary = Summary(results.map(\.testAccuracy))
    print(
      "\(baseline?.rawValue ?? mappingConfig.label): test accuracy \(summary.formatted()) % over \(summary.n) seed(s)")
    if let json {
      try writeJSON(TrainReport(vpbook: vpbookVersion, data: spec, results: results, testAccuracy: summary), to: json)
      note("wrote \(json)")
    }
    if let savePrompt, let p = experiment.lastPrompt {
      var tensors = [("prompt.delta", CheckpointTensor(shape: [canvas, canvas, 3], floats: p.delta)!)]
      if learnScale { tensors.append(("prompt.scale", CheckpointTensor(shape: [], floats: [p.scale])!)) }
      try Safetensors.write(
        StateDict(tensors, path: savePrompt, format: .safetensors, metadata: [:]),
        metadata: [
          "kind": prompt.rawValue, "canvas": "\(canvas)", "image": "\(promptConfig.imageSide)", "layout": "HWC",
        ],
        to: savePrompt)
      note("wrote \(savePrompt)")
    }
  }
}

struct TrainReport: Codable {
  var vpbook: String
  var data: DataSpec
  var results: [RunResult]
  var testAccuracy: Summary
}

/// Encodes `value` as pretty JSON and writes it atomically (`writeAtomically`).
func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
  try writeAtomically(try ResultsJSON.encoder(pretty: true).encode(value), to: path)
}

/// A one-line progress bar with ETA and images/s on standard error.
final class ProgressBar: @unchecked Sendable {
  let enabled: Bool
  var label = ""
  private var lastDraw = Date.distantPast
  private let started = Date()
  private var epochStarted = Date()
  private var lastEpoch = 0
  init(enabled: Bool) { self.enabled = enabled && isatty(2) != 0 }

  func update(_ p: TrainingProgress) {
    guard enabled else { return }
    if p.epoch != lastEpoch {
      lastEpoch = p.epoch
      epochStarted = Date()
    }
    let now = Date()
    guard now.timeIntervalSince(lastDraw) > 0.1 || p.step == p.steps else { return }
    lastDraw = now
    let done = Double((p.epoch - 1) * p.steps + p.step) / Double(max(1, p.epochs * p.steps))
    let width = 24
    let filled = Int(done * Double(width))
    let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
    let elapsed = now.timeIntervalSince(started)
    let eta = done > 0 ? elapsed * (1 - done) / done : 0
    let text =
      p.phase == "remap"
      ? "\r\(label) epoch \(p.epoch)/\(p.epochs) [\(bar)] remapping labels…"
      : String(
        format: "\r%@ epoch %d/%d [%@] %3.0f%% loss %.3f %.0f img/s ETA %.0fs ", label, p.epoch, p.epochs, bar,
        done * 100,
        p.loss, p.imagesPerSecond, eta)
    FileHandle.standardError.write(Data(text.utf8))
  }

  func finish() {
    guard enabled else { return }
    FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
  }
}
