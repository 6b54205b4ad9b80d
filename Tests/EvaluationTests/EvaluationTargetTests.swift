import Checkpoints
import Evaluation
import Foundation
import HDF5
import Merging
import TestSupport
import Testing

/// "Evaluate this merge config" as a library call: the point θ0 + Σ c τ of a config, on the checkpoints its plan
/// opened.
@Suite("Evaluation target of a merge config")
struct EvaluationTargetTests {
    /// task_arithmetic with λ = 2, sort at weight 0.5 and add at 0.25 (listed in that order, not the family's
    /// directory order): c = λ·w = (1, 0.5), by hand.
    static func config() throws -> URL {
        let directory = try makeTemporaryDirectory("eval-target")
        let family = RepositoryPaths.tinyFamily.path
        let yaml = """
            merge_method: task_arithmetic
            base_model: \(family)/base
            parameters: {lambda: 2}
            models:
              - model: \(family)/sort
                parameters: {weight: 0.5}
              - model: \(family)/add
                parameters: {weight: 0.25}
            dtype: float32

            """
        let url = directory.appendingPathComponent("merge.yml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func thePointFollowsTheConfigsTaskModels() throws {
        let target = try EvaluationTarget.mergeConfig(try Self.config())
        #expect(target.modelTasks == ["sort", "add"])
        #expect(target.point == [1, 0.5])
        #expect(target.checkpoints.map(\.role) == ["base", "sort", "add"])
        #expect(target.tokenizerDirectory.lastPathComponent == "base")
    }

    /// Each checkpoint is opened once: the models run are the very objects the merge's plan opened (base, then the
    /// task models in the plan's order), not a second opening of the same directories.
    @Test func eachCheckpointIsOpenedOnce() throws {
        let target = try EvaluationTarget.mergeConfig(try Self.config())
        let plan = try #require(target.merge).plan
        let baseIndex = try #require(plan.baseIndex)
        let planned = [plan.inputs[baseIndex].checkpoint] + plan.taskIndices.map { plan.inputs[$0].checkpoint }
        #expect(target.checkpoints.count == planned.count)
        for (run, opened) in zip(target.checkpoints.map(\.checkpoint), planned) {
            #expect(run === opened, "\(run.directory.path) was opened a second time")
        }
    }

    /// Evaluating a target with a report: the tasks in the arguments' order, every line of the task file an item,
    /// and /eval written into the report.
    @Test func evaluatingWritesTheEvalGroup() throws {
        let base = try Checkpoint(directory: RepositoryPaths.tinyFamily.appendingPathComponent("base"))
        let task = RepositoryPaths.tinyFamily.appendingPathComponent("tasks/add.jsonl")
        let lines = try String(contentsOf: task, encoding: .utf8).split(separator: "\n").count
        let report = try makeTemporaryDirectory("eval-target").appendingPathComponent("eval.h5")
        let (tasks, metrics) = try EvaluationTarget.model(base).evaluate(
            taskArguments: ["add=\(task.path)"], report: report)
        #expect(tasks.map(\.name) == ["add"])
        #expect(metrics.map(\.items) == [lines])
        let file = try HDF5File.open(at: report)
        defer { try? file.close() }
        #expect(try file.root.exists("eval"))
    }
}
