using System.Diagnostics;
using System.Globalization;
using Hangfire;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using TrainingService.Api.Security;
using TrainingService.Api.Workers;
using TrainingService.Contracts;

namespace TrainingService.Api.Monitoring;

/// <summary>
/// <c>GET /metrics</c>: the service's state for Prometheus — jobs by status, running jobs, queue
/// depth, live workers and each one's training throughput, and request latencies. (Not to be
/// confused with <c>/jobs/{id}/metrics</c>, a job's training metrics.)
/// </summary>
public static class MonitoringEndpoints
{
    public const string Prefix = "trainingservice_";

    public static IServiceCollection AddServiceMonitoring(this IServiceCollection services) =>
        services.AddSingleton<RequestLatencies>();

    /// <summary>Times every request. Goes first, outside the error handler, so failed requests count with their 500.</summary>
    public static WebApplication UseRequestLatencies(this WebApplication app)
    {
        app.UseMiddleware<RequestLatencyMiddleware>();
        return app;
    }

    public static IEndpointRouteBuilder MapMonitoringEndpoints(this IEndpointRouteBuilder app)
    {
        // Bound here for the reason given in MapJobsEndpoints: Program.cs has no hook for it.
        var workers = app.ServiceProvider.GetRequiredService<IConfiguration>()
            .GetSection(WorkersApiOptions.SectionName).Get<WorkersApiOptions>() ?? new WorkersApiOptions();
        workers.Validate();

        // With authentication on, an admin key: the scrape names every owner's running jobs.
        app.MapGroup("/metrics").WithTags("Monitoring").RequireAdminAccess()
            .MapGet("/", new MetricsHandler(workers).GetAsync)
            .WithName("GetServiceMetrics")
            .WithSummary("Service metrics for Prometheus")
            .WithDescription("""
                The service's state in Prometheus's text format (version 0.0.4): `trainingservice_jobs{status}`,
                `trainingservice_running_jobs`, `trainingservice_queue_depth{queue}` (jobs waiting in each Hangfire queue),
                `trainingservice_workers`, `trainingservice_worker_training_samples_per_second{worker,job}` (training images
                per second of the job each live worker runs, as it last reported) and the histogram
                `trainingservice_http_request_duration_seconds{method,route,status}`, and the API process's own
                `process_cpu_seconds_total`, `process_resident_memory_bytes`, `dotnet_gc_collections_total{generation}`,
                `dotnet_gc_pause_seconds_total` and `dotnet_threadpool_queue_length`. A job's own training metrics are at
                `/jobs/{id}/metrics`. With authentication on it needs an admin key (Prometheus: `authorization: {credentials: <key>}`).
                """)
            .Produces<string>(StatusCodes.Status200OK, "text/plain");
        return app;
    }

    private sealed class MetricsHandler(WorkersApiOptions workers)
    {
        public async Task<ContentHttpResult> GetAsync(
            [FromServices] IJobStore store, [FromServices] IWorkerRegistry workerRegistry, [FromServices] RequestLatencies latencies, [FromServices] TimeProvider time,
            [FromServices] IServiceProvider services, CancellationToken cancellationToken)
        {
            var text = new PrometheusText();

            var byStatus = await store.CountByStatusAsync(cancellationToken);
            text.Family(Prefix + "jobs", "gauge", "Jobs in the store, by status.");
            foreach (var status in Enum.GetValues<JobStatus>())
                text.Sample(Prefix + "jobs", byStatus.GetValueOrDefault(status), ("status", status.ToString().ToLowerInvariant()));
            text.Family(Prefix + "running_jobs", "gauge", "Jobs a worker is running now (status running or cancelling).");
            text.Sample(Prefix + "running_jobs", byStatus.GetValueOrDefault(JobStatus.Running) + byStatus.GetValueOrDefault(JobStatus.Cancelling));

            text.Family(Prefix + "queue_depth", "gauge", "Jobs waiting in each Hangfire queue for a worker.");
            if (services.GetService<JobStorage>() is { } storage)
            {
                foreach (var queue in storage.GetMonitoringApi().Queues().OrderBy(q => q.Name, StringComparer.Ordinal))
                    text.Sample(Prefix + "queue_depth", queue.Length, ("queue", queue.Name));
            }

            var alive = await workerRegistry.ListWorkersAsync(time.GetUtcNow() - workers.AliveThreshold, cancellationToken);
            text.Family(Prefix + "workers", "gauge", "Workers whose last heartbeat is recent.");
            text.Sample(Prefix + "workers", alive.Count);
            text.Family(Prefix + "worker_training_samples_per_second", "gauge",
                "Training images per second of the job each live worker is running, as the worker last reported it.");
            foreach (var worker in alive.OrderBy(w => w.Id, StringComparer.Ordinal))
            {
                if (worker.RunningJobId is not { } jobId)
                    continue;
                if (await store.GetAsync(jobId, cancellationToken) is { Status: JobStatus.Running or JobStatus.Cancelling, Progress: { } progress })
                    text.Sample(Prefix + "worker_training_samples_per_second", progress.SamplesPerSecond, ("worker", worker.Id), ("job", jobId.ToString()));
            }

            const string duration = Prefix + "http_request_duration_seconds";
            text.Family(duration, "histogram", "HTTP request durations in seconds, by method, route template and status code.");
            foreach (var series in latencies.Snapshot())
            {
                (string, string)[] labels = [("method", series.Method), ("route", series.Route), ("status", series.Status.ToString(System.Globalization.CultureInfo.InvariantCulture))];
                for (var i = 0; i < RequestLatencies.Buckets.Count; i++)
                    text.Sample(duration + "_bucket", series.CumulativeCounts[i], [.. labels, ("le", PrometheusText.Number(RequestLatencies.Buckets[i]))]);
                text.Sample(duration + "_bucket", series.Count, [.. labels, ("le", "+Inf")]);
                text.Sample(duration + "_sum", series.Sum, labels);
                text.Sample(duration + "_count", series.Count, labels);
            }

            WriteProcessMetrics(text);
            return TypedResults.Text(text.ToString(), PrometheusText.ContentType);
        }
    }

    /// <summary>
    /// The API process itself, under the names Prometheus's client libraries give these, so stock
    /// dashboards and alerts read them: CPU, memory, garbage collections and their pauses, and work
    /// waiting for the thread pool.
    /// </summary>
    private static void WriteProcessMetrics(PrometheusText text)
    {
        using var process = Process.GetCurrentProcess();
        text.Family("process_cpu_seconds_total", "counter", "User and system CPU time the process has spent, in seconds.");
        text.Sample("process_cpu_seconds_total", process.TotalProcessorTime.TotalSeconds);
        text.Family("process_resident_memory_bytes", "gauge", "Resident memory of the process, in bytes.");
        text.Sample("process_resident_memory_bytes", process.WorkingSet64);
        text.Family("dotnet_gc_collections_total", "counter", "Garbage collections since the process started, by generation.");
        for (var generation = 0; generation <= GC.MaxGeneration; generation++)
            text.Sample("dotnet_gc_collections_total", GC.CollectionCount(generation), ("generation", generation.ToString(CultureInfo.InvariantCulture)));
        text.Family("dotnet_gc_pause_seconds_total", "counter", "Time the garbage collector has paused the process, in seconds.");
        text.Sample("dotnet_gc_pause_seconds_total", GC.GetTotalPauseDuration().TotalSeconds);
        text.Family("dotnet_threadpool_queue_length", "gauge", "Work items waiting for a thread-pool thread.");
        text.Sample("dotnet_threadpool_queue_length", ThreadPool.PendingWorkItemCount);
    }
}
