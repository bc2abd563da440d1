using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace TrainingService.Api.Health;

/// <summary>
/// <c>/health/live</c> (the process answers) and <c>/health/ready</c> (its dependencies do). Served
/// by ordinary endpoints over <see cref="HealthCheckService"/> rather than MapHealthChecks, so they
/// appear in the OpenAPI document with typed answers like every other endpoint.
/// </summary>
public static class HealthEndpoints
{
    public const string ReadyTag = "ready";

    public static IServiceCollection AddApiHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: [ReadyTag])
            .AddCheck<QueueStorageHealthCheck>("queue", tags: [ReadyTag])
            .AddCheck<CheckpointRootHealthCheck>("checkpoints", tags: [ReadyTag]);
        return services;
    }

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/health").WithTags("Health");

        group.MapGet("/live", Live)
            .WithName("Live")
            .WithSummary("Liveness: the process is up")
            .WithDescription("200 whenever the process can answer; checks nothing else, so an orchestrator restarts only a hung process.");

        group.MapGet("/ready", ReadyAsync)
            .WithName("Ready")
            .WithSummary("Readiness: the database, the queue storage and the checkpoint volume work")
            .WithDescription("""
                Runs every readiness check: the job database answers, the queue's storage answers, and the checkpoint
                root is writable (a temporary file is written and deleted). 200 with each check's result when all are
                healthy (or degraded); 503 problem details listing them when any is unhealthy.
                """)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static Ok<HealthReportResponse> Live() =>
        TypedResults.Ok(new HealthReportResponse { Status = "healthy", DurationMs = 0, Checks = [] });

    private static async Task<Results<Ok<HealthReportResponse>, ProblemHttpResult>> ReadyAsync(
        [FromServices] HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(check => check.Tags.Contains(ReadyTag), cancellationToken);
        var response = HealthReportResponse.From(report);
        if (report.Status != HealthStatus.Unhealthy)
            return TypedResults.Ok(response);

        var failing = report.Entries.Where(e => e.Value.Status == HealthStatus.Unhealthy).Select(e => e.Key);
        return TypedResults.Problem(
            detail: $"Not ready: {string.Join(", ", failing)} unhealthy.",
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "Service unavailable",
            extensions: new Dictionary<string, object?> { ["checks"] = response.Checks });
    }
}
