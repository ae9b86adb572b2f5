// vpbench: throughput of the frozen-model kernels that visual prompting needs.
//
// For each source model and setting it prints images/s of the VP step (forward, cross-entropy over 10
// mapped logits, gradient to the input) and of the forward pass alone, and peak memory, under a header that
// names the CPU and the kernels that ran. (Ratios to PyTorch belong in the same run on the same machine:
// constants measured elsewhere were wrong on the next CPU, so there are none here.)
//
//   swift run -c release vpbench [--quick] [--model NAME] [--repeat N] [--vit]
//   swift run -c release vpbench --prompts [--quick]   # every prompt family's cost around MobileNetV2's step
//   swift run -c release vpbench --conv [--quick] [--batch N]   # ResNet-18's 3×3 convolutions: im2col vs Winograd
//   swift run -c release vpbench --own-kernels [--repeat N]   # vpbook's own kernels: AVX2 build vs AVX-512 build
//   swift run -c release vpbench --fusion [--quick] [--repeat N]   # MobileNetV2 unfused vs fused, alternated
//
// ViT-B/32 and ViT-B/16 (made-up weights of the real size) run with --vit or --model vit_b_32 / vit_b_16, at
// their checkpoint's 224 and at 128 (the positional embedding interpolated to 8×8 or 4×4 patches): a ViT-B/16
// step at batch 32 takes tens of seconds on two cores, too long for the default `make bench`.
import CKernels
import Foundation
import VPAssets
import VPEngine
import VPModels
import VPTensor

struct Setting {
  var canvas: Int
  var batch: Int
}

/// The CPU's model name (`/proc/cpuinfo`), whether it has the AVX-512 vpbook's AVX-512 build needs, and which build runs.
func cpuDescription() -> String {
  guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown CPU" }
  let name =
    text.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last
    .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
  let avx512 = BLASKernels.cpuHasAVX512 ? "AVX-512 available" : "AVX2 (no AVX-512)"
  return "\(name), \(avx512); vpbook's own kernels: \(BLASKernels.own)"
}

func peakRSSMegabytes() -> Double {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return Double(usage.ru_maxrss) / 1024
}

func input(_ n: Int, _ s: Int) -> Tensor {
  Tensor(shape: [n, s, s, 3]) { i in Float(sin(Double(i) * 0.001)) }
}

/// Best-of-`repeats` wall time of `body`, after one warm-up call.
func time(_ repeats: Int, _ body: () -> Void) -> Double {
  body()
  var best = Double.infinity
  for _ in 0..<repeats {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
  }
  return best
}

BLASKernels.ensure()
var arguments = Array(CommandLine.arguments.dropFirst())
let quick = arguments.contains("--quick")
var onlyModel: String? = nil
var repeats = quick ? 1 : 3
if let i = arguments.firstIndex(of: "--model"), i + 1 < arguments.count { onlyModel = arguments[i + 1] }
if let i = arguments.firstIndex(of: "--repeat"), i + 1 < arguments.count, let n = Int(arguments[i + 1]) { repeats = n }

/// OpenBLAS single-precision GEMM on large square matrices, one thread: the per-core ceiling the
/// convolutions are measured against.
func gemmCeiling(_ n: Int = 1024) -> Double {
  let a = [Float](repeating: 0.5, count: n * n)
  var c = [Float](repeating: 0, count: n * n)
  let seconds = time(3) {
    a.withUnsafeBufferPointer { ap in
      c.withUnsafeMutableBufferPointer { cp in
        BLAS.sgemm(
          transA: false, transB: false, m: n, n: n, k: n, a: ap.baseAddress!, lda: n, b: ap.baseAddress!, ldb: n,
          c: cp.baseAddress!, ldc: n)
      }
    }
  }
  return 2 * Double(n * n * n) / seconds / 1e9
}

if arguments.contains("--gemm") {
  print(String(format: "OpenBLAS sgemm 1024³, one thread: %.1f GFLOP/s", gemmCeiling()))
  exit(0)
}

/// The VP step of `model` on the normalised batch `x`: forward, cross-entropy over 10 mapped logits, ∂L/∂x.
func vpStep(_ model: ImageClassifier, _ x: Tensor, mapped idx: [Int]) -> Tensor {
  let classes = model.classCount
  let batch = x.shape[0]
  let labels = (0..<batch).map { $0 % idx.count }
  return model.inputGradient(x) { logits, range in
    var z = [Float](repeating: 0, count: range.count * idx.count)
    for r in 0..<range.count { for (j, k) in idx.enumerated() { z[r * idx.count + j] = logits[r * classes + k] } }
    let (_, gz) = Loss.crossEntropy(logits: z, labels: Array(labels[range]), classes: idx.count, scale: batch)
    var g = [Float](repeating: 0, count: range.count * classes)
    for r in 0..<range.count { for (j, k) in idx.enumerated() { g[r * classes + k] = gz[r * idx.count + j] } }
    return g
  }.gradient
}

let mapped = (0..<10).map { $0 * 100 }

// MobileNetV2 with its inverted-residual blocks unfused, fused where the bits stay the same (the default) and
// fused with OpenBLAS's products on tiles too (`VPBOOK_FUSED=all`), in one process: rounds alternate the three
// models, so a busy machine's load hits them alike. Best and median images/s of the VP step and the forward pass.
if arguments.contains("--fusion") {
  print("vpbench --fusion — \(cpuDescription()); threads \(Parallel.threadCount), \(BLAS.configuration)")
  let path = try Assets.path(ModelName.mobilenetV2.defaultWeights!)
  let variants: [(String, BlockFusion)] = [("unfused", .off), ("fused", .exact), ("fused all", .all)]
  let models = try variants.map { try MobileNetV2.load(CheckpointWeights(path: path), fusion: $0.1) }
  let rounds = max(repeats, 1) * 3
  for s in quick
    ? [Setting(canvas: 128, batch: 16)] : [Setting(canvas: 224, batch: 32), Setting(canvas: 128, batch: 64)]
  {
    let x = input(s.batch, s.canvas)
    var step = [[Double]](repeating: [], count: models.count)
    var forward = [[Double]](repeating: [], count: models.count)
    for m in models { _ = vpStep(m, x, mapped: mapped) }
    func seconds(_ body: () -> Void) -> Double {
      let start = DispatchTime.now().uptimeNanoseconds
      body()
      return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
    for _ in 0..<rounds {
      for (i, m) in models.enumerated() {
        step[i].append(seconds { _ = vpStep(m, x, mapped: mapped) })
        forward[i].append(seconds { _ = m.logits(x) })
      }
    }
    func rates(_ t: [Double]) -> (best: Double, median: Double) {
      let r = t.map { Double(s.batch) / $0 }.sorted()
      return (r.last!, r[r.count / 2])
    }
    print("canvas \(s.canvas), batch \(s.batch), \(rounds) alternated rounds: img/s best (median)")
    for (i, v) in variants.enumerated() {
      let (a, b) = (rates(step[i]), rates(forward[i]))
      let name = v.0.padding(toLength: 10, withPad: " ", startingAt: 0)
      print(String(format: "  %@ step %6.1f (%6.1f)   fwd %6.1f (%6.1f)", name, a.best, a.median, b.best, b.median))
    }
  }
  exit(0)
}

// ResNet-18's 3×3 stride-1 convolutions alone, one thread, at the micro-batch a worker runs (two 224² images'
// worth of pixels): the im2col path against Winograd F(4×4, 3×3), forward (with the ReLU's mask, as in a VP
// step) and input gradient, in ms per call and GFLOP/s of the direct convolution's 2·N·H·W·C²·9 operations.
if arguments.contains("--conv") {
  print("vpbench --conv — \(cpuDescription()); one thread, \(BLAS.configuration)")
  print(String(format: "OpenBLAS sgemm 1024³ ceiling, one thread: %.1f GFLOP/s", gemmCeiling()))
  print(
    "canvas  channels  px  batch |  im2col fwd   wino fwd  speed-up |  im2col bwd   wino bwd  speed-up  (ms; GFLOP/s)")
  let batchOverride = arguments.firstIndex(of: "--batch").flatMap { Int(arguments[$0 + 1]) }
  for canvas in quick ? [128] : [224, 128, 64] {
    let batch = batchOverride ?? max(1, 2 * 224 * 224 / (canvas * canvas))
    for (stage, c) in [64, 128, 256, 512].enumerated() {
      let side = canvas / (4 << stage)
      let weights = (0..<(c * c * 9)).map { Float(sin(Double($0) * 0.37)) * (2 / Float(9 * c)).squareRoot() }
      let direct = Conv2D(torchWeight: weights, shape: [c, c, 3, 3], padding: .symmetric(1), activation: .relu)
      var rates: [(forward: Double, backward: Double)] = []
      for layer in [direct, direct.withWinograd(.always)] {
        let ws = Workspace(parallel: false)
        let xm = ws.featureMap(n: batch, h: side, w: side, c: c)
        for i in 0..<xm.count { xm.pointer[i] = Float(sin(Double(i) * 0.001)) }
        let forward = time(max(repeats, 3)) { ws.release(layer.forward(xm, workspace: ws, tape: nil)) }
        var backward = Double.infinity
        for _ in 0...max(repeats, 3) {
          let tape = Tape()
          let y = layer.forward(xm, workspace: ws, tape: tape)
          let start = DispatchTime.now().uptimeNanoseconds
          ws.release(layer.backward(y, workspace: ws, tape: tape))
          backward = min(backward, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        ws.release(xm)
        rates.append((forward, backward))
      }
      let flops = 2 * Double(batch * side * side * c * c * 9) / 1e9
      print(
        String(
          format: "%6d  %8d  %2d  %5d | %5.2f (%3.0f) %5.2f (%3.0f)  %5.2f× | %5.2f (%3.0f) %5.2f (%3.0f)  %5.2f×",
          canvas,
          c, side, batch, rates[0].forward * 1e3, flops / rates[0].forward, rates[1].forward * 1e3,
          flops / rates[1].forward, rates[0].forward / rates[1].forward, rates[0].backward * 1e3,
          flops / rates[0].backward, rates[1].backward * 1e3, flops / rates[1].backward,
          rates[0].backward / rates[1].backward))
    }
  }
  exit(0)
}

// vpbook's own kernels (CKernels), AVX2 build against AVX-512 build, on MobileNetV2's layers that use them at a
// 224 canvas (depthwise 3×3, and the 1×1 convolutions with ≤ 16 input or output channels that run as the small
// GEMM), forward with ReLU6's mask and input gradient, one thread, two images (a worker's share of a batch of 32 is
// 16; two keep the feature maps out of L2 as in a real step). Alternated, best of the repeats.
if arguments.contains("--own-kernels") {
  print("vpbench --own-kernels — \(cpuDescription()); one thread")
  guard BLASKernels.cpuHasAVX512 else {
    print("this CPU has no AVX-512: only the AVX2 build runs")
    exit(0)
  }
  print("layer                          |  AVX2 fwd  AVX-512 fwd  speed-up |  AVX2 bwd  AVX-512 bwd  speed-up  (ms)")
  let layers: [(String, shape: [Int], groups: Int, stride: Int, side: Int)] = [
    ("dw 3×3 s1 32 @112", [32, 1, 3, 3], 32, 1, 112), ("dw 3×3 s2 96 @112", [96, 1, 3, 3], 96, 2, 112),
    ("dw 3×3 s1 144 @56", [144, 1, 3, 3], 144, 1, 56), ("dw 3×3 s2 144 @56", [144, 1, 3, 3], 144, 2, 56),
    ("dw 3×3 s1 192 @28", [192, 1, 3, 3], 192, 1, 28), ("dw 3×3 s1 384 @14", [384, 1, 3, 3], 384, 1, 14),
    ("dw 3×3 s1 576 @14", [576, 1, 3, 3], 576, 1, 14), ("dw 3×3 s1 960 @7", [960, 1, 3, 3], 960, 1, 7),
    ("1×1 16→96 @112", [96, 16, 1, 1], 1, 1, 112), ("1×1 32→16 @112", [16, 32, 1, 1], 1, 1, 112),
    ("1×1 24→144 @56 (OpenBLAS)", [144, 24, 1, 1], 1, 1, 56),
  ]
  let before = vp_kernels_level()
  var totals = [[Double]](repeating: [0, 0], count: 2)
  for (name, shape, groups, stride, side) in layers {
    let (cout, cin) = (shape[0], shape[1] * groups)
    let weights = (0..<shape.reduce(1, *)).map { Float(sin(Double($0) * 0.37)) * 0.3 }
    let layer = Conv2D(
      torchWeight: weights, shape: shape, bias: (0..<cout).map { Float($0 % 7) * 0.1 }, stride: stride,
      padding: .symmetric(shape[2] / 2), groups: groups, activation: .relu6)
    let ws = Workspace(parallel: false)
    let xm = ws.featureMap(n: 2, h: side, w: side, c: cin)
    for i in 0..<xm.count { xm.pointer[i] = Float(sin(Double(i) * 0.001)) * 3 }
    var best = [[Double]](repeating: [.infinity, .infinity], count: 2)
    for _ in 0..<max(repeats, 3) * 2 {
      for level in 0...1 {
        vp_kernels_select(Int32(level))
        let tape = Tape()
        var start = DispatchTime.now().uptimeNanoseconds
        let y = layer.forward(xm, workspace: ws, tape: tape)
        best[level][0] = min(best[level][0], Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        start = DispatchTime.now().uptimeNanoseconds
        ws.release(layer.backward(y, workspace: ws, tape: tape))
        best[level][1] = min(best[level][1], Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
      }
    }
    ws.release(xm)
    for level in 0...1 { for pass in 0...1 { totals[level][pass] += best[level][pass] } }
    print(
      name.padding(toLength: 30, withPad: " ", startingAt: 0)
        + String(
          format: " | %8.2f  %11.2f  %7.2f× | %8.2f  %11.2f  %7.2f×", best[0][0], best[1][0], best[0][0] / best[1][0],
          best[0][1], best[1][1], best[0][1] / best[1][1]))
  }
  print(
    "all of the above".padding(toLength: 30, withPad: " ", startingAt: 0)
      + String(
        format: " | %8.2f  %11.2f  %7.2f× | %8.2f  %11.2f  %7.2f×", totals[0][0], totals[1][0],
        totals[0][0] / totals[1][0], totals[0][1], totals[1][1], totals[0][1] / totals[1][1]))
  vp_kernels_select(before)
  exit(0)
}

// Every prompt family's own cost (its forward on a training batch and the gradients of its tensors) and the
// whole training step around MobileNetV2, measured in the same run: the ratios are what carries over.
if arguments.contains("--prompts") {
  let model = try ModelZoo.load(.mobilenetV2)
  print("vpbench --prompts — \(cpuDescription()); threads \(Parallel.threadCount), \(BLAS.configuration)")
  print("prompt      canvas batch  trainable   prompt ms/batch   step img/s   step vs pad   peak RSS")
  let settings =
    quick ? [Setting(canvas: 64, batch: 64)] : [Setting(canvas: 64, batch: 64), Setting(canvas: 224, batch: 32)]
  for s in settings {
    var padRate = 0.0
    for kind in PromptKind.allCases {
      let config = PromptConfig(kind: kind, canvas: s.canvas, image: kind == .pad ? s.canvas * 3 / 4 : s.canvas)
      let prompt = config.makePrompt(normalization: model.normalization, seed: 1)
      let side = config.imageSide
      let images = (0..<(s.batch * side * side * 3)).map { Float(0.5 + 0.5 * sin(Double($0) * 0.0007)) }
      var x = [Float](repeating: 0, count: s.batch * s.canvas * s.canvas * 3)
      let gx = (0..<x.count).map { Float(sin(Double($0) * 0.0013)) * 1e-3 }
      let own = time(repeats) {
        images.withUnsafeBufferPointer { src in
          x.withUnsafeMutableBufferPointer {
            prompt.apply(src.baseAddress!, count: s.batch, into: $0.baseAddress!, training: true)
          }
          _ = gx.withUnsafeBufferPointer { prompt.gradients($0.baseAddress!, images: src.baseAddress!, count: s.batch) }
        }
      }
      let step = time(repeats) {
        images.withUnsafeBufferPointer { src in
          x.withUnsafeMutableBufferPointer {
            prompt.apply(src.baseAddress!, count: s.batch, into: $0.baseAddress!, training: true)
          }
          let g = vpStep(model, Tensor(shape: [s.batch, s.canvas, s.canvas, 3], data: x), mapped: mapped)
          _ = g.data.withUnsafeBufferPointer {
            prompt.gradients($0.baseAddress!, images: src.baseAddress!, count: s.batch)
          }
        }
      }
      if Profiler.shared.enabled {
        print("\(kind.rawValue) at \(s.canvas) px:\n" + Profiler.shared.report(top: 12))
        Profiler.shared.reset()
      }
      let rate = Double(s.batch) / step
      if kind == .pad { padRate = rate }
      print(
        String(
          format: "%@ %6d %5d %10d %17.1f %12.1f %12.2f×   %6.0f MB",
          kind.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0), s.canvas, s.batch,
          prompt.parameterCount, own * 1000, rate, padRate / rate, peakRSSMegabytes()))
    }
  }
  exit(0)
}
let settings =
  quick ? [Setting(canvas: 128, batch: 16)] : [Setting(canvas: 224, batch: 32), Setting(canvas: 128, batch: 64)]
print("vpbench — \(cpuDescription()); threads \(Parallel.threadCount), \(BLAS.configuration)")
print("model           canvas batch   step img/s   fwd img/s   peak RSS")
let vits: [(String, VisionTransformer.Configuration)] = [("vit_b_32", .b32()), ("vit_b_16", .b16())]
let withViTs = arguments.contains("--vit") || vits.contains { $0.0 == onlyModel }
let names = ["mobilenet_v2", "resnet18"] + (withViTs ? vits.map(\.0) : [])
for name in names {
  if let only = onlyModel, only != name { continue }
  let model: ImageClassifier
  do {
    if let vit = vits.first(where: { $0.0 == name }) {
      // No ViT weights can be installed here: made-up weights of the real sizes time the same kernels.
      model = try VisionTransformer.build(WeightReader(syntheticSeed: 1), configuration: vit.1, name: name)
    } else if name == "resnet18" {
      // No pretrained ResNet-18 ships in a registry package: the randomly initialised one has the real
      // architecture (and a 10-class head), which is all a speed measurement needs.
      model = try ResNet.load(
        CheckpointWeights(path: try Assets.path("models/resnet18-random-10class.pth")), depth: .r18)
    } else {
      model = try ModelZoo.load(.mobilenetV2)
    }
  } catch {
    print("\(name): \(error)")
    exit(1)
  }
  let classes = model.classCount
  let idx = classes >= 1000 ? mapped : Array(0..<min(10, classes))
  let vitSettings = model.patches.map { [Setting(canvas: $0.imageSize, batch: 32), Setting(canvas: 128, batch: 32)] }
  for s in vitSettings ?? settings {
    let x = input(s.batch, s.canvas)
    let step = time(repeats) { _ = vpStep(model, x, mapped: idx) }
    let forward = time(repeats) { _ = model.logits(x) }
    if Profiler.shared.enabled {
      print(Profiler.shared.report(top: 1000))
      Profiler.shared.reset()
    }
    let stepRate = Double(s.batch) / step
    let fwdRate = Double(s.batch) / forward
    print(
      String(
        format: "%@ %6d %5d   %10.1f   %9.1f   %6.0f MB", name.padding(toLength: 15, withPad: " ", startingAt: 0),
        s.canvas, s.batch, stepRate, fwdRate,
        peakRSSMegabytes()))
  }
}
