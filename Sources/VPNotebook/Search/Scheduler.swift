import Foundation

/// How a search spends its budget.
enum SearchStrategy: String, Codable, Sendable, CaseIterable {
  /// Every point of the grid, each trained to `max_epochs`.
  case grid
  /// `trials` points drawn from the grid with the seed, each trained to `max_epochs`.
  case random
  /// Asynchronous successive halving: trials start with `grace` epochs and the best 1/η of each rung are
  /// promoted to the next, up to `max_epochs`.
  case asha
}

/// The scheduling settings of a search (what decides which trial trains how far).
struct SchedulePlan: Codable, Sendable, Equatable {
  var strategy: SearchStrategy
  var trialCount: Int
  /// Epochs of the first rung (ASHA).
  var grace: Int
  /// The whole budget of one trial; the learning-rate schedule is defined on it.
  var maxEpochs: Int
  /// Reduction factor η (ASHA).
  var eta: Int
  /// ASHA's decisions are made as if this many workers trained the trials, one trial-epoch per time unit
  /// (so they never depend on real timing, machines or restarts).
  var parallel: Int

  /// The epochs at which trials are compared: grace·η^k below `maxEpochs`, then `maxEpochs`.
  var rungs: [Int] {
    guard strategy == .asha else { return [maxEpochs] }
    var rungs: [Int] = []
    var epochs = grace
    while epochs < maxEpochs {
      rungs.append(epochs)
      epochs *= eta
    }
    return rungs + [maxEpochs]
  }
}

/// One piece of work: train trial `trial` from epoch `from` through epoch `to`.
struct TrialJob: Hashable, Codable, Sendable, Comparable {
  var trial: Int
  var from: Int
  var to: Int

  static func < (a: Self, b: Self) -> Bool { (a.trial, a.to) < (b.trial, b.to) }
}

/// What the scheduler decided once every result it needed was known.
struct SearchDecisions: Sendable, Equatable {
  /// Every job, in the order it was started (virtual time, then worker).
  var jobs: [TrialJob]
  /// The epochs each trial reached.
  var reached: [Int]
  /// The trial chosen: the one at the highest rung reached, best validation accuracy there (lowest id on ties).
  var chosen: Int
}

/// What the search needs next.
enum SchedulerStep: Equatable {
  /// These jobs' results (all determined by results already known), in start order.
  case need([TrialJob])
  case done(SearchDecisions)
}

/// Decides which trials train how far, as a pure function of the results known so far.
///
/// ASHA (Li et al., 2020) is simulated in virtual time: `parallel` workers, a job of e epochs lasts e units,
/// a worker that frees asks for a job — the best not-yet-promoted trial in the top ⌊n/η⌋ of the highest rung
/// that has one (n: trials that reported there), else a new trial — and results are revealed at their end
/// time (ties: earlier end first, then lower trial id; workers by index). The real workers only execute the
/// jobs this simulation starts, so the outcome is the same on one machine, on a cluster, or after a restart.
enum Scheduler {
  /// `score(trial, epochs)`: the trial's validation accuracy of its selected state after `epochs`, if known.
  static func step(_ plan: SchedulePlan, score: (Int, Int) -> Double?) -> SchedulerStep {
    switch plan.strategy {
    case .grid, .random:
      let jobs = (0..<plan.trialCount).map { TrialJob(trial: $0, from: 0, to: plan.maxEpochs) }
      let missing = jobs.filter { score($0.trial, $0.to) == nil }
      if !missing.isEmpty { return .need(missing) }
      let reached = [Int](repeating: plan.maxEpochs, count: plan.trialCount)
      return .done(SearchDecisions(jobs: jobs, reached: reached, chosen: choose(reached, score: score)))
    case .asha:
      return asha(plan, score: score)
    }
  }

  /// The highest rung reached, then the best score there, then the lowest id.
  static func choose(_ reached: [Int], score: (Int, Int) -> Double?) -> Int {
    var best = 0
    for trial in reached.indices.dropFirst() {
      let a = (reached[trial], score(trial, reached[trial]) ?? -1)
      let b = (reached[best], score(best, reached[best]) ?? -1)
      if a.0 > b.0 || (a.0 == b.0 && a.1 > b.1) { best = trial }
    }
    return best
  }

  private struct Running {
    var end: Int
    var job: TrialJob
  }

  private static func asha(_ plan: SchedulePlan, score: (Int, Int) -> Double?) -> SchedulerStep {
    let rungs = plan.rungs
    var freeAt = [Int](repeating: 0, count: max(1, plan.parallel))
    var running: [Running] = []
    var started: [TrialJob] = []
    /// Per rung: (trial, score) in the order revealed.
    var reports = [[(trial: Int, score: Double)]](repeating: [], count: rungs.count)
    var promoted = [Set<Int>](repeating: [], count: rungs.count)
    var reached = [Int](repeating: 0, count: plan.trialCount)
    var nextTrial = 0

    while true {
      // The worker that frees first (lowest index on ties).
      let worker = freeAt.indices.min { (freeAt[$0], $0) < (freeAt[$1], $1) }!
      let now = freeAt[worker]
      // Reveal every result that ends by now.
      let due = running.filter { $0.end <= now }.sorted { ($0.end, $0.job.trial) < ($1.end, $1.job.trial) }
      for item in due {
        guard let value = score(item.job.trial, item.job.to) else {
          return .need(running.map(\.job).filter { score($0.trial, $0.to) == nil })
        }
        let rung = rungs.firstIndex(of: item.job.to)!
        reports[rung].append((item.job.trial, value))
        reached[item.job.trial] = item.job.to
        running.removeAll { $0.job == item.job }
      }
      // ASHA's get_job: a promotion from the highest rung that has one, else a new trial.
      var job: TrialJob?
      for rung in stride(from: rungs.count - 2, through: 0, by: -1) {
        let ranked = reports[rung].sorted { ($0.score, -$0.trial) > ($1.score, -$1.trial) }
        let top = ranked.prefix(reports[rung].count / plan.eta)
        if let pick = top.first(where: { !promoted[rung].contains($0.trial) }) {
          promoted[rung].insert(pick.trial)
          job = TrialJob(trial: pick.trial, from: rungs[rung], to: rungs[rung + 1])
          break
        }
      }
      if job == nil, nextTrial < plan.trialCount {
        job = TrialJob(trial: nextTrial, from: 0, to: rungs[0])
        nextTrial += 1
      }
      if let job {
        started.append(job)
        running.append(Running(end: now + job.to - job.from, job: job))
        freeAt[worker] = now + job.to - job.from
      } else if let next = running.map(\.end).min() {
        freeAt[worker] = next  // idle until the next result (every running job ends after now)
      } else {
        return .done(SearchDecisions(jobs: started, reached: reached, chosen: choose(reached, score: score)))
      }
    }
  }
}
