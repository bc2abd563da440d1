using Prometheus;

namespace TrainingService.Api.Monitoring;

/// <summary>
/// The API process itself, under the names Prometheus's client libraries give these so stock
/// dashboards and alerts read them: prometheus-net's own process and garbage-collection collectors
/// (<c>process_cpu_seconds_total</c>, <c>process_resident_memory_bytes</c>,
/// <c>dotnet_collection_count_total{generation}</c>, …), and the two it lacks — the collector's
/// total pause time and the work waiting for the thread pool — read at each scrape.
/// </summary>
public static class ProcessGauges
{
    public static void Register(ServiceMetrics metrics)
    {
        DotNetStats.Register(metrics.Registry);
        var pauses = metrics.Factory.CreateCounter("dotnet_gc_pause_seconds_total", "Time the garbage collector has paused the process, in seconds.");
        var queue = metrics.Factory.CreateGauge("dotnet_threadpool_queue_length", "Work items waiting for a thread-pool thread.");
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            pauses.IncTo(GC.GetTotalPauseDuration().TotalSeconds);
            queue.Set(ThreadPool.PendingWorkItemCount);
        });
    }
}
