using Prometheus;
using TrainingService.Api.Security;
using TrainingService.Api.Workers;

namespace TrainingService.Api.Monitoring;

/// <summary>
/// <c>GET /metrics</c>: the service's state for Prometheus (prometheus-net) — jobs by status, running
/// jobs, queue depth, live workers and each one's training throughput, request durations by route
/// template, and the API process's own figures. (Not to be confused with <c>/jobs/{id}/metrics</c>,
/// a job's training metrics.)
/// </summary>
public static class MonitoringEndpoints
{
    public static IServiceCollection AddServiceMonitoring(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WorkersApiOptions>().Bind(configuration.GetSection(WorkersApiOptions.SectionName))
            .Validate(o => o.AliveThreshold > TimeSpan.Zero, $"{WorkersApiOptions.SectionName}:AliveThreshold must be positive.")
            .ValidateOnStart();
        services.AddSingleton<ServiceMetrics>();
        services.AddSingleton<JobGauges>();
        return services;
    }

    /// <summary>
    /// Times every request into <c>http_request_duration_seconds{code,method,endpoint}</c> (the route
    /// template, never the id). Goes first, outside the error handler, so failed requests count with their 500.
    /// </summary>
    public static WebApplication UseRequestMetrics(this WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<ServiceMetrics>();
        app.UseRouting();
        app.UseHttpMetrics(options => options.SetMetricFactory(metrics.Factory));
        return app;
    }

    public static IEndpointRouteBuilder MapMonitoringEndpoints(this IEndpointRouteBuilder app)
    {
        var metrics = app.ServiceProvider.GetRequiredService<ServiceMetrics>();
        ProcessGauges.Register(metrics);
        app.ServiceProvider.GetRequiredService<JobGauges>().Register();

        // With authentication on, an admin key: the scrape names every owner's running jobs.
        app.MapGroup("/metrics").WithTags("Monitoring").RequireAdminAccess()
            .MapGet("/", (HttpContext context, CancellationToken cancellationToken) => WriteScrapeAsync(metrics, context.Response, cancellationToken))
            .WithName("GetServiceMetrics")
            .WithSummary("Service metrics for Prometheus")
            .WithDescription("""
                The service's state in Prometheus's text format: `trainingservice_jobs{status}`,
                `trainingservice_running_jobs`, `trainingservice_queue_depth{queue}` (jobs waiting in each Hangfire queue),
                `trainingservice_workers`, `trainingservice_worker_training_samples_per_second{worker,job}` (training images
                per second of the job each live worker runs, as it last reported), the histogram
                `http_request_duration_seconds{code,method,endpoint}` (by route template), and the API process's own
                `process_cpu_seconds_total`, `process_resident_memory_bytes`, `dotnet_collection_count_total{generation}`,
                `dotnet_gc_pause_seconds_total` and `dotnet_threadpool_queue_length`. A job's own training metrics are at
                `/jobs/{id}/metrics`. With authentication on it needs an admin key (Prometheus: `authorization: {credentials: <key>}`).
                """)
            .Produces<string>(StatusCodes.Status200OK, "text/plain");
        return app;
    }

    /// <summary>The registry in Prometheus's text format (0.0.4), collected afresh (see <see cref="JobGauges"/>).</summary>
    private static async Task WriteScrapeAsync(ServiceMetrics metrics, HttpResponse response, CancellationToken cancellationToken)
    {
        response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await metrics.Registry.CollectAndExportAsTextAsync(response.Body, ExpositionFormat.PrometheusText, cancellationToken);
    }
}
