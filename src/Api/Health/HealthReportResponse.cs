using Microsoft.Extensions.Diagnostics.HealthChecks;
using TrainingService.Api.Infrastructure.OpenApi;

namespace TrainingService.Api.Health;

/// <summary>The result of the health checks.</summary>
public sealed record HealthReportResponse : IOpenApiExample<HealthReportResponse>
{
    /// <summary>healthy, degraded or unhealthy: the worst of the checks.</summary>
    public required string Status { get; init; }

    /// <summary>How long the checks took, in milliseconds.</summary>
    public required double DurationMs { get; init; }

    /// <summary>Each check's result.</summary>
    public required IReadOnlyList<HealthCheckResponse> Checks { get; init; }

    public static HealthReportResponse Example { get; } = new()
    {
        Status = "healthy",
        DurationMs = 4.2,
        Checks =
        [
            new HealthCheckResponse { Name = "database", Status = "healthy", Description = "The job store answers.", DurationMs = 1.9 },
            new HealthCheckResponse { Name = "queue", Status = "healthy", Description = "The queue storage answers; 1 server registered.", DurationMs = 1.6 },
            new HealthCheckResponse { Name = "checkpoints", Status = "healthy", Description = "The checkpoint root is writable.", DurationMs = 0.4 },
        ],
    };

    public static HealthReportResponse From(HealthReport report) => new()
    {
        Status = Name(report.Status),
        DurationMs = Math.Round(report.TotalDuration.TotalMilliseconds, 1),
        Checks = [.. report.Entries.Select(e => new HealthCheckResponse
        {
            Name = e.Key,
            Status = Name(e.Value.Status),
            Description = e.Value.Description,
            DurationMs = Math.Round(e.Value.Duration.TotalMilliseconds, 1),
        })],
    };

    private static string Name(HealthStatus status) => status.ToString().ToLowerInvariant();
}

/// <summary>One check's result.</summary>
public sealed record HealthCheckResponse : IOpenApiExample<HealthCheckResponse>
{
    /// <summary>database, queue or checkpoints.</summary>
    public required string Name { get; init; }

    /// <summary>healthy, degraded or unhealthy.</summary>
    public required string Status { get; init; }

    /// <summary>What was found.</summary>
    public required string? Description { get; init; }

    /// <summary>How long it took, in milliseconds.</summary>
    public required double DurationMs { get; init; }

    public static HealthCheckResponse Example { get; } = new() { Name = "database", Status = "healthy", Description = "The job store answers.", DurationMs = 1.9 };
}
