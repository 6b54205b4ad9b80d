import Evaluation
import Foundation

/// `eval --json`.
struct EvalJSON: Encodable {
    struct Task: Encodable {
        let name: String
        let file: String
        let items: Int
        let exactMatch: Int
        let exactMatchRate: Double
        let completionTokens: Int
        let correctTokens: Int
        let tokenAccuracy: Double
        let meanNLL: Double
    }
    let modelTasks: [String]
    let coefficients: [Double]
    let tasks: [Task]

    init(target: EvaluationTarget, tasks: [EvalTask], metrics: [TaskMetrics]) {
        modelTasks = target.modelTasks
        coefficients = target.point
        self.tasks = zip(tasks, metrics).map { task, m in
            Task(
                name: task.name, file: task.url.path, items: m.items, exactMatch: m.exactMatch,
                exactMatchRate: m.exactMatchRate,
                completionTokens: m.completionTokens, correctTokens: m.correctTokens, tokenAccuracy: m.tokenAccuracy,
                meanNLL: m.meanNLL)
        }
    }
}
