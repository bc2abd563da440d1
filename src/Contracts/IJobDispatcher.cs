namespace TrainingService.Contracts;

/// <summary>
/// Hands a stored job to the queue (Hangfire) so a worker runs it. The web side only ever
/// enqueues; the job itself carries nothing but its id, and the worker loads the rest.
/// </summary>
public interface IJobDispatcher
{
    void Dispatch(JobRecord job);
}
