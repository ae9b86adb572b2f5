import VPData
import XCTest

final class NPYTests: XCTestCase {
  func testRoundTripEveryDtype() throws {
    let arrays = [
      NPYArray(shape: [2, 3], storage: .float32([0, 0.5, 1, -2, 3.25, 1e-7])),
      NPYArray(shape: [3], storage: .float64([1.5, -2, 1e300])),
      NPYArray(shape: [2, 1, 2], storage: .uint8([0, 1, 254, 255])),
      NPYArray(shape: [2], storage: .int64([-5, 1 << 40])),
      NPYArray(shape: [1], storage: .int32([-7])),
    ]
    for array in arrays {
      let bytes = array.npyBytes
      XCTAssertEqual(try NPYArray(parsing: bytes, file: "a.npy"), array)
    }
    // Header length padded so the data starts at a multiple of 64, as NumPy does.
    let header = NPYArray(shape: [2, 3], storage: .float32([0, 0, 0, 0, 0, 0])).npyBytes
    XCTAssertEqual((header.count - 24) % 64, 0)
  }

  /// A file as NumPy writes it, with a hand-written header and version.
  private func npy(version: UInt8, header: String, data: [UInt8]) -> [UInt8] {
    let text = Array(header.utf8)
    var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0]
    if version == 1 {
      out += [UInt8(text.count & 0xFF), UInt8(text.count >> 8)]
    } else {
      out += [UInt8(text.count & 0xFF), UInt8(text.count >> 8), 0, 0]
    }
    return out + text + data
  }

  func testVersions2And3AndSpacing() throws {
    let data: [UInt8] = [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]
    for version: UInt8 in [2, 3] {
      let bytes = npy(
        version: version, header: "{'descr':'<i8','fortran_order':False,'shape':(2,)}\n", data: data
      )
      let array = try NPYArray(parsing: bytes, file: "v.npy")
      XCTAssertEqual(array.shape, [2])
      XCTAssertEqual(array.ints, [1, 2])
    }
    let scalar = try NPYArray(
      parsing: npy(
        version: 1, header: "{'descr': '|u1', 'fortran_order': False, 'shape': (), }\n", data: [7]),
      file: "s.npy")
    XCTAssertEqual(scalar.shape, [])
    XCTAssertEqual(scalar.ints, [7])
  }

  func testRejections() {
    let four: [UInt8] = [0, 0, 0, 0]
    assertDataError(
      try NPYArray(
        parsing: npy(
          version: 1, header: "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", data: four
        ), file: "f.npy"),
      prefix: "f.npy: fortran_order True is not supported", contains: "")
    assertDataError(
      try NPYArray(
        parsing: npy(
          version: 1, header: "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
          data: four), file: "b.npy"),
      prefix: "b.npy: unsupported dtype '>f4'", contains: "")
    assertDataError(
      try NPYArray(
        parsing: npy(
          version: 1, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
          data: four), file: "t.npy"),
      prefix: "t.npy: data has 4 bytes but shape [2] of <f4 needs 8", contains: "")
    assertDataError(
      try NPYArray(
        parsing: npy(version: 1, header: "{'descr': '<f4', 'shape': (1,), }", data: four),
        file: "h.npy"),
      prefix: "h.npy: bad .npy header", contains: "no 'fortran_order'")
    assertDataError(
      try NPYArray(parsing: Array("PK\u{3}\u{4}zipfile".utf8), file: "z.npy"),
      prefix: "z.npy: not a .npy file", contains: "")
    assertDataError(
      try NPYArray(
        parsing: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 200, 0, 0x7B], file: "c.npy"),
      prefix: "c.npy: truncated .npy header", contains: "")
  }

  func testLabeledImagesFromNPY() throws {
    let directory = try makeTemporaryDirectory(self)
    try write(
      NPYArray(shape: [2, 1, 2], storage: .uint8([0, 51, 255, 102])).npyBytes,
      to: directory + "/x.npy")
    try write(NPYArray(shape: [2], storage: .int64([1, 0])).npyBytes, to: directory + "/y.npy")
    let grey = try LabeledImages.npy(
      imagesFile: directory + "/x.npy", labelsFile: directory + "/y.npy", name: "n")
    XCTAssertEqual(grey.channels, 1)
    XCTAssertEqual(grey.images, [0, 0.2, 1, 0.4])
    XCTAssertEqual(grey.classNames, ["0", "1"])

    let rgb = (0..<12).map { Float($0) / 12 }
    try write(
      NPYArray(shape: [1, 2, 2, 3], storage: .float32(rgb)).npyBytes, to: directory + "/rgb.npy")
    try write(NPYArray(shape: [1], storage: .uint8([4])).npyBytes, to: directory + "/l.npy")
    let color = try LabeledImages.npy(
      imagesFile: directory + "/rgb.npy", labelsFile: directory + "/l.npy",
      classNames: ["a", "b", "c", "d", "e"], name: "c")
    XCTAssertEqual(color.channels, 3)
    XCTAssertEqual(color.images, rgb)

    assertDataError(
      try LabeledImages.npy(
        imagesFile: directory + "/rgb.npy", labelsFile: directory + "/y.npy", name: "m"),
      prefix: directory + "/y.npy: 2 labels for 1 images", contains: "")
    try write(NPYArray(shape: [2], storage: .float32([0, 1])).npyBytes, to: directory + "/fl.npy")
    assertDataError(
      try LabeledImages.npy(
        imagesFile: directory + "/x.npy", labelsFile: directory + "/fl.npy", name: "m"),
      prefix: directory + "/fl.npy: expected integer labels", contains: "<f4")
    assertDataError(
      try LabeledImages.npy(
        imagesFile: directory + "/y.npy", labelsFile: directory + "/y.npy", name: "m"),
      prefix: directory + "/y.npy: expected image shape", contains: "[2]")
  }
}
