import Foundation

/// The Python with h5py and NumPy that cross-checks files this project writes, from `METAMERGE_H5PY_PYTHON` (nil
/// when unset or empty: such tests are skipped with a message).
public let h5pyCheckPython: String? = ProcessInfo.processInfo.environment["METAMERGE_H5PY_PYTHON"].flatMap {
    $0.isEmpty ? nil : $0
}

/// Runs `python -c script arguments…` and returns its exit status and standard output.
public func runPythonScript(_ python: String, _ script: String, _ arguments: [String]) throws -> (Int32, Data) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = ["-c", script] + arguments
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, data)
}
