namespace TrainingService.Contracts;

/// <summary>
/// What the queue runs: the API enqueues against this interface (Hangfire's
/// <c>Create&lt;ITrainingJob&gt;</c>) with nothing but the job's id, and only a worker process has
/// an implementation of it. The API therefore cannot run a job by itself.
/// </summary>
public interface ITrainingJob
{
    /// <summary>
    /// Runs one attempt of the stored job <paramref name="jobId"/>, loading everything else from the
    /// store; safe to call again for the same id (it resumes from the last checkpoint, or does
    /// nothing for a job that has ended). The queue passes its own shutdown token.
    /// </summary>
    Task RunAsync(Guid jobId, CancellationToken cancellationToken);
}
