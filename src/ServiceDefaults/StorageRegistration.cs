using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Hangfire.Storage.SQLite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TrainingService.Contracts;
using TrainingService.Contracts.Access;
using TrainingService.Contracts.Webhooks;
using TrainingService.Contracts.Datasets;
using TrainingService.Storage;

namespace TrainingService.ServiceDefaults;

public static class StorageRegistration
{
    /// <summary>
    /// The stores, one per concern, all on one database (PostgreSQL when configured, else the embedded
    /// SQLite file), and the checkpoint volume's options. The database owns the connection pool; the
    /// container disposes it.
    /// </summary>
    public static IServiceCollection AddJobStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<StorageOptions>(configuration.GetSection(StorageOptions.SectionName));
        services.Configure<CheckpointOptions>(configuration.GetSection(CheckpointOptions.SectionName));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp => JobDatabase.Open(sp.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.AddSingleton<IJobDatabase>(sp => sp.GetRequiredService<JobDatabase>());
        services.AddSingleton<IJobStore, SqlJobStore>();
        services.AddSingleton<IEpochStore, SqlEpochStore>();
        services.AddSingleton<ICheckpointIndex, SqlCheckpointIndex>();
        services.AddSingleton<IJobLogStore, SqlJobLogStore>();
        services.AddSingleton<IWorkerRegistry, SqlWorkerRegistry>();
        services.AddSingleton<ISweepStore, SqlSweepStore>();
        services.AddSingleton<IApiKeyStore, SqlApiKeyStore>();
        services.AddSingleton<IJobAttemptLog, SqlJobAttemptLog>();
        services.AddSingleton<IWebhookSubscriptionStore, SqlWebhookSubscriptionStore>();
        services.AddSingleton<IWebhookDeliveryStore, SqlWebhookDeliveryStore>();
        services.AddSingleton<IDatasetStore, SqlDatasetStore>();
        return services;
    }

    /// <summary>
    /// Hangfire's storage (PostgreSQL beside the job records, or a SQLite file next to the embedded
    /// store, so queued work survives a restart either way), the client the API enqueues with, and
    /// the dispatcher. Automatic retries follow <c>Worker:MaxAttempts</c> (the worker's runner decides which
    /// failures are worth retrying), not Hangfire's default of ten.
    /// </summary>
    public static IServiceCollection AddJobQueue(this IServiceCollection services, IConfiguration configuration)
    {
        var storage = configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new StorageOptions();
        var worker = configuration.GetSection(WorkerOptions.SectionName).Get<WorkerOptions>() ?? new WorkerOptions();

        // This host's own storage, registered before AddHangfire so that its fallback — the
        // process-wide JobStorage.Current, which the last host configured in the process wins —
        // is never used: where several hosts share a process (the API tests run many at once),
        // each must enqueue into, count and serve its own database.
        services.AddSingleton<JobStorage>(_ => CreateQueueStorage(storage, worker));
        services.AddHangfire((provider, config) =>
        {
            config.SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
                .UseSimpleAssemblyNameTypeSerializer()
                .UseRecommendedSerializerSettings()
                .UseStorage(provider.GetRequiredService<JobStorage>());
            // Replace Hangfire's global default (10 attempts) rather than stacking ours on top of it;
            // done here so a second configuration in the same process doesn't add another.
            GlobalJobFilters.Filters.Remove(typeof(AutomaticRetryAttribute));
            config.UseFilter(new AutomaticRetryAttribute
            {
                Attempts = Math.Max(0, worker.MaxAttempts - 1),
                DelaysInSeconds = [5, 30, 120],
                OnAttemptsExceeded = AttemptsExceededAction.Fail,
            });
        });
        services.AddSingleton<IJobDispatcher, HangfireJobDispatcher>();
        return services;
    }

    private static JobStorage CreateQueueStorage(StorageOptions storage, WorkerOptions worker)
    {
        if (storage.UsesPostgres)
        {
            var options = new PostgreSqlStorageOptions
            {
                SchemaName = "hangfire",
                PrepareSchemaIfNecessary = true,
                // LISTEN/NOTIFY wakes a worker as soon as a job is queued; the poll is the fallback.
                EnableLongPolling = true,
                QueuePollInterval = TimeSpan.FromSeconds(1),
                // A training job can run for hours: keep its queue entry invisible for as
                // long as the worker is alive (sliding), not for a fixed span.
                UseSlidingInvisibilityTimeout = true,
                InvisibilityTimeout = worker.InvisibilityTimeout,
            };
            return new PostgreSqlStorage(new NpgsqlConnectionFactory(storage.PostgresConnectionString, options), options);
        }
        var path = Path.GetFullPath(HangfireSqlitePath(storage));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return new SQLiteStorage(path, new SQLiteStorageOptions
        {
            // A job should start within a blink of being queued: a second's wait is ~3 % of
            // a 30-second epoch. Polling a local file this often costs next to nothing.
            QueuePollInterval = TimeSpan.FromMilliseconds(200),
            InvisibilityTimeout = TimeSpan.FromHours(1),
        });
    }

    /// <summary>Hangfire's SQLite file sits beside the embedded job store: <c>trainingservice.db</c> → <c>trainingservice.hangfire.db</c>.</summary>
    public static string HangfireSqlitePath(StorageOptions storage) =>
        Path.ChangeExtension(storage.SqlitePath, ".hangfire.db");
}

/// <summary>
/// Enqueues a stored job for a worker: the Hangfire job names only <see cref="ITrainingJob"/> and the
/// job's id, so whichever process holds an implementation (a worker) runs it.
/// </summary>
public sealed class HangfireJobDispatcher(IBackgroundJobClient client) : IJobDispatcher
{
    public void Dispatch(JobRecord job) =>
        client.Create<ITrainingJob>(runner => runner.RunAsync(job.Id, CancellationToken.None), new Hangfire.States.EnqueuedState(job.Queue));
}
