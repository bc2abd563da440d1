using Hangfire;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using TrainingService.Contracts;

namespace TrainingService.Api.Health;

/// <summary>The job database answers a ping.</summary>
public sealed class DatabaseHealthCheck(IServiceProvider services) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (services.GetService<IJobDatabase>() is not { } database)
            return HealthCheckResult.Unhealthy("No job store is configured.");
        try
        {
            return await database.PingAsync(cancellationToken)
                ? HealthCheckResult.Healthy("The job store answers.")
                : HealthCheckResult.Unhealthy("The job store does not answer.");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Why (refused, timeout, authentication) goes to the log with the exception; the
            // answer, which anyone may read, names no hosts or paths.
            return HealthCheckResult.Unhealthy("The job store failed; the log has the error.", e);
        }
    }
}

/// <summary>
/// Hangfire's storage answers. Resolved optionally: a process composed without a queue has
/// nothing to check here, which is reported as degraded rather than hidden.
/// </summary>
public sealed class QueueStorageHealthCheck(IServiceProvider services) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (services.GetService<JobStorage>() is not { } storage)
            return Task.FromResult(HealthCheckResult.Degraded("No queue storage is configured."));
        try
        {
            // A monitoring query goes to the storage's database: it answers only if that does.
            var servers = storage.GetMonitoringApi().Servers();
            return Task.FromResult(HealthCheckResult.Healthy($"The queue storage answers; {servers.Count} server(s) registered."));
        }
        catch (Exception e)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("The queue storage failed; the log has the error.", e));
        }
    }
}

/// <summary>The checkpoint root exists (or can be made) and takes a write: workers will need both.</summary>
public sealed class CheckpointRootHealthCheck(IOptions<CheckpointOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var root = Path.GetFullPath(options.Value.Root);
        // A dot-name no checkpoint folder can have (job folders are 32 hex digits), so nothing mistakes it for one.
        var probe = Path.Combine(root, $".health-{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(root);
            await File.WriteAllBytesAsync(probe, [1], cancellationToken);
            File.Delete(probe);
            return HealthCheckResult.Healthy("The checkpoint root is writable.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            TryDelete(probe);
            return HealthCheckResult.Unhealthy("The checkpoint root is not writable; the log has the error.", e);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
