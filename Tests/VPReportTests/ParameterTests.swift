import Foundation
import VPReport
import VPTestSupport
import XCTest

final class ParameterTests: XCTestCase {
  let frontMatter = """
    ---
    title: Params
    params:
      seed: 7
      epochs: 6
      lr: 0.01
      augment: false
      mapping: ilm
      seeds: [1, 2, 3]
      mappings: [rlm, flm]
      scales: [1, 0.5]
      note: {default: "hi", help: "a note"}
    ---
    """

  func parameters() throws -> ParameterSet {
    try MarkdownDocument.parse(frontMatter, file: "nb.md").frontMatter.parameters
  }

  func testTypesAreInferredFromDefaults() throws {
    let parameters = try parameters()
    XCTAssertEqual(
      parameters.names,
      ["seed", "epochs", "lr", "augment", "mapping", "seeds", "mappings", "scales", "note"])
    XCTAssertEqual(
      parameters.declarations.map(\.type),
      [.int, .int, .double, .bool, .string, .list(.int), .list(.string), .list(.double), .string])
    XCTAssertEqual(parameters["lr"]?.defaultValue, .double(0.01))
    XCTAssertEqual(parameters["scales"]?.defaultValue, .list([.double(1), .double(0.5)]))
    XCTAssertEqual(parameters["note"]?.help, "a note")
    XCTAssertEqual(parameters["epochs"]?.line, 5)
  }

  func testOverridesParseToDeclaredTypes() throws {
    let resolved = try parameters().resolve(overrides: [
      "epochs=20", "lr=3", "augment=true", "seeds=4, 5", "mappings=", "mapping=a=b", "scales=1e-3",
    ])
    XCTAssertEqual(resolved["epochs"], .int(20))
    XCTAssertEqual(resolved["lr"], .double(3), "an integer literal is accepted for a Double")
    XCTAssertEqual(resolved["augment"], .bool(true))
    XCTAssertEqual(resolved["seeds"], .list([.int(4), .int(5)]))
    XCTAssertEqual(resolved["mappings"], .list([]))
    XCTAssertEqual(resolved["mapping"], .string("a=b"))
    XCTAssertEqual(resolved["scales"], .list([.double(0.001)]))
    XCTAssertEqual(resolved["seed"], .int(7))
    XCTAssertEqual(resolved.sources["epochs"], .commandLine)
    XCTAssertEqual(resolved.sources["seed"], .defaultValue)
  }

  func testParameterErrors() throws {
    let parameters = try parameters()
    assertThrowsDescription(
      "unknown parameter 'epoch' (known: augment, epochs, lr, mapping, mappings, note, scales, seed, seeds)"
    ) { _ = try parameters.resolve(overrides: ["epoch=3"]) }
    assertThrowsDescription("parameter 'epochs' expects an integer, got 'ten'") {
      _ = try parameters.resolve(overrides: ["epochs=ten"])
    }
    assertThrowsDescription("parameter 'lr' expects a number, got 'fast'") {
      _ = try parameters.resolve(overrides: ["lr=fast"])
    }
    assertThrowsDescription("parameter 'augment' expects true or false, got 'yes'") {
      _ = try parameters.resolve(overrides: ["augment=yes"])
    }
    assertThrowsDescription(
      "parameter 'seeds' expects a comma-separated list of integers, got '1,x'"
    ) {
      _ = try parameters.resolve(overrides: ["seeds=1,x"])
    }
    assertThrowsDescription("expected name=value for a parameter, got 'epochs'") {
      _ = try parameters.resolve(overrides: ["epochs"])
    }
  }

  func testParamsFileIsOverriddenByCommandLine() throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "vpnb-params-\(getpid()).yaml")
    try "epochs: 12\nlr: 1\nseeds: [9, 8]\nmappings: rlm,ilm\n".write(
      to: url, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: url) }
    let resolved = try parameters().resolve(overrides: ["epochs=20"], file: url.path)
    XCTAssertEqual(resolved["epochs"], .int(20))
    XCTAssertEqual(resolved["lr"], .double(1))
    XCTAssertEqual(resolved["seeds"], .list([.int(9), .int(8)]))
    XCTAssertEqual(resolved["mappings"], .list([.string("rlm"), .string("ilm")]))
    XCTAssertEqual(resolved.sources["lr"], .file)
  }

  func testParamsFileErrorsNameTheLine() throws {
    let parameters = try parameters()
    assertThrowsDescription("p.yaml:2: parameter 'epochs' expects an integer, got 'many'") {
      _ = try parameters.resolve(yaml: "seed: 1\nepochs: many\n", yamlFile: "p.yaml")
    }
    assertThrowsDescription(
      "p.yaml:1: unknown parameter 'epoch' (known: augment, epochs, lr, mapping, mappings, note, scales, seed, seeds)"
    ) { _ = try parameters.resolve(yaml: "epoch: 1\n", yamlFile: "p.yaml") }
  }

  func testDeclarationErrors() {
    assertThrowsDescription(
      "nb.md:3: parameter 'epochs' needs a default value (its type is taken from it)"
    ) {
      _ = try MarkdownDocument.parse("---\nparams:\n  epochs:\n---\n", file: "nb.md")
    }
    assertThrowsDescription(
      "nb.md:3: parameter name 'learning-rate' must be letters, digits and underscores, not starting with a digit"
    ) { _ = try MarkdownDocument.parse("---\nparams:\n  learning-rate: 1\n---\n", file: "nb.md") }
  }

  func testHelpText() throws {
    let help = try parameters().helpText()
    XCTAssertEqual(
      help,
      """
      name      type            default  help
      seed      int             7
      epochs    int             6
      lr        double          0.01
      augment   bool            false
      mapping   string          ilm
      seeds     list of int     1,2,3
      mappings  list of string  rlm,flm
      scales    list of double  1.0,0.5
      note      string          hi       a note

      """)
    XCTAssertEqual(ParameterSet().helpText(), "This notebook declares no parameters.\n")
  }

  func testSubstitution() throws {
    let resolved = try parameters().resolve(overrides: ["epochs=20"])
    let result = try resolved.substitute(
      in: "compare epochs=$epochs lr=${lr}x\ncost $$5 and $ alone, seeds=$seeds $epochs\n",
      firstLine: 11)
    XCTAssertEqual(result.text, "compare epochs=20 lr=0.01x\ncost $5 and $ alone, seeds=1,2,3 20\n")
    XCTAssertEqual(result.parametersRead, ["epochs", "lr", "seeds"])
  }

  func testUnknownReferenceInBlockNamesTheLine() throws {
    let resolved = try parameters().resolve()
    assertThrowsDescription(
      "nb.md:12: unknown parameter '$epoch' (known: augment, epochs, lr, mapping, mappings, note, scales, seed, seeds)"
    ) { _ = try resolved.substitute(in: "first\nrun $epoch\n", firstLine: 11, file: "nb.md") }
    assertThrowsDescription("nb.md:11: '${' without a closing '}'") {
      _ = try resolved.substitute(in: "run ${epochs\n", firstLine: 11, file: "nb.md")
    }
  }

  func testValuesEncodeAsPlainJSON() throws {
    let resolved = try parameters().resolve(overrides: ["epochs=2"])
    let data = try JSONEncoder().encode(
      resolved.values(of: ["epochs", "lr", "seeds"]).map(\.value))
    XCTAssertEqual(String(decoding: data, as: UTF8.self), "[2,0.01,[1,2,3]]")
    XCTAssertEqual(
      try JSONDecoder().decode([ParameterValue].self, from: data),
      [.int(2), .double(0.01), .list([.int(1), .int(2), .int(3)])])
  }
}

final class BlockInfoTests: XCTestCase {
  func testAttributes() throws {
    let info = try BlockInfo.parse(
      #"vp {#fig-acc .wide caption="Validation \"accuracy\" per epoch" width=600 flag}"#)
    XCTAssertEqual(info.kind, "vp")
    XCTAssertEqual(info.label, "fig-acc")
    XCTAssertEqual(info.labelKind, .figure)
    XCTAssertEqual(info.classes, ["wide"])
    XCTAssertEqual(
      info.attributes, ["caption": "Validation \"accuracy\" per epoch", "width": "600", "flag": ""])
    let single = try BlockInfo.parse("vp{#tbl-main caption='A \"quoted\" word' }")
    XCTAssertEqual(single.kind, "vp")
    XCTAssertEqual(single.caption, "A \"quoted\" word")
    XCTAssertEqual(single.labelKind, .table)
    XCTAssertEqual(try BlockInfo.parse("  vp  "), BlockInfo(kind: "vp"))
    XCTAssertEqual(try BlockInfo.parse(""), BlockInfo(kind: ""))
  }

  func testErrors() {
    assertThrowsDescription("nb.md:4: '{' in the info string is never closed by '}'") {
      _ = try BlockInfo.parse("vp {#fig-a", file: "nb.md", line: 4)
    }
    assertThrowsDescription("unexpected 'extra' after the attributes") {
      _ = try BlockInfo.parse("vp {#fig-a} extra")
    }
    assertThrowsDescription("a block can have only one #label") {
      _ = try BlockInfo.parse("vp {#fig-a #fig-b}")
    }
    assertThrowsDescription("attribute 'w' is given twice") {
      _ = try BlockInfo.parse("vp {w=1 w=2}")
    }
    assertThrowsDescription("unexpected 'compare' in the info string (attributes go in {…})") {
      _ = try BlockInfo.parse("vp compare")
    }
  }
}
