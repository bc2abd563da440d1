using Hangfire;
using Microsoft.Extensions.Options;
using Prometheus;
using TrainingService.Api.Workers;
using TrainingService.Contracts;

namespace TrainingService.Api.Monitoring;

/// <summary>
/// The service's state as gauges, read from the store and the queue when Prometheus scrapes (not on
/// a timer, so an idle service does no work for them): jobs by status, running jobs, each queue's
/// depth, live workers and each one's training throughput.
/// </summary>
public sealed class JobGauges(
    ServiceMetrics metrics, IJobStore store, IWorkerRegistry workerRegistry, JobStorage queue, TimeProvider time, IOptions<WorkersApiOptions> workers)
{
    private const string Prefix = ServiceMetrics.Prefix;

    private readonly Gauge jobs = metrics.Factory.CreateGauge(Prefix + "jobs", "Jobs in the store, by status.", ["status"]);
    private readonly Gauge running = metrics.Factory.CreateGauge(Prefix + "running_jobs", "Jobs a worker is running now (status running or cancelling).");
    private readonly Gauge queueDepth = metrics.Factory.CreateGauge(Prefix + "queue_depth", "Jobs waiting in each Hangfire queue for a worker.", ["queue"]);
    private readonly Gauge liveWorkers = metrics.Factory.CreateGauge(Prefix + "workers", "Workers whose last heartbeat is recent.");
    private readonly Gauge throughput = metrics.Factory.CreateGauge(Prefix + "worker_training_samples_per_second",
        "Training images per second of the job each live worker is running, as the worker last reported it.", ["worker", "job"]);

    /// <summary>Reads everything afresh before each collection.</summary>
    public void Register() => metrics.Registry.AddBeforeCollectCallback(RefreshAsync);

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var byStatus = await store.CountByStatusAsync(cancellationToken);
        foreach (var status in Enum.GetValues<JobStatus>())
            jobs.WithLabels(status.ToString().ToLowerInvariant()).Set(byStatus.GetValueOrDefault(status));
        running.Set(byStatus.GetValueOrDefault(JobStatus.Running) + byStatus.GetValueOrDefault(JobStatus.Cancelling));

        foreach (var waiting in queue.GetMonitoringApi().Queues())
            queueDepth.WithLabels(waiting.Name).Set(waiting.Length);

        var alive = await workerRegistry.ListWorkersAsync(time.GetUtcNow() - workers.Value.AliveThreshold, cancellationToken);
        liveWorkers.Set(alive.Count);
        // Series of workers and jobs that have gone are dropped, not left at their last value.
        var current = new HashSet<string[]>(EqualityComparer<string[]>.Create((a, b) => a!.SequenceEqual(b!), a => HashCode.Combine(a[0], a[1])));
        foreach (var worker in alive)
        {
            if (worker.RunningJobId is { } jobId
                && await store.GetAsync(jobId, cancellationToken) is { Status: JobStatus.Running or JobStatus.Cancelling, Progress: { } progress })
            {
                string[] labels = [worker.Id, jobId.ToString()];
                throughput.WithLabels(labels).Set(progress.SamplesPerSecond);
                current.Add(labels);
            }
        }
        foreach (var labels in throughput.GetAllLabelValues().Where(l => !current.Contains(l)).ToList())
            throughput.RemoveLabelled(labels);
    }
}
