using System.Diagnostics;
using Npgsql;
using TrainingService.ServiceBench.Scenarios;

namespace TrainingService.ServiceBench.Infrastructure;

/// <summary>
/// The production layout at a given size: the API and <c>workers</c> worker processes (one job at
/// a time each, libtorch on one thread) on a fresh PostgreSQL database, warmed up (each worker has
/// loaded MNIST). Reads job times straight from the database, as the records of what happened.
/// Disposing kills the processes and drops the database.
/// </summary>
internal sealed class WorkerLayout : IAsyncDisposable
{
    private readonly BenchDatabase database;
    private readonly string folder;
    private readonly List<ServiceProcess> processes;

    private WorkerLayout(BenchDatabase database, string folder, List<ServiceProcess> processes, HttpClient http)
    {
        this.database = database;
        this.folder = folder;
        this.processes = processes;
        Http = http;
    }

    public HttpClient Http { get; }

    public static async Task<WorkerLayout> StartAsync(PostgresServer server, BenchOptions options, int workers, CancellationToken cancellationToken)
    {
        var database = await server.CreateDatabaseAsync("scale", cancellationToken);
        var folder = Directory.CreateTempSubdirectory("servicebench-scale-").FullName;
        var processes = new List<ServiceProcess>();
        var checkpoints = Path.Combine(folder, "checkpoints");
        var port = ServiceProcess.FreeLoopbackPort();
        var layout = new WorkerLayout(database, folder, processes, ServiceClient.Create(new Uri($"http://127.0.0.1:{port}"), 32));
        try
        {
            processes.Add(ServiceProcess.Start("API (PostgreSQL)", RepositoryPaths.ApiDll, folder, new Dictionary<string, string>
            {
                ["Storage__PostgresConnectionString"] = database.ConnectionString,
                ["Auth__Enabled"] = "false",
                ["Limits__SubmissionsPerWindow"] = "1000000",
                ["Checkpoints__Root"] = checkpoints,
            }, "--urls", $"http://127.0.0.1:{port}"));
            await ServiceClient.WaitUntilReadyAsync(layout.Http, processes[0], TimeSpan.FromSeconds(120), cancellationToken);
            for (var i = 1; i <= workers; i++)
            {
                processes.Add(ServiceProcess.Start($"worker {i} (PostgreSQL)", RepositoryPaths.WorkerDll, folder, new Dictionary<string, string>
                {
                    ["Storage__PostgresConnectionString"] = database.ConnectionString,
                    ["Worker__Name"] = $"scale-worker-{i}",
                    ["Worker__Concurrency"] = "1",
                    // Four processes share two cores: one libtorch thread each, not two each.
                    ["Worker__Threads"] = "1",
                    ["Mnist__DataDirectory"] = options.DataDirectory,
                    ["Mnist__Download"] = "false",
                    ["Checkpoints__Root"] = checkpoints,
                }));
            }
            await layout.WaitForWorkersAsync(workers, cancellationToken);
            // One job per worker so that each has loaded MNIST and libtorch before anything is timed.
            var tag = $"warm-{Guid.NewGuid():N}"[..20];
            await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => ServiceClient.SubmitAsync(layout.Http, ScaleScenario.TinyJob(tag), cancellationToken)));
            await layout.WaitForTaggedAsync(tag, workers, TimeSpan.FromMinutes(5), cancellationToken);
            return layout;
        }
        catch
        {
            await layout.DisposeAsync();
            throw;
        }
    }

    private async Task WaitForWorkersAsync(int workers, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (await ScalarAsync<long>("SELECT count(*) FROM workers", cancellationToken) < workers)
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(2) || processes.FirstOrDefault(p => p.HasExited) is not null)
                throw new InvalidOperationException($"the workers did not register:\n{string.Join("\n", processes.Select(p => $"--- {p.Name}:\n{p.Tail}"))}");
            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>Waits until <paramref name="count"/> jobs tagged <paramref name="tag"/> have ended; returns their times from the records.</summary>
    public async Task<IReadOnlyList<ScaleScenario.JobTimes>> WaitForTaggedAsync(string tag, int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var tags = $"[\"{tag}\"]";
        while (await ScalarAsync<long>("SELECT count(*) FROM jobs WHERE tags @> @Tags::jsonb AND finished_at IS NOT NULL", cancellationToken, tags) < count)
        {
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"the {tag} jobs did not all end within {timeout.TotalMinutes:F0} min");
            if (processes.FirstOrDefault(p => p.HasExited) is { } dead)
                throw new InvalidOperationException($"{dead.Name} exited:\n{dead.Tail}");
            await Task.Delay(250, cancellationToken);
        }
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            SELECT j.id, j.status, j.created_at, j.started_at, j.finished_at,
                   (SELECT count(*) FROM job_attempts a WHERE a.job_id = j.id),
                   (SELECT count(*) FROM job_epochs e WHERE e.job_id = j.id), coalesce(j.worker, '')
            FROM jobs j WHERE tags @> @Tags::jsonb
            """, connection);
        command.Parameters.AddWithValue("Tags", tags);
        var jobs = new List<ScaleScenario.JobTimes>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            jobs.Add(new ScaleScenario.JobTimes(reader.GetGuid(0), reader.GetString(1),
                reader.GetFieldValue<DateTimeOffset>(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4),
                (int)reader.GetInt64(5), (int)reader.GetInt64(6), reader.GetString(7)));
        }
        return jobs;
    }

    /// <summary>Ends every session of this database that is waiting in LISTEN (the queue's long polling); returns how many.</summary>
    public Task<long> TerminateListenersAsync(CancellationToken cancellationToken) => ScalarAsync<long>("""
        SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'
        """, cancellationToken);

    public Task<long> CountListenersAsync(CancellationToken cancellationToken) => ScalarAsync<long>("""
        SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'
        """, cancellationToken);

    private async Task<T> ScalarAsync<T>(string sql, CancellationToken cancellationToken, string? tags = null)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        if (tags is not null)
            command.Parameters.AddWithValue("Tags", tags);
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        foreach (var process in processes)
            await process.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await database.DisposeAsync();
        QueueOnlyService.TryDelete(folder);
    }
}
