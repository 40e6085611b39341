import NIOCore

/// Runs the jobs of the tasks that prefer it on one NIO event loop (``EventSocketConnection/executor``).
///
/// NIO's event loops are serial executors (for actors) but not task executors; this is the small adapter that lets a
/// task run on one with `withTaskExecutorPreference`.
final class EventLoopExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
