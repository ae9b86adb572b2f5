import VPData
import VPTestSupport
import XCTest

private struct Reference: Decodable {
  struct Part: Decodable {
    var count: Int
    var sum: Int
    var first: [Int]
    var last: Int
  }
  struct SplitCase: Decodable {
    var perClass: Int
    var valPerClass: Int
    var heldOut: Int
    var seed: UInt64?
    var train: Part
    var val: Part
    var test: Part
  }
  var splitmix64Seed0: [String]
  var splitSeeded: SplitCase
  var splitFileOrder: SplitCase
}

final class SplitTests: XCTestCase {
  private let labels = (0..<100).map { ($0 * 7) % 3 }  // 34 / 33 / 33 per class

  func testSplitMix64KnownOutputs() throws {
    var generator = SplitMix64(seed: 0)
    XCTAssertEqual(generator.next(), 0xE220_A839_7B1D_CDAF)
    let reference = try loadFixture("reference", as: Reference.self, in: .module)
    var again = SplitMix64(seed: 0)
    XCTAssertEqual((0..<3).map { _ in String(again.next()) }, reference.splitmix64Seed0)
  }

  func testFileOrderTakesFirstPerClass() throws {
    let split = try Split(
      labels: labels, classCount: 3, perClass: 2, val: 1, test: .heldOut(perClass: 1))
    let byClass = (0..<3).map { c in (0..<100).filter { labels[$0] == c } }
    XCTAssertEqual(split.train, byClass.flatMap { Array($0[0..<2]) }.sorted())
    XCTAssertEqual(split.val, byClass.map { $0[2] }.sorted())
    XCTAssertEqual(split.test, byClass.map { $0[3] }.sorted())
  }

  func testSeededIsDeterministicStratifiedAndDisjoint() throws {
    let a = try Split(
      labels: labels, classCount: 3, perClass: 10, val: 5, test: .heldOut(perClass: 3), seed: 7)
    let b = try Split(
      labels: labels, classCount: 3, perClass: 10, val: 5, test: .heldOut(perClass: 3), seed: 7)
    let c = try Split(
      labels: labels, classCount: 3, perClass: 10, val: 5, test: .heldOut(perClass: 3), seed: 8)
    XCTAssertEqual(a, b)
    XCTAssertNotEqual(a.train, c.train)
    XCTAssertEqual(a.train.count, 30)
    XCTAssertEqual(a.val.count, 15)
    XCTAssertEqual(a.test.count, 9)
    XCTAssertEqual(Set(a.train + a.val + a.test).count, 54)
    for cls in 0..<3 {
      XCTAssertEqual(a.train.filter { labels[$0] == cls }.count, 10)
      XCTAssertEqual(a.val.filter { labels[$0] == cls }.count, 5)
    }
    XCTAssertEqual(a.train, a.train.sorted())
  }

  func testRestGoesToTrainWhenPerClassIsNil() throws {
    let split = try Split(labels: labels, classCount: 3, perClass: nil, val: 3, seed: 1)
    XCTAssertEqual(split.train.count + split.val.count, 100)
    XCTAssertEqual(split.test, [])
  }

  func testErrors() {
    XCTAssertThrowsError(try Split(labels: labels, classCount: 3, perClass: 30, val: 4)) { error in
      XCTAssertEqual(
        "\(error)",
        "split: class 1 has 33 images, the split needs 30 train + 4 val + 0 held-out test")
    }
    XCTAssertThrowsError(try Split(labels: [0, 5], classCount: 3, perClass: 1))
  }

  func testApplyWithSeparateTestFile() throws {
    let training = LabeledImages(
      name: "t", images: (0..<6).map(Float.init), count: 6, height: 1, width: 1, channels: 1,
      labels: [0, 1, 0, 1, 0, 1], classNames: ["a", "b"])
    let testFile = LabeledImages(
      name: "test", images: [9, 8, 7], count: 3, height: 1, width: 1, channels: 1,
      labels: [1, 1, 0],
      classNames: ["a", "b"])
    let split = try Split(
      labels: training.labels, classCount: 2, perClass: 2, val: 1, test: .separateFile(count: 2))
    let data = try split.apply(trainingFile: training, testFile: testFile)
    XCTAssertEqual(data.train.images, [0, 1, 2, 3])
    XCTAssertEqual(data.val.images, [4, 5])
    XCTAssertEqual(data.test.images, [9, 8])
    XCTAssertEqual(data.test.labels, [1, 1])
    let tooMany = try Split(
      labels: training.labels, classCount: 2, perClass: 1, test: .separateFile(count: 4))
    XCTAssertThrowsError(try tooMany.apply(trainingFile: training, testFile: testFile))
    XCTAssertThrowsError(try tooMany.apply(trainingFile: training))
  }

  func testFashionMNISTSplitMatchesPythonReference() throws {
    let reference = try loadFixture("reference", as: Reference.self, in: .module)
    let train = try LabeledImages.fashionMNIST(
      directory: TestAssets.fashionMNISTDirectory(), partition: .train)
    func check(_ indices: [Int], _ part: Reference.Part, _ label: String) throws {
      XCTAssertEqual(indices.count, part.count, label)
      XCTAssertEqual(indices.reduce(0, +), part.sum, label)
      XCTAssertEqual(Array(indices.prefix(5)), part.first, label)
      XCTAssertEqual(indices.last ?? -1, part.last, label)
    }
    let s = reference.splitSeeded
    let seeded = try Split(
      labels: train.labels, classCount: 10, perClass: s.perClass, val: s.valPerClass,
      test: .heldOut(perClass: s.heldOut), seed: s.seed)
    try check(seeded.train, reference.splitSeeded.train, "seeded train")
    try check(seeded.val, reference.splitSeeded.val, "seeded val")
    try check(seeded.test, reference.splitSeeded.test, "seeded test")
    let o = reference.splitFileOrder
    XCTAssertNil(o.seed)
    let ordered = try Split(
      labels: train.labels, classCount: 10, perClass: o.perClass, val: o.valPerClass)
    try check(ordered.train, reference.splitFileOrder.train, "file-order train")
    try check(ordered.val, reference.splitFileOrder.val, "file-order val")
  }
}
