import VPData
import VPEngine
import XCTest

final class AugmentationTests: XCTestCase {
  private struct AugmentFixture: Decodable {
    struct Result: Decodable {
      var operation: String
      var magnitude: Double
      var output: [Float]
    }
    struct Case: Decodable {
      var side: Int
      var image: [Float]
      var results: [Result]
    }
    var cases: [Case]
  }

  private func applied(_ operation: TrivialAugment.Operation, _ magnitude: Double, _ image: [Float], side: Int)
    -> [Float]
  {
    var out = image
    out.withUnsafeMutableBufferPointer {
      TrivialAugment.apply(operation, magnitude: magnitude, to: $0.baseAddress!, side: side)
    }
    return out
  }

  /// Uniform images in [0, 1] with some pixels exactly 0 and exactly 1 (the clamps' edges).
  private func images(_ count: Int, side: Int, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    var x = uniform(count * side * side * 3, &rng, 0, 1)
    for i in Swift.stride(from: 0, to: x.count, by: 7) { x[i] = i % 2 == 0 ? 0 : 1 }
    return x
  }

  /// Every operation at two or three magnitudes, on 9×9, 8×8 and 12×12 images, against the numpy reference
  /// (`make_augment_fixture.py`).
  func testEveryOperationMatchesTheNumpyReference() throws {
    let fixture = try loadFixture("augment", as: AugmentFixture.self)
    var largest: [TrivialAugment.Operation: Float] = [:]
    for c in fixture.cases {
      XCTAssertEqual(c.image.count, c.side * c.side * 3)
      for r in c.results {
        let operation = try XCTUnwrap(TrivialAugment.Operation(rawValue: r.operation), r.operation)
        let what = "\(r.operation)(\(r.magnitude)) on \(c.side)×\(c.side)"
        let out = applied(operation, r.magnitude, c.image, side: c.side)
        assertClose(out, r.output, tolerance: 1e-5, what)
        let error = zip(out, r.output).map { abs($0 - $1) }.max() ?? 0
        largest[operation] = max(largest[operation] ?? 0, error)
      }
    }
    XCTAssertEqual(Set(largest.keys), Set(TrivialAugment.Operation.allCases), "every operation has a reference")
    for operation in TrivialAugment.Operation.allCases {
      print("augment max |error| \(operation.rawValue): \(largest[operation] ?? .nan)")
    }
  }

  func testIdentityIsBitIdenticalAndFlipTwiceIsIdentity() {
    for side in [1, 8, 9, 32] {
      let x = images(1, side: side, seed: UInt64(side))
      XCTAssertEqual(applied(.identity, 0, x, side: side), x)
      let once = applied(.flip, 0, x, side: side)
      if side > 1 { XCTAssertNotEqual(once, x) }
      XCTAssertEqual(applied(.flip, 0, once, side: side), x)
      // Exact geometric cases: rotation by 0° and a zero shift leave every value as it was.
      XCTAssertEqual(applied(.rotate, 0, x, side: side), x)
      XCTAssertEqual(applied(.translateX, 0, x, side: side), x)
      XCTAssertEqual(applied(.brightness, 1, x, side: side), x)
    }
  }

  /// A shift and its opposite keep the pixels that never left; a shift by the whole side leaves zeros;
  /// cutout's square is at least one pixel.
  func testShiftsAndCutoutAtTheEdges() {
    let side = 8
    let x = images(1, side: side, seed: 3)
    let there = applied(.translateY, 2, x, side: side)
    let back = applied(.translateY, -2, there, side: side)
    for r in 0..<side {
      for i in 0..<(side * 3) {
        XCTAssertEqual(back[r * side * 3 + i], r < side - 2 ? x[r * side * 3 + i] : 0)
      }
    }
    XCTAssertEqual(applied(.translateX, Double(side), x, side: side), [Float](repeating: 0, count: x.count))
    let tiny = images(1, side: 3, seed: 4)
    let cut = applied(.cutout, 4, tiny, side: 3)
    XCTAssertEqual(TrivialAugment.cutoutSide(side: 3), 1)
    XCTAssertEqual(Array(cut[12..<15]), [0.5, 0.5, 0.5])
    XCTAssertEqual(cut.enumerated().filter { $0.element != tiny[$0.offset] }.count, 3)
  }

  /// An image's augmentation depends on (seed, epoch, index) only: the same in a batch of one, in a larger
  /// batch in another order, run on several threads.
  func testAnImagesAugmentationDependsOnlyOnSeedEpochAndIndex() {
    let side = 16
    let n = side * side * 3
    let indices = [5, 901, 2, 77, 13, 40, 6, 1000]
    var originals: [Int: [Float]] = [:]
    for (k, index) in indices.enumerated() { originals[index] = images(1, side: side, seed: UInt64(100 + k)) }

    func batch(_ ids: [Int], seed: UInt64 = 11, epoch: Int = 3) -> [Int: [Float]] {
      var pixels = ids.flatMap { originals[$0]! }
      pixels.withUnsafeMutableBufferPointer {
        TrivialAugment.apply(to: $0.baseAddress!, count: ids.count, side: side, seed: seed, epoch: epoch, indices: ids)
      }
      var out: [Int: [Float]] = [:]
      for (k, id) in ids.enumerated() { out[id] = Array(pixels[(k * n)..<((k + 1) * n)]) }
      return out
    }
    let whole = batch(indices)
    let reversed = batch(indices.reversed())
    let halves = batch(Array(indices[4...])).merging(batch(Array(indices[..<4]))) { a, _ in a }
    for index in indices {
      let alone = batch([index])
      XCTAssertEqual(whole[index], alone[index], "index \(index)")
      XCTAssertEqual(reversed[index], alone[index], "index \(index)")
      XCTAssertEqual(halves[index], alone[index], "index \(index)")
      var g = TrivialAugment.generator(seed: 11, epoch: 3, index: index)
      XCTAssertEqual(alone[index], applied(TrivialAugment.draw(&g, side: side), originals[index]!, side: side))
    }
    // Not every draw was identity.
    XCTAssertGreaterThan(indices.filter { whole[$0] != originals[$0] }.count, indices.count / 2)
  }

  private func applied(_ draw: TrivialAugment.Draw, _ image: [Float], side: Int) -> [Float] {
    applied(draw.operation, draw.magnitude, image, side: side)
  }

  private func draws(seed: UInt64, epoch: Int, count: Int, side: Int) -> [TrivialAugment.Draw] {
    (0..<count).map { index in
      var g = TrivialAugment.generator(seed: seed, epoch: epoch, index: index)
      return TrivialAugment.draw(&g, side: side)
    }
  }

  func testDifferentSeedsAndEpochsDrawDifferently() {
    let base = draws(seed: 1, epoch: 0, count: 500, side: 32)
    for other in [draws(seed: 2, epoch: 0, count: 500, side: 32), draws(seed: 1, epoch: 1, count: 500, side: 32)] {
      let sameOperation = zip(base, other).filter { $0.operation == $1.operation }.count
      let sameDraw = zip(base, other).filter { $0 == $1 }.count
      // Independent draws agree on the operation about 1/9 of the time (≈ 56 of 500).
      XCTAssertLessThan(sameOperation, 100)
      XCTAssertLessThan(sameDraw, 50)
    }
    XCTAssertEqual(base, draws(seed: 1, epoch: 0, count: 500, side: 32))
  }

  /// Operations are drawn uniformly (each within 20 % of 1/9 of 90 000 draws; the generator is deterministic, so
  /// the counts are fixed) and magnitudes stay in their ranges, the integer ones taking every value.
  func testOperationsAndMagnitudesAreDrawnUniformlyFromTheirRanges() {
    let side = 32
    let all = draws(seed: 2026, epoch: 4, count: 90_000, side: side)
    let expected = Double(all.count) / Double(TrivialAugment.Operation.allCases.count)
    for operation in TrivialAugment.Operation.allCases {
      let mine = all.filter { $0.operation == operation }
      XCTAssertEqual(Double(mine.count), expected, accuracy: 0.2 * expected, operation.rawValue)
      let range = operation.magnitudes(side: side)
      let magnitudes = mine.map(\.magnitude)
      XCTAssertTrue(magnitudes.allSatisfy { range.contains($0) }, operation.rawValue)
      switch operation {
      case .identity, .flip:
        XCTAssertEqual(Set(magnitudes), [0])
      case .translateX, .translateY, .cutout:
        XCTAssertEqual(Set(magnitudes), Set((Int(range.lowerBound)...Int(range.upperBound)).map(Double.init)))
      case .rotate, .brightness, .contrast, .saturation:
        // Uniform: the mean is near the middle and both ends are approached.
        let mean = magnitudes.reduce(0, +) / Double(magnitudes.count)
        let width = range.upperBound - range.lowerBound
        XCTAssertEqual(mean, (range.lowerBound + range.upperBound) / 2, accuracy: 0.02 * width, operation.rawValue)
        XCTAssertLessThan(magnitudes.min()!, range.lowerBound + 0.01 * width)
        XCTAssertGreaterThan(magnitudes.max()!, range.upperBound - 0.01 * width)
      }
    }
    XCTAssertEqual(TrivialAugment.Operation.translateX.magnitudes(side: side), -4...4)
    XCTAssertEqual(TrivialAugment.Operation.rotate.magnitudes(side: side), -30...30)
  }

  func testOutputsStayInTheUnitInterval() {
    for side in [7, 16] {
      let count = 300
      var x = images(count, side: side, seed: UInt64(side))
      x.withUnsafeMutableBufferPointer {
        TrivialAugment.apply(
          to: $0.baseAddress!, count: count, side: side, seed: 9, epoch: 0, indices: Array(0..<count))
      }
      XCTAssertTrue(x.allSatisfy { $0 >= 0 && $0 <= 1 }, "side \(side)")
    }
    // The extremes of every continuous range, on an image with values at 0 and 1.
    let x = images(1, side: 9, seed: 5)
    for operation in [TrivialAugment.Operation.rotate, .brightness, .contrast, .saturation] {
      let range = operation.magnitudes(side: 9)
      for m in [range.lowerBound, range.upperBound] {
        XCTAssertTrue(applied(operation, m, x, side: 9).allSatisfy { $0 >= 0 && $0 <= 1 }, "\(operation)(\(m))")
      }
    }
  }

  func testDescriptionNamesEveryOperationAndTheOptionValues() {
    for operation in TrivialAugment.Operation.allCases {
      XCTAssertTrue(TrivialAugment.description.contains(operation.rawValue + ":"), operation.rawValue)
    }
    XCTAssertEqual(Augmentation.allCases.map(\.rawValue), ["none", "trivial"])
  }
}
