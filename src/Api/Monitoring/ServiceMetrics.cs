using Prometheus;

namespace TrainingService.Api.Monitoring;

/// <summary>
/// This host's Prometheus registry (prometheus-net): what <c>GET /metrics</c> serves. A registry of
/// its own rather than the process-wide default, so hosts sharing a process (the API tests run many)
/// each count their own requests and read their own store.
/// </summary>
public sealed class ServiceMetrics
{
    public const string Prefix = "trainingservice_";

    public CollectorRegistry Registry { get; } = Prometheus.Metrics.NewCustomRegistry();

    public IMetricFactory Factory => Prometheus.Metrics.WithCustomRegistry(Registry);
}
