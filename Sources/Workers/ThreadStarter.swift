import Foundation

#if canImport(Glibc)
import Glibc
#endif
#if canImport(CDispatch)
// `pthread_attr_t()`: Swift on Linux imports the C struct's initializer through Dispatch's C module.
import CDispatch
#endif

/// Starts a detached POSIX thread running `body`, or throws when the system refuses to create one (a process or
/// memory limit): a pool must fail with an error then, not wait forever for a worker that never started.
///
/// - Throws: ``WorkerPoolError/threadsUnavailable(_:)`` with the system's reason.
package func startThread(stackSize: Int, _ body: @escaping @Sendable () -> Void) throws(WorkerPoolError) {
    final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setstacksize(&attributes, stackSize)
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    let box = Unmanaged.passRetained(Box(body))
    var thread = pthread_t()
    let status = pthread_create(
        &thread, &attributes,
        { context in
            let box = Unmanaged<Box>.fromOpaque(context!).takeRetainedValue()
            box.body()
            return nil
        }, box.toOpaque())
    if status != 0 {
        box.release()
        throw .threadsUnavailable(String(cString: strerror(status)))
    }
}
