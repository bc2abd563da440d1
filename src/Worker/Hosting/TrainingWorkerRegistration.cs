using Hangfire;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TrainingService.Contracts;
using TrainingService.Contracts.Datasets;
using TrainingService.ServiceDefaults;

namespace TrainingService.Worker.Hosting;

public static class TrainingWorkerRegistration
{
    /// <summary>
    /// The Hangfire server that runs training jobs, with explicit queues, a small worker count and
    /// shutdown timeouts long enough for a running job to reach a step boundary and let go.
    /// Needs <see cref="StorageRegistration.AddJobStorage"/> and <see cref="StorageRegistration.AddJobQueue"/>.
    /// </summary>
    public static IServiceCollection AddTrainingWorker(this IServiceCollection services, IConfiguration configuration)
    {
        // Before anything loads libtorch (the worker's device check does, when the host is built).
        OpenMpDefaults.Apply();
        services.AddWorkerOptions(configuration);
        services.Configure<MnistOptions>(configuration.GetSection(MnistOptions.SectionName));
        services.AddOptions<DatasetOptions>().Bind(configuration.GetSection(DatasetOptions.SectionName))
            .Validate(options => options.Validate() is null, "Invalid Datasets settings: see the README's configuration table.")
            .ValidateOnStart();
        services.AddHttpClient(nameof(DatasetCache), http => http.Timeout = TimeSpan.FromMinutes(5));
        services.AddSingleton<WorkerState>();
        services.AddSingleton<DatasetCache>();
        services.AddSingleton<TrainingThreads>();
        services.AddTransient<TrainingJobRunner>();
        // What the queue's jobs name (the API enqueues against the interface); jobs enqueued before
        // the interface existed name TrainingJobRunner itself, and still resolve.
        services.AddTransient<ITrainingJob>(sp => sp.GetRequiredService<TrainingJobRunner>());
        // First of the worker's hosted services: the later ones start their threads at its priority.
        services.AddHostedService<ServiceThreadPriority>();
        services.AddHostedService<WorkerLifetimeService>();
        // The host must outwait Hangfire's own shutdown timeout, or it would stop the process while
        // the running job is still recording its last step: the worker process and the embedded API alike.
        services.AddOptions<HostOptions>().Configure<IOptions<WorkerOptions>>((host, worker) =>
            host.ShutdownTimeout = worker.Value.ShutdownTimeout + TimeSpan.FromSeconds(30));
        services.AddHangfireServer((sp, server) =>
        {
            var options = sp.GetRequiredService<IOptions<WorkerOptions>>().Value;
            var state = sp.GetRequiredService<WorkerState>();
            // The standalone worker checks this before building anything (WorkerProgram); here it
            // stops a host that embeds the worker before the server could take a job.
            if (state.StartupProblem is { } problem)
                throw new InvalidOperationException($"Worker {state.Name} refuses to start: {problem}");
            server.ServerName = state.Name;
            server.Queues = state.Queues;
            server.WorkerCount = Math.Max(1, options.Concurrency);
            // A running job's cancellation token is Hangfire's "stopped" token, which fires
            // StopTimeout after the stop begins: zero, so a stopping worker's job stops at its next
            // step boundary at once instead of training on. ShutdownTimeout is then the grace the
            // job gets to record what it has and hand itself back before Hangfire gives up on it.
            server.StopTimeout = TimeSpan.Zero;
            server.ShutdownTimeout = options.ShutdownTimeout;
        });
        return services;
    }
}

/// <summary>
/// Logs what the worker is, and keeps this worker's row in the workers table
/// fresh (removing it on a clean stop) so <c>GET /workers</c> shows who is alive.
/// </summary>
internal sealed class WorkerLifetimeService(
    IWorkerRegistry registry, WorkerState state, IOptions<WorkerOptions> options, TimeProvider time, ILogger<WorkerLifetimeService> logger)
    : BackgroundService
{
    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(5);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!state.Cuda.Usable)
            logger.LogInformation("Worker {Worker}: CUDA is not usable ({CudaReason})", state.Name, state.Cuda.Reason);
        if (state.RefusedQueues.Length > 0)
            logger.LogWarning("Worker {Worker} will not take jobs from the queue(s) {RefusedQueues} it is configured for: they hold GPU jobs and CUDA is not usable here",
                state.Name, string.Join(",", state.RefusedQueues));
        logger.LogInformation("Worker {Worker} starting: device {Device}, queues {Queues}, {Threads} CPU threads, {Concurrency} job(s) at a time",
            state.Name, state.Device, string.Join(",", state.Queues), state.Threads, options.Value.Concurrency);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await registry.UpsertWorkerAsync(new WorkerRecord(state.Id, state.Name, state.Queues, state.Device, state.RunningJobId, state.StartedAt, time.GetUtcNow()), stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Worker heartbeat failed; retrying");
            }
            // Touched whether or not the database answered: liveness means this process is not hung;
            // restarting workers because the database is away would only lose their jobs' progress.
            TouchLivenessFile();
            try { await Task.Delay(HeartbeatInterval, time, stoppingToken); }
            catch (OperationCanceledException) { break; }
        }
    }

    private void TouchLivenessFile()
    {
        if (string.IsNullOrWhiteSpace(options.Value.LivenessFile)) return;
        try
        {
            var path = Path.GetFullPath(options.Value.LivenessFile);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, time.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(e, "Could not touch the liveness file {LivenessFile}", options.Value.LivenessFile);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try { await registry.RemoveWorkerAsync(state.Id, cancellationToken); }
        catch (Exception e) { logger.LogWarning(e, "Could not remove worker {Worker} from the workers table", state.Name); }
    }
}
