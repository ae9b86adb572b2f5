import Foundation
import VPCheckpoint
import VPData
import VPEngine
import VPModels
import XCTest

/// The prompt families behind `InputPrompt`: LoR-VP's low-rank prompt against `Reference/make_lowrank_fixture.py`
/// and finite differences, and every family through the saved file and its values.
final class PromptFamilyTests: XCTestCase {
  struct LowRankCase: Decodable {
    var side: Int
    var rank: Int
    var batch: Int
    var B: [Float]
    var A: [Float]
    var images: [Float]
    var G: [Float]
    var prompted: [Float]
    var gradB: [Float]
    var gradA: [Float]
  }

  private func apply(_ prompt: any InputPrompt, _ images: [Float], count: Int, training: Bool = false) -> [Float] {
    let s = prompt.config.canvas
    var x = [Float](repeating: .nan, count: count * s * s * 3)
    images.withUnsafeBufferPointer { src in
      x.withUnsafeMutableBufferPointer {
        prompt.apply(src.baseAddress!, count: count, into: $0.baseAddress!, training: training)
      }
    }
    return x
  }

  private func gradients(_ prompt: any InputPrompt, _ g: [Float], images: [Float], count: Int) -> [String: [Float]] {
    g.withUnsafeBufferPointer { gx in
      images.withUnsafeBufferPointer { prompt.gradients(gx.baseAddress!, images: $0.baseAddress!, count: count) }
    }
  }

  private func assertClose(_ a: [Float], _ b: [Float], _ tolerance: Float, _ what: String) {
    XCTAssertEqual(a.count, b.count, what)
    let scale = max(1, b.map(abs).max() ?? 0)
    let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(worst, tolerance * scale, what)
  }

  func testLowRankPromptMatchesTheNumpyReference() throws {
    let cases = try loadFixture("lowrank", as: [LowRankCase].self)
    XCTAssertEqual(cases.count, 2)
    for c in cases {
      let config = PromptConfig(kind: .lowrank, canvas: c.side, image: c.side, rank: c.rank)
      let prompt = try XCTUnwrap(config.makePrompt(normalization: .imageNet, seed: 1) as? LowRankPrompt)
      prompt.values = c.B + c.A
      XCTAssertEqual(prompt.b, c.B)
      XCTAssertEqual(prompt.parameterCount, 2 * 3 * c.side * c.rank)
      assertClose(apply(prompt, c.images, count: c.batch, training: true), c.prompted, 1e-5, "prompted input")
      let g = gradients(prompt, c.G, images: c.images, count: c.batch)
      assertClose(try XCTUnwrap(g["prompt.B"]), c.gradB, 1e-4, "∂L/∂B")
      assertClose(try XCTUnwrap(g["prompt.A"]), c.gradA, 1e-4, "∂L/∂A")
      XCTAssertEqual(Set(g.keys), Set(prompt.trainableTensors(TrainingConfig()).map(\.name)))
    }
  }

  func testLowRankGradientsAgreeWithFiniteDifferences() throws {
    let (s, r, n) = (9, 2, 2)
    let config = PromptConfig(kind: .lowrank, canvas: s, image: s, rank: r)
    let prompt = try XCTUnwrap(config.makePrompt(normalization: .imageNet, seed: 3) as? LowRankPrompt)
    var rng = SplitMix64(seed: 11)
    prompt.values = uniform(prompt.values.count, &rng, -0.5, 0.5)
    let images = uniform(n * s * s * 3, &rng, 0, 1)
    let g = uniform(n * s * s * 3, &rng)
    let analytic = gradients(prompt, g, images: images, count: n)
    let base = prompt.values
    let split = 3 * s * r
    for index in [0, 5, split - 1, split, split + 7, 2 * split - 1] {
      var plus = base
      var minus = base
      plus[index] += 1e-2
      minus[index] -= 1e-2
      prompt.values = plus
      let up = dot(g, apply(prompt, images, count: n))
      prompt.values = minus
      let down = dot(g, apply(prompt, images, count: n))
      let numeric = (up - down) / 2e-2
      let value = index < split ? analytic["prompt.B"]![index] : analytic["prompt.A"]![index - split]
      XCTAssertEqual(Double(value), numeric, accuracy: 2e-3 * max(1, abs(numeric)), "value \(index)")
    }
  }

  func testLowRankStartsAsThePlainImageAndItsInitialValuesFollowTheSeed() throws {
    let config = PromptConfig(kind: .lowrank, canvas: 32, image: 32)
    let a = try XCTUnwrap(config.makePrompt(normalization: .imageNet, seed: 5) as? LowRankPrompt)
    let b = try XCTUnwrap(config.makePrompt(normalization: .imageNet, seed: 5) as? LowRankPrompt)
    let c = try XCTUnwrap(config.makePrompt(normalization: .imageNet, seed: 6) as? LowRankPrompt)
    XCTAssertEqual(a.rank, PromptConfig.defaultRank)
    XCTAssertTrue(a.b.allSatisfy { $0 == 0 }, "B starts at zero")
    XCTAssertTrue(a.pattern.allSatisfy { $0 == 0 }, "so the first input is the plain image")
    XCTAssertEqual(a.a, b.a)
    XCTAssertNotEqual(a.a, c.a)
    let spread = (a.a.map { Double($0 * $0) }.reduce(0, +) / Double(a.a.count)).squareRoot()
    XCTAssertEqual(spread, 0.01, accuracy: 0.001, "A ~ N(0, 0.01²)")
    // LoR-VP's count at 224 px, rank 4: 2 · 3 · 224 · 4.
    XCTAssertEqual(
      PromptConfig(kind: .lowrank, canvas: 224, image: 224).makePrompt(normalization: .imageNet, seed: 0)
        .parameterCount, 5376)
  }

  func testEveryFamilySavesAndReadsBackTheSamePrompt() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vp-prompt-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    var rng = SplitMix64(seed: 21)
    let images = uniform(2 * 32 * 32 * 3, &rng, 0, 1)
    for config in [
      PromptConfig(kind: .pad, canvas: 32, image: 20, learnableScale: true),
      PromptConfig(kind: .watermark, canvas: 32, image: 32, frame: 4),
      PromptConfig(kind: .lowrank, canvas: 32, image: 32, rank: 3),
      PromptConfig(kind: .smm, canvas: 32, image: 32),
    ] {
      let prompt = config.makePrompt(normalization: .imageNet, seed: 4)
      prompt.values = uniform(prompt.values.count, &rng, -0.5, 0.5).enumerated().map { index, v in
        // SMM's running variances must stay positive.
        config.kind == .smm && index >= prompt.values.count - 120 ? abs(v) + 0.5 : v
      }
      prompt.scale = 1.3
      let path = folder.appendingPathComponent("\(config.kind.rawValue).safetensors").path
      try PromptFile.write(prompt, to: path)
      let read = try PromptFile.read(path, normalization: .imageNet)
      XCTAssertEqual(read.config, config)
      XCTAssertTrue(read.values == prompt.values, "\(config.kind): the values differ")
      XCTAssertEqual(read.scale, prompt.scale)
      let side = config.imageSide
      let input = Array(images[0..<(2 * side * side * 3)])
      let (x, y) = (apply(read, input, count: 2), apply(prompt, input, count: 2))
      XCTAssertTrue(x == y && x.allSatisfy(\.isFinite), "\(config.kind): the prompted inputs differ")
    }
  }

  func testAPromptFileWithAMissingOrMisshapedTensorNamesIt() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vp-prompt-bad-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("p.safetensors").path
    let metadata = ["kind": "lowrank", "canvas": "32", "image": "32", "rank": "4"]
    func write(_ tensors: [(String, [Int])]) throws {
      let entries = tensors.map { name, shape in
        (name, CheckpointTensor(shape: shape, floats: [Float](repeating: 0, count: shape.reduce(1, *)))!)
      }
      try Safetensors.write(StateDict(entries), metadata: metadata, to: path)
    }
    try write([("prompt.B", [3, 32, 5]), ("prompt.A", [3, 4, 32])])
    XCTAssertThrowsError(try PromptFile.read(path, normalization: .imageNet)) { error in
      XCTAssertEqual("\(error)", "\(path): tensor prompt.B has shape [3, 32, 5], expected [3, 32, 4]")
    }
    try write([("prompt.B", [3, 32, 4])])
    XCTAssertThrowsError(try PromptFile.read(path, normalization: .imageNet)) { error in
      XCTAssertEqual("\(error)", "\(path): tensor prompt.A is missing")
    }
    try write([("prompt.B", [3, 32, 4]), ("prompt.A", [3, 4, 32]), ("prompt.delta", [32, 32, 3])])
    XCTAssertThrowsError(try PromptFile.read(path, normalization: .imageNet)) { error in
      XCTAssertEqual("\(error)", "\(path): tensor prompt.delta is not part of a lowrank prompt")
    }
    try write([("prompt.B", [3, 32, 4]), ("prompt.A", [3, 4, 32])])
    XCTAssertNoThrow(try PromptFile.read(path, normalization: .imageNet))
  }

  func testGeometryErrorsNameTheField() {
    XCTAssertThrowsError(try PromptConfig(kind: .pad, canvas: 32, image: 16, rank: 2).validate()) {
      XCTAssertEqual("\($0)", "prompt: a rank needs the lowrank prompt, not pad")
    }
    XCTAssertThrowsError(try PromptConfig(kind: .lowrank, canvas: 32, image: 32, rank: 33).validate()) {
      XCTAssertEqual("\($0)", "prompt: rank 33 must be between 1 and the canvas (32)")
    }
    XCTAssertThrowsError(try PromptConfig(kind: .smm, canvas: 36, image: 36).validate()) {
      XCTAssertEqual("\($0)", "prompt: the smm prompt needs a canvas divisible by 8 (its mask patches), got 36")
    }
    XCTAssertThrowsError(try PromptConfig(kind: .smm, canvas: 32, image: 32, frame: 4).validate()) {
      XCTAssertEqual("\($0)", "prompt: a frame needs the watermark prompt, not smm")
    }
  }
}
