using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using TrainingService.Contracts.Telemetry;

namespace TrainingService.ServiceDefaults;

public static class ServiceTelemetry
{
    /// <summary>The standard OpenTelemetry setting that names a collector; without it no span leaves the process.</summary>
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// OpenTelemetry tracing for a host: spans of the jobs' own work (<see cref="JobTracing"/>), of
    /// outgoing HTTP calls and of PostgreSQL commands, and whatever <paramref name="tracing"/> adds
    /// (the API: its requests). Exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set
    /// (with the other standard <c>OTEL_*</c> settings: protocol, headers, sampler), not at all
    /// otherwise; spans are still made, so a job's record can name its trace either way.
    /// </summary>
    public static TBuilder AddServiceTelemetry<TBuilder>(this TBuilder builder, Action<TracerProviderBuilder>? tracing = null)
        where TBuilder : IHostApplicationBuilder
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(builder.Environment.ApplicationName))
            .WithTracing(traces =>
            {
                traces.AddSource(JobTracing.SourceName).AddHttpClientInstrumentation().AddNpgsql();
                tracing?.Invoke(traces);
            });
        if (!string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointSetting]))
            telemetry.UseOtlpExporter();
        return builder;
    }
}
