using Dapper;
using System.Text.Json;
using TrainingService.Storage;
using TrainingService.Contracts.Access;
using TrainingService.Contracts.Training;
using TrainingService.Contracts;
using TrainingService.Contracts.Webhooks;

namespace TrainingService.Storage.Tests;

/// <summary>
/// The whole suite of the stores (<see cref="IJobStore"/> and the stores beside it), run against each
/// engine by a subclass that supplies empty databases. Each test (xunit makes an instance per test)
/// gets a fresh, migrated database.
/// </summary>
public abstract partial class JobStoreTests : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>Whole microseconds in UTC: what the stores keep exactly.</summary>
    protected static readonly DateTimeOffset T0 = new(2025, 3, 14, 9, 26, 53, 589, 793, TimeSpan.Zero);

    private readonly List<JobDatabase> _opened = [];
    private string _database = "";
    private Stores _stores = null!;

    protected JobDatabase Database => _stores.Database;
    protected IJobStore Store => _stores.Jobs;
    protected IEpochStore Epochs => _stores.Epochs;
    protected ICheckpointIndex Checkpoints => _stores.Checkpoints;
    protected IJobLogStore Logs => _stores.Logs;
    protected IWorkerRegistry Workers => _stores.Workers;
    protected ISweepStore Sweeps => _stores.Sweeps;
    protected IApiKeyStore Keys => _stores.Keys;
    protected IJobAttemptLog Attempts => _stores.Attempts;

    /// <summary>Every store on one database, as the service composes them (StorageRegistration).</summary>
    protected sealed class Stores(JobDatabase database)
    {
        public JobDatabase Database { get; } = database;
        public IJobStore Jobs { get; } = new SqlJobStore(database);
        public IEpochStore Epochs { get; } = new SqlEpochStore(database);
        public ICheckpointIndex Checkpoints { get; } = new SqlCheckpointIndex(database);
        public IJobLogStore Logs { get; } = new SqlJobLogStore(database);
        public IWorkerRegistry Workers { get; } = new SqlWorkerRegistry(database);
        public ISweepStore Sweeps { get; } = new SqlSweepStore(database);
        public IApiKeyStore Keys { get; } = new SqlApiKeyStore(database);
        public IJobAttemptLog Attempts { get; } = new SqlJobAttemptLog(database);
        public IWebhookSubscriptionStore Subscriptions { get; } = new SqlWebhookSubscriptionStore(database);
        public IWebhookDeliveryStore Deliveries { get; } = new SqlWebhookDeliveryStore(database);
    }

    // ---- What each engine's subclass supplies.

    /// <summary>A new, empty database (not migrated); returns what <see cref="OpenDatabase"/> takes.</summary>
    protected abstract Task<string> CreateDatabaseAsync();

    /// <summary>The stores' database object on a database from <see cref="CreateDatabaseAsync"/>.</summary>
    protected abstract JobDatabase OpenDatabase(string database);

    /// <summary>The engine's name in the migration scripts' file names: <c>postgresql</c> or <c>sqlite</c>.</summary>
    protected abstract string Dialect { get; }

    /// <summary>The first column of every row <paramref name="sql"/> returns, as text, read directly.</summary>
    protected abstract Task<IReadOnlyList<string?>> QueryColumnAsync(string database, string sql);

    /// <summary>The scripts DbUp's journal lists as applied, by name.</summary>
    protected async Task<IReadOnlyList<string?>> AppliedScriptsAsync(string database) =>
        await QueryColumnAsync(database, "SELECT scriptname FROM schema_scripts ORDER BY scriptname");

    /// <summary>A database that cannot be reached.</summary>
    protected abstract JobDatabase OpenUnreachableDatabase();

    /// <summary>Removes the databases this instance created (after every store was disposed).</summary>
    protected abstract Task DropDatabasesAsync();

    public async Task InitializeAsync()
    {
        _database = await CreateDatabaseAsync();
        _stores = Open(_database);
        await Database.MigrateAsync(None);
    }

    public async Task DisposeAsync()
    {
        foreach (var database in _opened)
            await database.DisposeAsync();
        await DropDatabasesAsync();
    }

    /// <summary>The stores on <paramref name="database"/>, closed when the test ends.</summary>
    private Stores Open(string database) => new(Track(OpenDatabase(database)));

    private JobDatabase Track(JobDatabase database)
    {
        _opened.Add(database);
        return database;
    }

    // ---- Helpers.

    /// <summary>
    /// Stores a queued job as the release before schema version 8 did, with only the columns it had:
    /// today's store writes columns an older schema lacks.
    /// </summary>
    private static async Task<Guid> InsertAsOldReleaseAsync(JobDatabase database, JobRecord job)
    {
        await using var connection = await database.OpenConnectionAsync(None);
        await connection.ExecuteAsync($"""
            INSERT INTO jobs (id, kind, architecture, status, tags, hyperparameters, queue, created_at, attempt, cancel_requested)
            VALUES (@Id, 'train', @Architecture, 'queued', {database.Json("@Tags")}, {database.Json("@Hyperparameters")}, 'default', @CreatedAt, 0, FALSE)
            """, new
        {
            Id = database.Id(job.Id),
            job.Architecture,
            Tags = JobStoreJson.Serialize(job.Tags),
            Hyperparameters = JobStoreJson.Serialize(job.Hyperparameters),
            CreatedAt = database.Time(job.CreatedAt),
        });
        return job.Id;
    }

    private static JobRecord NewJob(
        DateTimeOffset? createdAt = null,
        string architecture = "mlp",
        JobKind kind = JobKind.Train,
        JobStatus status = JobStatus.Queued,
        string[]? tags = null,
        string? idempotencyKey = null) => new()
        {
            Id = Guid.NewGuid(),
            Kind = kind,
            Architecture = architecture,
            Status = status,
            Tags = tags ?? [],
            Hyperparameters = new Hyperparameters { Epochs = 4 },
            IdempotencyKey = idempotencyKey,
            CreatedAt = createdAt ?? T0,
        };

    private async Task<JobRecord> CreateAsync(JobRecord job)
    {
        var (stored, created) = await Store.CreateAsync(job, None);
        Assert.True(created);
        return stored;
    }

    /// <summary>A job started at <see cref="T0"/> under a new lease.</summary>
    private async Task<(JobRecord Job, Guid Lease)> CreateRunningAsync()
    {
        var job = await CreateAsync(NewJob());
        var lease = Guid.NewGuid();
        var started = await Store.TryStartAttemptAsync(job.Id, lease, "worker-1", "cpu", T0, T0.AddSeconds(-30), None);
        Assert.NotNull(started);
        return (started, lease);
    }

    private async Task<JobRecord> GetAsync(Guid id) =>
        await Store.GetAsync(id, None) ?? throw new Xunit.Sdk.XunitException($"Job {id} is missing.");

    /// <summary>Every field, compared through the store's own JSON (lists and arrays by content, NaN equal to NaN).</summary>
    private static void AssertSameJob(JobRecord expected, JobRecord actual) =>
        Assert.Equal(JsonSerializer.Serialize(expected, JobStoreJson.Options), JsonSerializer.Serialize(actual, JobStoreJson.Options));

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, JobStoreJson.Options);

    private static EpochMetrics Metrics(int epoch, double seed = 0) =>
        new(epoch, 0.5 - seed, 0.8 + seed / 10, 0.4 - seed, 0.85 + seed / 10, 0.001 * (1 + seed), 12.5 + seed, 4800 + seed);

    private static JobProgress Progress(int epoch, long step) =>
        new(epoch, 4, step, 469, 5000.25, 12.5, 0.3, 0.91, T0.AddSeconds(step));

    private static IReadOnlyList<Guid> NewestFirst(IEnumerable<JobRecord> jobs) =>
        jobs.OrderByDescending(j => j.CreatedAt)
            .ThenByDescending(j => j.Id.ToString("D"), StringComparer.Ordinal)
            .Select(j => j.Id)
            .ToList();

    // ---- Create and get.

    [Fact]
    public async Task Create_then_get_round_trips_every_field()
    {
        var job = new JobRecord
        {
            Id = Guid.NewGuid(),
            Kind = JobKind.Eval,
            Architecture = "resnet",
            Status = JobStatus.Running,
            Name = "nightly \"quoted\" ünïcode ✓",
            Tags = ["baseline", "with space", "quote\"d", "[]"],
            Hyperparameters = new Hyperparameters
            {
                Epochs = 7,
                BatchSize = 64,
                LearningRate = 0.012345678901234567,
                Optimizer = OptimizerKind.AdamW,
                WeightDecay = 1e-4,
                Momentum = 0.8,
                LrSchedule = LearningRateSchedule.Step,
                StepEpochs = 2,
                StepGamma = 0.5,
                Seed = long.MaxValue,
                Device = "cuda:1",
                TrainSubset = 1000,
            },
            Source = new EvalSource(Guid.NewGuid(), "best"),
            IdempotencyKey = "key-round-trip",
            Queue = "gpu",
            CreatedAt = T0,
            StartedAt = T0.AddSeconds(1),
            FinishedAt = T0.AddMinutes(5),
            Attempt = 3,
            LeaseToken = Guid.NewGuid(),
            Worker = "host-a/1234",
            Device = "cuda:0",
            HeartbeatAt = T0.AddSeconds(2),
            CancelRequested = true,
            Progress = new JobProgress(2, 7, 1234, 469, 3210.5, null, double.NaN, double.PositiveInfinity, new DateTimeOffset(2025, 3, 14, 11, 0, 0, TimeSpan.FromHours(2)).AddTicks(1234567)),
            Result = new JobResult(0.9921, 0.031, null, double.NaN, 5, [[970, 10], [3, 1130]], [0.99, double.NaN]),
            Error = new JobError(JobErrorKind.Infrastructure, "disk full: /data"),
        };

        var (stored, created) = await Store.CreateAsync(job, None);

        Assert.True(created);
        AssertSameJob(job, stored);
        AssertSameJob(job, await GetAsync(job.Id));
    }

    [Fact]
    public async Task Create_then_get_round_trips_a_minimal_job()
    {
        var job = NewJob();
        AssertSameJob(job, await CreateAsync(job));
        AssertSameJob(job, await GetAsync(job.Id));
    }

    [Fact]
    public async Task Times_are_kept_in_utc_to_the_microsecond()
    {
        var created = new DateTimeOffset(2025, 3, 14, 15, 0, 0, TimeSpan.FromHours(5.5)).AddTicks(1_234_567);
        var job = await CreateAsync(NewJob(createdAt: created));

        var read = await GetAsync(job.Id);

        Assert.Equal(TimeSpan.Zero, read.CreatedAt.Offset);
        Assert.Equal(StoredTime.Truncate(created).UtcTicks, read.CreatedAt.UtcTicks);
        Assert.Equal(created.UtcTicks - 7, read.CreatedAt.UtcTicks);
    }

    [Fact]
    public async Task Get_of_a_missing_job_is_null()
    {
        Assert.Null(await Store.GetAsync(Guid.NewGuid(), None));
    }

    // ---- Idempotency.

    [Fact]
    public async Task Create_with_a_used_idempotency_key_returns_the_existing_job()
    {
        var first = await CreateAsync(NewJob(idempotencyKey: "same-key"));

        var (again, created) = await Store.CreateAsync(NewJob(architecture: "cnn", idempotencyKey: "same-key") with { CreatedAt = T0.AddSeconds(1) }, None);

        Assert.False(created);
        AssertSameJob(first, again);
        Assert.Single(await Store.ListAsync(new JobQuery(), None));
    }

    [Fact]
    public async Task Jobs_without_an_idempotency_key_never_conflict()
    {
        await CreateAsync(NewJob());
        await CreateAsync(NewJob());
        await CreateAsync(NewJob(idempotencyKey: "a"));
        await CreateAsync(NewJob(idempotencyKey: "b"));

        Assert.Equal(4, (await Store.ListAsync(new JobQuery(), None)).Count);
    }

    [Fact]
    public async Task Concurrent_identical_creates_store_exactly_one_job()
    {
        const int requests = 50;
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = Enumerable.Range(0, requests).Select(i => Task.Run(async () =>
        {
            var job = NewJob(idempotencyKey: "concurrent-key") with { CreatedAt = T0.AddMilliseconds(i) };
            await go.Task;
            return await Store.CreateAsync(job, None);
        })).ToList();
        go.SetResult();
        var results = await Task.WhenAll(pending);

        Assert.Single(results, r => r.Created);
        var id = Assert.Single(results.Select(r => r.Job.Id).Distinct());
        var stored = Assert.Single(await Store.ListAsync(new JobQuery(), None));
        Assert.Equal(id, stored.Id);
    }

    [Fact]
    public async Task A_burst_through_two_stores_stores_each_job_once_and_answers_each_caller_with_its_own()
    {
        // Two stores on one database: two API processes, each committing its burst in batches.
        var stores = new[] { Store, Open(_database).Jobs };
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // 150 distinct jobs, and every tenth one with a key sent once more, through the other store.
        var jobs = Enumerable.Range(0, 150).Select(i => NewJob(createdAt: T0.AddMilliseconds(i), tags: [$"n{i}"],
            idempotencyKey: i % 3 == 0 ? null : $"burst-{i}")).ToList();
        var repeats = jobs.Where(job => job.IdempotencyKey is not null).Where((_, i) => i % 10 == 1)
            .Select(job => job with { Id = Guid.NewGuid() }).ToList();
        var pending = jobs.Concat(repeats).Select((job, i) => Task.Run(async () =>
        {
            await go.Task;
            return (Sent: job, Answer: await stores[i % 2].CreateAsync(job, None));
        })).ToList();
        go.SetResult();
        var results = await Task.WhenAll(pending);

        foreach (var (sent, (job, created)) in results.Where(r => r.Answer.Created))
            AssertSameJob(sent, job);
        Assert.Equal(jobs.Count, results.Count(r => r.Answer.Created));
        // A repeat gets the job its key first made, whichever of the two requests stored it.
        foreach (var (sent, (job, _)) in results.Where(r => r.Sent.IdempotencyKey is not null))
            Assert.Equal(sent.Tags, job.Tags);
        var stored = await Store.ListAsync(new JobQuery(Limit: 1000), None);
        Assert.Equal(jobs.Count, stored.Count);
        Assert.Equal(jobs.Select(j => j.Tags[0]).Order(), stored.Select(j => j.Tags[0]).Order());
    }

    [Fact]
    public async Task A_job_the_database_refuses_fails_alone_while_the_jobs_submitted_with_it_are_stored()
    {
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var jobs = Enumerable.Range(0, 40).Select(i => NewJob(createdAt: T0.AddMilliseconds(i))).ToList();
        // The same id twice: the primary key refuses the second, whichever batch it lands in.
        var clash = NewJob() with { Id = jobs[7].Id };
        var pending = jobs.Append(clash).Select(job => Task.Run(async () =>
        {
            await go.Task;
            return await Store.CreateAsync(job, None);
        })).ToList();
        go.SetResult();
        await Task.WhenAll(pending.Select(task => task.ContinueWith(_ => { }, TaskScheduler.Default)));

        Assert.Equal(1, pending.Count(task => task.IsFaulted));
        Assert.Equal(jobs.Count, pending.Count(task => task.IsCompletedSuccessfully && task.Result.Created));
        var stored = await Store.ListAsync(new JobQuery(Limit: 1000), None);
        Assert.Equal(jobs.Select(j => j.Id).Order(), stored.Select(j => j.Id).Order());
    }

    // ---- Listing.

    [Fact]
    public async Task List_is_newest_first_with_ties_broken_by_id()
    {
        var jobs = new List<JobRecord>();
        for (var i = 0; i < 9; i++)
            jobs.Add(await CreateAsync(NewJob(createdAt: T0.AddSeconds(i % 3))));

        var listed = await Store.ListAsync(new JobQuery(), None);

        Assert.Equal(NewestFirst(jobs), listed.Select(j => j.Id).ToList());
    }

    [Fact]
    public async Task List_filters_by_status_architecture_kind_and_tag()
    {
        var a = await CreateAsync(NewJob(T0.AddSeconds(1), "mlp", JobKind.Train, JobStatus.Queued, ["x", "y"]));
        var b = await CreateAsync(NewJob(T0.AddSeconds(2), "cnn", JobKind.Eval, JobStatus.Running, ["y", "quote\"d"]));
        var c = await CreateAsync(NewJob(T0.AddSeconds(3), "mlp", JobKind.Eval, JobStatus.Succeeded));
        var d = await CreateAsync(NewJob(T0.AddSeconds(4), "cnn", JobKind.Train, JobStatus.Queued, ["xy"]));

        async Task<List<Guid>> Ids(JobQuery query) => (await Store.ListAsync(query, None)).Select(j => j.Id).ToList();

        Assert.Equal([d.Id, c.Id, b.Id, a.Id], await Ids(new JobQuery()));
        Assert.Equal([d.Id, a.Id], await Ids(new JobQuery(Status: JobStatus.Queued)));
        Assert.Equal([c.Id, a.Id], await Ids(new JobQuery(Architecture: "mlp")));
        Assert.Equal([c.Id, b.Id], await Ids(new JobQuery(Kind: JobKind.Eval)));
        Assert.Equal([b.Id, a.Id], await Ids(new JobQuery(Tag: "y")));
        Assert.Equal([b.Id], await Ids(new JobQuery(Tag: "quote\"d")));
        Assert.Equal([a.Id], await Ids(new JobQuery(Tag: "x")));
        Assert.Empty(await Ids(new JobQuery(Tag: "nope")));
        Assert.Equal([d.Id], await Ids(new JobQuery(Status: JobStatus.Queued, Architecture: "cnn", Kind: JobKind.Train)));
        Assert.Empty(await Ids(new JobQuery(Status: JobStatus.Failed)));
        Assert.Equal([d.Id, c.Id], await Ids(new JobQuery(Limit: 2)));
    }

    [Fact]
    public async Task Cursor_paging_visits_every_job_once()
    {
        var jobs = new List<JobRecord>();
        for (var i = 0; i < 23; i++)
        {
            var status = i % 4 == 0 ? JobStatus.Succeeded : JobStatus.Queued;
            jobs.Add(await CreateAsync(NewJob(createdAt: T0.AddSeconds(i / 3), status: status)));
        }

        async Task<List<Guid>> AllPages(JobQuery query)
        {
            var seen = new List<Guid>();
            for (var pages = 0; pages < 100; pages++)
            {
                var page = await Store.ListAsync(query, None);
                seen.AddRange(page.Select(j => j.Id));
                if (page.Count < query.Limit)
                    return seen;
                query = query with { After = new JobCursor(page[^1].CreatedAt, page[^1].Id) };
            }
            throw new Xunit.Sdk.XunitException("Paging did not end.");
        }

        Assert.Equal(NewestFirst(jobs), await AllPages(new JobQuery(Limit: 5)));
        Assert.Equal(NewestFirst(jobs), await AllPages(new JobQuery(Limit: 1)));
        Assert.Equal(NewestFirst(jobs.Where(j => j.Status == JobStatus.Queued)), await AllPages(new JobQuery(Status: JobStatus.Queued, Limit: 4)));
    }

    // ---- Starting attempts.

    [Fact]
    public async Task Starting_a_queued_job_makes_it_running_as_attempt_1()
    {
        var job = await CreateAsync(NewJob());
        var lease = Guid.NewGuid();

        var started = await Store.TryStartAttemptAsync(job.Id, lease, "worker-1", "cuda:0", T0.AddSeconds(5), T0.AddSeconds(-25), None);

        Assert.NotNull(started);
        var expected = job with
        {
            Status = JobStatus.Running,
            Attempt = 1,
            LeaseToken = lease,
            Worker = "worker-1",
            Device = "cuda:0",
            StartedAt = T0.AddSeconds(5),
            HeartbeatAt = T0.AddSeconds(5),
        };
        AssertSameJob(expected, started);
        AssertSameJob(expected, await GetAsync(job.Id));
    }

    [Fact]
    public async Task A_job_under_a_live_lease_does_not_start_again()
    {
        var (running, _) = await CreateRunningAsync();

        var second = await Store.TryStartAttemptAsync(running.Id, Guid.NewGuid(), "worker-2", "cpu", T0.AddSeconds(10), T0.AddSeconds(-20), None);

        Assert.Null(second);
        AssertSameJob(running, await GetAsync(running.Id));
    }

    [Fact]
    public async Task A_job_with_a_stale_heartbeat_starts_as_attempt_2_under_a_new_lease()
    {
        var (running, oldLease) = await CreateRunningAsync();
        Assert.True(await Store.UpdateProgressAsync(running.Id, oldLease, Progress(1, 100), T0.AddSeconds(2), None));
        var newLease = Guid.NewGuid();

        var taken = await Store.TryStartAttemptAsync(running.Id, newLease, "worker-2", "cuda:1", T0.AddSeconds(60), T0.AddSeconds(30), None);

        Assert.NotNull(taken);
        Assert.Equal(JobStatus.Running, taken.Status);
        Assert.Equal(2, taken.Attempt);
        Assert.Equal(newLease, taken.LeaseToken);
        Assert.Equal("worker-2", taken.Worker);
        Assert.Equal("cuda:1", taken.Device);
        Assert.Equal(T0, taken.StartedAt); // the first start
        Assert.Equal(T0.AddSeconds(60), taken.HeartbeatAt);
        Assert.Equal(Json(Progress(1, 100)), Json(taken.Progress)); // kept until the new attempt reports
    }

    [Fact]
    public async Task A_heartbeat_exactly_at_the_staleness_limit_is_still_live()
    {
        var (running, _) = await CreateRunningAsync();

        Assert.Null(await Store.TryStartAttemptAsync(running.Id, Guid.NewGuid(), "worker-2", "cpu", T0.AddSeconds(30), T0, None));
    }

    [Fact]
    public async Task A_running_job_without_a_heartbeat_and_an_interrupted_job_start()
    {
        var noHeartbeat = await CreateAsync(NewJob(status: JobStatus.Running) with { Attempt = 1 });
        var interrupted = await CreateAsync(NewJob(status: JobStatus.Interrupted) with { Attempt = 1, StartedAt = T0.AddSeconds(-100) });

        var a = await Store.TryStartAttemptAsync(noHeartbeat.Id, Guid.NewGuid(), "w", "cpu", T0, T0.AddSeconds(-30), None);
        var b = await Store.TryStartAttemptAsync(interrupted.Id, Guid.NewGuid(), "w", "cpu", T0, T0.AddSeconds(-30), None);

        Assert.Equal(2, a?.Attempt);
        Assert.Equal(JobStatus.Running, b?.Status);
        Assert.Equal(2, b?.Attempt);
        Assert.Equal(T0.AddSeconds(-100), b?.StartedAt);
    }

    [Fact]
    public async Task Terminal_cancelling_cancel_requested_and_missing_jobs_do_not_start()
    {
        var statuses = new[] { JobStatus.Succeeded, JobStatus.Failed, JobStatus.Cancelled, JobStatus.Cancelling };
        var jobs = new List<JobRecord>();
        foreach (var status in statuses)
            jobs.Add(await CreateAsync(NewJob(status: status) with { HeartbeatAt = T0.AddHours(-1) }));
        jobs.Add(await CreateAsync(NewJob() with { CancelRequested = true }));

        foreach (var job in jobs)
        {
            Assert.Null(await Store.TryStartAttemptAsync(job.Id, Guid.NewGuid(), "w", "cpu", T0, T0.AddSeconds(-30), None));
            AssertSameJob(job, await GetAsync(job.Id));
        }
        Assert.Null(await Store.TryStartAttemptAsync(Guid.NewGuid(), Guid.NewGuid(), "w", "cpu", T0, T0.AddSeconds(-30), None));
    }

    // ---- Worker writes and fencing.

    [Fact]
    public async Task Progress_and_heartbeat_apply_under_the_current_lease()
    {
        var (running, lease) = await CreateRunningAsync();

        Assert.True(await Store.UpdateProgressAsync(running.Id, lease, Progress(1, 200), T0.AddSeconds(3), None));
        var afterProgress = await GetAsync(running.Id);
        Assert.True(await Store.HeartbeatAsync(running.Id, lease, T0.AddSeconds(7), None));
        var afterHeartbeat = await GetAsync(running.Id);

        Assert.Equal(Json(Progress(1, 200)), Json(afterProgress.Progress));
        Assert.Equal(T0.AddSeconds(3), afterProgress.HeartbeatAt);
        Assert.Equal(Json(Progress(1, 200)), Json(afterHeartbeat.Progress));
        Assert.Equal(T0.AddSeconds(7), afterHeartbeat.HeartbeatAt);
    }

    [Fact]
    public async Task Writes_under_an_old_lease_are_refused_and_change_nothing()
    {
        var (running, oldLease) = await CreateRunningAsync();
        Assert.Equal(EpochWrite.Recorded, await Epochs.RecordEpochAsync(running.Id, oldLease, Metrics(1), Trained, T0.AddSeconds(1), None));
        Assert.True(await Checkpoints.RecordCheckpointAsync(running.Id, oldLease, new CheckpointRecord(running.Id, 1, 100, "aa", Metrics(1), T0.AddSeconds(1)), None));
        var newLease = Guid.NewGuid();
        Assert.NotNull(await Store.TryStartAttemptAsync(running.Id, newLease, "worker-2", "cpu", T0.AddSeconds(60), T0.AddSeconds(30), None));
        var job = await GetAsync(running.Id);
        var epochs = await Epochs.GetEpochsAsync(running.Id, 0, None);
        var checkpoints = await Checkpoints.GetCheckpointsAsync(running.Id, None);

        Assert.False(await Store.UpdateProgressAsync(running.Id, oldLease, Progress(2, 900), T0.AddSeconds(61), None));
        Assert.False(await Store.HeartbeatAsync(running.Id, oldLease, T0.AddSeconds(61), None));
        Assert.Equal(EpochWrite.LeaseLost, await Epochs.RecordEpochAsync(running.Id, oldLease, Metrics(1, 0.3), Trained, T0.AddSeconds(61), None));
        Assert.Equal(EpochWrite.LeaseLost, await Epochs.RecordEpochAsync(running.Id, oldLease, Metrics(2), Trained, T0.AddSeconds(61), None));
        Assert.False(await Checkpoints.RecordCheckpointAsync(running.Id, oldLease, new CheckpointRecord(running.Id, 1, 999, "bb", null, T0.AddSeconds(61)), None));
        Assert.False(await Checkpoints.RecordCheckpointAsync(running.Id, oldLease, new CheckpointRecord(running.Id, 2, 999, "bb", null, T0.AddSeconds(61)), None));
        Assert.False(await Store.FinishAttemptAsync(running.Id, oldLease, JobStatus.Succeeded, TerminationReason.Succeeded, new JobResult(1, 0, null, null, null, null, null), null, T0.AddSeconds(61), None));
        Assert.False(await Store.FinishAttemptAsync(running.Id, oldLease, JobStatus.Queued, TerminationReason.ShutdownHandback, null, null, T0.AddSeconds(61), None));

        AssertSameJob(job, await GetAsync(running.Id));
        Assert.Equal(epochs, await Epochs.GetEpochsAsync(running.Id, 0, None));
        Assert.Equal(checkpoints, await Checkpoints.GetCheckpointsAsync(running.Id, None));

        // The new lease's writes apply.
        Assert.True(await Store.HeartbeatAsync(running.Id, newLease, T0.AddSeconds(62), None));
        Assert.Equal(EpochWrite.Recorded, await Epochs.RecordEpochAsync(running.Id, newLease, Metrics(2), Trained, T0.AddSeconds(62), None));
    }

    [Fact]
    public async Task Writes_for_a_missing_job_or_a_job_never_started_are_refused()
    {
        var queued = await CreateAsync(NewJob());
        foreach (var id in new[] { queued.Id, Guid.NewGuid() })
        {
            var lease = Guid.NewGuid();
            Assert.False(await Store.UpdateProgressAsync(id, lease, Progress(1, 1), T0, None));
            Assert.False(await Store.HeartbeatAsync(id, lease, T0, None));
            Assert.Equal(EpochWrite.LeaseLost, await Epochs.RecordEpochAsync(id, lease, Metrics(1), Trained, T0, None));
            Assert.False(await Checkpoints.RecordCheckpointAsync(id, lease, new CheckpointRecord(id, 1, 1, "x", null, T0), None));
            Assert.False(await Store.FinishAttemptAsync(id, lease, JobStatus.Failed, TerminationReason.UserError, null, new JobError(JobErrorKind.User, "x"), T0, None));
        }
        AssertSameJob(queued, await GetAsync(queued.Id));
        Assert.Empty(await Epochs.GetEpochsAsync(queued.Id, 0, None));
        Assert.Empty(await Checkpoints.GetCheckpointsAsync(queued.Id, None));
    }

    // ---- Epochs and checkpoints.

    [Fact]
    public async Task Recording_an_epoch_again_changes_nothing()
    {
        var (running, lease) = await CreateRunningAsync();

        Assert.Equal(EpochWrite.Recorded, await Epochs.RecordEpochAsync(running.Id, lease, Metrics(1), Trained, T0.AddSeconds(1), None));
        Assert.Equal(EpochWrite.Recorded, await Epochs.RecordEpochAsync(running.Id, lease, Metrics(2), Trained, T0.AddSeconds(2), None));
        // The same attempt's write again (its acknowledgement lost): the record stays as first written.
        Assert.Equal(EpochWrite.AlreadyRecorded, await Epochs.RecordEpochAsync(running.Id, lease, Metrics(2), Trained, T0.AddSeconds(2), None));

        Assert.Equal(
            [new EpochRecord(running.Id, Metrics(1), T0.AddSeconds(1)) { Training = Trained }, new EpochRecord(running.Id, Metrics(2), T0.AddSeconds(2)) { Training = Trained }],
            await Epochs.GetEpochsAsync(running.Id, 0, None));
    }

    [Fact]
    public async Task Epochs_are_read_after_a_given_epoch_in_order()
    {
        var (running, lease) = await CreateRunningAsync();
        foreach (var epoch in new[] { 3, 1, 4, 2 })
            Assert.Equal(EpochWrite.Recorded, await Epochs.RecordEpochAsync(running.Id, lease, Metrics(epoch), Trained, T0.AddSeconds(epoch), None));
        var (other, otherLease) = await CreateRunningAsync();
        Assert.Equal(EpochWrite.Recorded, await Epochs.RecordEpochAsync(other.Id, otherLease, Metrics(1), Trained, T0, None));

        Assert.Equal([1, 2, 3, 4], (await Epochs.GetEpochsAsync(running.Id, 0, None)).Select(e => e.Metrics.Epoch));
        Assert.Equal([3, 4], (await Epochs.GetEpochsAsync(running.Id, 2, None)).Select(e => e.Metrics.Epoch));
        Assert.Empty(await Epochs.GetEpochsAsync(running.Id, 4, None));
        Assert.Empty(await Epochs.GetEpochsAsync(Guid.NewGuid(), 0, None));
    }

    [Fact]
    public async Task Epoch_metrics_keep_nan_and_infinities()
    {
        var (running, lease) = await CreateRunningAsync();
        var diverged = new EpochMetrics(1, double.NaN, 0.1, double.PositiveInfinity, 0.1, double.NegativeInfinity, 3.5, double.NaN);

        Assert.Equal(EpochWrite.Recorded, await Epochs.RecordEpochAsync(running.Id, lease, diverged, Trained, T0, None));

        var epoch = Assert.Single(await Epochs.GetEpochsAsync(running.Id, 0, None));
        Assert.True(double.IsNaN(epoch.Metrics.TrainLoss));
        Assert.True(double.IsPositiveInfinity(epoch.Metrics.TestLoss));
        Assert.True(double.IsNegativeInfinity(epoch.Metrics.LearningRate));
        Assert.Equal(diverged, epoch.Metrics);
    }

    [Fact]
    public async Task Checkpoints_are_recorded_replaced_and_listed_by_epoch()
    {
        var (running, lease) = await CreateRunningAsync();
        var second = new CheckpointRecord(running.Id, 2, 1_234_567_890_123, new string('b', 64), Metrics(2) with { TestLoss = double.NaN }, T0.AddSeconds(2));
        var first = new CheckpointRecord(running.Id, 1, 1000, new string('a', 64), null, T0.AddSeconds(1));
        var firstAgain = first with { SizeBytes = 2000, Sha256 = new string('c', 64), Metrics = Metrics(1), CreatedAt = T0.AddSeconds(3) };

        Assert.True(await Checkpoints.RecordCheckpointAsync(running.Id, lease, second, None));
        Assert.True(await Checkpoints.RecordCheckpointAsync(running.Id, lease, first, None));
        Assert.Equal([first, second], await Checkpoints.GetCheckpointsAsync(running.Id, None));

        Assert.True(await Checkpoints.RecordCheckpointAsync(running.Id, lease, firstAgain, None));
        Assert.Equal([firstAgain, second], await Checkpoints.GetCheckpointsAsync(running.Id, None));
        Assert.Empty(await Checkpoints.GetCheckpointsAsync(Guid.NewGuid(), None));
    }

    [Fact]
    public async Task A_checkpoint_of_another_job_is_refused()
    {
        var (running, lease) = await CreateRunningAsync();

        await Assert.ThrowsAsync<ArgumentException>(() =>
            Checkpoints.RecordCheckpointAsync(running.Id, lease, new CheckpointRecord(Guid.NewGuid(), 1, 1, "x", null, T0), None));
    }

    // ---- Finishing attempts.

    [Fact]
    public async Task Finishing_succeeded_stores_the_result_and_ends_the_lease()
    {
        var (running, lease) = await CreateRunningAsync();
        var result = new JobResult(0.99, 0.03, 0.991, 0.029, 3, [[1, 2], [3, 4]], [0.5, double.NaN]);

        Assert.True(await Store.FinishAttemptAsync(running.Id, lease, JobStatus.Succeeded, TerminationReason.Succeeded, result, null, T0.AddMinutes(2), None));

        AssertSameJob(running with
        {
            Status = JobStatus.Succeeded,
            FinishedAt = T0.AddMinutes(2),
            LeaseToken = null,
            Result = result,
            TerminationReason = TerminationReason.Succeeded,
        }, await GetAsync(running.Id));
        Assert.False(await Store.HeartbeatAsync(running.Id, lease, T0.AddMinutes(3), None));
    }

    [Fact]
    public async Task Finishing_failed_stores_the_error()
    {
        var (running, lease) = await CreateRunningAsync();
        var error = new JobError(JobErrorKind.User, "loss diverged (NaN) at epoch 2");

        Assert.True(await Store.FinishAttemptAsync(running.Id, lease, JobStatus.Failed, TerminationReason.UserError, null, error, T0.AddMinutes(2), None));

        AssertSameJob(running with { Status = JobStatus.Failed, FinishedAt = T0.AddMinutes(2), LeaseToken = null, Error = error, TerminationReason = TerminationReason.UserError }, await GetAsync(running.Id));
    }

    [Fact]
    public async Task Finishing_a_cancelling_job_cancelled_keeps_cancel_requested()
    {
        var (running, lease) = await CreateRunningAsync();
        Assert.Equal(CancelOutcome.CancellationRequested, await Store.RequestCancelAsync(running.Id, T0.AddSeconds(5), None));
        // A cancelling job's worker still holds the lease until it stops.
        Assert.True(await Store.UpdateProgressAsync(running.Id, lease, Progress(1, 5), T0.AddSeconds(6), None));

        Assert.True(await Store.FinishAttemptAsync(running.Id, lease, JobStatus.Cancelled, TerminationReason.Cancelled, null, null, T0.AddSeconds(7), None));

        var job = await GetAsync(running.Id);
        Assert.Equal(JobStatus.Cancelled, job.Status);
        Assert.True(job.CancelRequested);
        Assert.Equal(T0.AddSeconds(7), job.FinishedAt);
        Assert.Null(job.LeaseToken);
        Assert.Equal("worker-1", job.Worker);
    }

    [Fact]
    public async Task Finishing_queued_releases_the_job_for_another_attempt()
    {
        var (running, lease) = await CreateRunningAsync();
        var error = new JobError(JobErrorKind.Infrastructure, "worker shutting down");

        Assert.True(await Store.FinishAttemptAsync(running.Id, lease, JobStatus.Queued, TerminationReason.ShutdownHandback, null, error, T0.AddSeconds(9), None));

        var queued = await GetAsync(running.Id);
        AssertSameJob(running with { Status = JobStatus.Queued, LeaseToken = null, Worker = null, Device = null, Error = error }, queued);
        Assert.Null(queued.FinishedAt);
        var restarted = await Store.TryStartAttemptAsync(running.Id, Guid.NewGuid(), "worker-2", "cpu", T0.AddSeconds(10), T0.AddSeconds(-20), None);
        Assert.Equal(2, restarted?.Attempt);
        Assert.Equal(T0, restarted?.StartedAt);
    }

    [Fact]
    public async Task Finishing_interrupted_releases_the_job_like_queued()
    {
        var (running, lease) = await CreateRunningAsync();

        Assert.True(await Store.FinishAttemptAsync(running.Id, lease, JobStatus.Interrupted, TerminationReason.ShutdownHandback, null, null, T0.AddSeconds(9), None));

        AssertSameJob(running with { Status = JobStatus.Interrupted, LeaseToken = null, Worker = null, Device = null }, await GetAsync(running.Id));
        Assert.Equal(2, (await Store.TryStartAttemptAsync(running.Id, Guid.NewGuid(), "worker-2", "cpu", T0.AddSeconds(10), T0.AddSeconds(-20), None))?.Attempt);
    }

    [Fact]
    public async Task Finishing_queued_after_a_cancel_request_cancels_the_job()
    {
        var (running, lease) = await CreateRunningAsync();
        Assert.Equal(CancelOutcome.CancellationRequested, await Store.RequestCancelAsync(running.Id, T0.AddSeconds(1), None));

        Assert.True(await Store.FinishAttemptAsync(running.Id, lease, JobStatus.Queued, TerminationReason.ShutdownHandback, null, null, T0.AddSeconds(2), None));

        var job = await GetAsync(running.Id);
        Assert.Equal(JobStatus.Cancelled, job.Status);
        Assert.Equal(T0.AddSeconds(2), job.FinishedAt);
        Assert.Null(job.LeaseToken);
    }

    [Fact]
    public async Task An_attempt_cannot_end_running_or_cancelling()
    {
        var (running, lease) = await CreateRunningAsync();

        foreach (var status in new[] { JobStatus.Running, JobStatus.Cancelling })
        {
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
                Store.FinishAttemptAsync(running.Id, lease, status, TerminationReason.UserError, null, null, T0, None));
        }
        AssertSameJob(running, await GetAsync(running.Id));
    }

    // ---- Dispatch outbox.

    [Fact]
    public async Task A_new_job_is_undispatched_until_marked_and_only_queued_old_enough_jobs_are_listed()
    {
        var older = await CreateAsync(NewJob(createdAt: T0));
        var newer = await CreateAsync(NewJob(createdAt: T0.AddSeconds(10)));
        var cancelled = await CreateAsync(NewJob(createdAt: T0.AddSeconds(1)));
        Assert.Equal(CancelOutcome.CancelledBeforeStart, await Store.RequestCancelAsync(cancelled.Id, T0.AddSeconds(2), None));

        // Oldest first; the cancelled job needs no queue, and the newer one is inside the grace period.
        Assert.Equal([older.Id], (await Store.ListUndispatchedAsync(T0.AddSeconds(5), 10, None)).Select(j => j.Id));
        Assert.Equal([older.Id, newer.Id], (await Store.ListUndispatchedAsync(T0.AddSeconds(11), 10, None)).Select(j => j.Id));
        Assert.Equal([older.Id], (await Store.ListUndispatchedAsync(T0.AddSeconds(11), 1, None)).Select(j => j.Id));

        await Store.MarkDispatchedAsync(older.Id, T0.AddSeconds(12), None);
        await Store.MarkDispatchedAsync(older.Id, T0.AddSeconds(13), None); // again: harmless

        Assert.Equal([newer.Id], (await Store.ListUndispatchedAsync(T0.AddSeconds(20), 10, None)).Select(j => j.Id));
        AssertSameJob(older, await GetAsync(older.Id));
    }

    [Fact]
    public async Task A_started_job_is_not_listed_undispatched()
    {
        var job = await CreateAsync(NewJob());
        Assert.NotNull(await Store.TryStartAttemptAsync(job.Id, Guid.NewGuid(), "w", "cpu", T0.AddSeconds(1), T0, None));

        Assert.Empty(await Store.ListUndispatchedAsync(T0.AddSeconds(5), 10, None));
    }

    // ---- Sweeps.

    private static SweepRecord NewSweep(DateTimeOffset createdAt, int maxConcurrent = 2)
    {
        var grid = new[]
        {
            new SweepAxis("batchSize", [JsonSerializer.SerializeToElement(32), JsonSerializer.SerializeToElement(256)]),
            new SweepAxis("seed", [JsonSerializer.SerializeToElement(1), JsonSerializer.SerializeToElement(2)]),
        };
        var points = (from b in grid[0].Values from seed in grid[1].Values
                      select (IReadOnlyDictionary<string, JsonElement>)new Dictionary<string, JsonElement> { ["batchSize"] = b, ["seed"] = seed }).ToList();
        return new SweepRecord
        {
            Id = Guid.NewGuid(),
            Name = "batch size × seed",
            Tags = ["study"],
            BaseJob = JsonSerializer.SerializeToElement(new { kind = "train", architecture = "convnet", hyperparameters = new { epochs = 2 } }),
            Grid = grid,
            Points = points,
            MaxConcurrent = maxConcurrent,
            CreatedAt = createdAt,
        };
    }

    [Fact]
    public async Task A_sweep_round_trips_with_its_grid_in_order()
    {
        var sweep = NewSweep(T0);
        await Sweeps.CreateSweepAsync(sweep, None);

        var stored = await Sweeps.GetSweepAsync(sweep.Id, None);

        Assert.NotNull(stored);
        Assert.Equal(sweep.Name, stored.Name);
        Assert.Equal(["study"], stored.Tags);
        Assert.Equal(["batchSize", "seed"], stored.Grid.Select(a => a.Name));
        Assert.Equal([32, 256], stored.Grid[0].Values.Select(v => v.GetInt32()));
        Assert.Equal(4, stored.Points.Count);
        Assert.Equal([(32, 1), (32, 2), (256, 1), (256, 2)], stored.Points.Select(p => (p["batchSize"].GetInt32(), p["seed"].GetInt32())));
        Assert.Equal("convnet", stored.BaseJob.GetProperty("architecture").GetString());
        Assert.Equal(2, stored.MaxConcurrent);
        Assert.Equal(T0, stored.CreatedAt);
        Assert.False(stored.CancelRequested);
        Assert.Null(await Sweeps.GetSweepAsync(Guid.NewGuid(), None));
    }

    [Fact]
    public async Task A_sweep_stays_open_until_every_point_has_a_job_that_ended_and_a_point_takes_one_job()
    {
        var sweep = NewSweep(T0);
        var other = NewSweep(T0.AddSeconds(1));
        await Sweeps.CreateSweepAsync(sweep, None);
        await Sweeps.CreateSweepAsync(other, None);
        Assert.Equal([other.Id, sweep.Id], (await Sweeps.ListSweepsAsync(new SweepQuery(Limit: 10), None)).Select(s => s.Id));

        var jobs = new List<JobRecord>();
        for (var point = 0; point < 4; point++)
        {
            Assert.Contains(sweep.Id, (await Sweeps.ListOpenSweepsAsync(None)).Select(s => s.Id));
            var job = await CreateAsync(NewJob(createdAt: T0.AddSeconds(point)));
            Assert.True(await Sweeps.AddSweepJobAsync(sweep.Id, point, job.Id, None));
            jobs.Add(job);
        }
        var spare = await CreateAsync(NewJob());
        Assert.False(await Sweeps.AddSweepJobAsync(sweep.Id, 2, spare.Id, None)); // point 2 has its job

        var linked = await Sweeps.GetSweepJobsAsync(sweep.Id, None);
        Assert.Equal([0, 1, 2, 3], linked.Select(j => j.Point));
        Assert.Equal(jobs.Select(j => j.Id), linked.Select(j => j.Job.Id));
        AssertSameJob(jobs[1], linked[1].Job);
        Assert.Empty(await Sweeps.GetSweepJobsAsync(other.Id, None));

        // Every point has a job, but its jobs have not ended: early stopping may still have trials to judge.
        Assert.Contains(sweep.Id, (await Sweeps.ListOpenSweepsAsync(None)).Select(s => s.Id));
        foreach (var job in jobs)
            await Store.RequestCancelAsync(job.Id, T0.AddSeconds(10), None);
        Assert.Equal([other.Id], (await Sweeps.ListOpenSweepsAsync(None)).Select(s => s.Id));
    }

    [Fact]
    public async Task A_cancelled_sweep_is_no_longer_open_and_is_cancelled_once()
    {
        var sweep = NewSweep(T0);
        await Sweeps.CreateSweepAsync(sweep, None);

        Assert.True(await Sweeps.RequestSweepCancelAsync(sweep.Id, T0.AddSeconds(5), None));
        Assert.False(await Sweeps.RequestSweepCancelAsync(sweep.Id, T0.AddSeconds(6), None));
        Assert.False(await Sweeps.RequestSweepCancelAsync(Guid.NewGuid(), T0, None));

        Assert.Empty(await Sweeps.ListOpenSweepsAsync(None));
        var stored = await Sweeps.GetSweepAsync(sweep.Id, None);
        Assert.True(stored!.CancelRequested);
        Assert.Equal(T0.AddSeconds(5), stored.CancelledAt);
    }

    // ---- Cancellation.

    [Fact]
    public async Task Cancelling_answers_by_status()
    {
        var queued = await CreateAsync(NewJob());
        var interrupted = await CreateAsync(NewJob(status: JobStatus.Interrupted));
        var (running, _) = await CreateRunningAsync();
        var finished = new List<JobRecord>();
        foreach (var status in new[] { JobStatus.Succeeded, JobStatus.Failed, JobStatus.Cancelled })
            finished.Add(await CreateAsync(NewJob(status: status) with { FinishedAt = T0 }));
        var now = T0.AddSeconds(30);

        Assert.Equal(CancelOutcome.NotFound, await Store.RequestCancelAsync(Guid.NewGuid(), now, None));

        Assert.Equal(CancelOutcome.CancelledBeforeStart, await Store.RequestCancelAsync(queued.Id, now, None));
        AssertSameJob(queued with { Status = JobStatus.Cancelled, CancelRequested = true, FinishedAt = now, TerminationReason = TerminationReason.Cancelled }, await GetAsync(queued.Id));
        Assert.Equal(CancelOutcome.CancelledBeforeStart, await Store.RequestCancelAsync(interrupted.Id, now, None));
        AssertSameJob(interrupted with { Status = JobStatus.Cancelled, CancelRequested = true, FinishedAt = now, TerminationReason = TerminationReason.Cancelled }, await GetAsync(interrupted.Id));

        Assert.Equal(CancelOutcome.CancellationRequested, await Store.RequestCancelAsync(running.Id, now, None));
        var cancelling = await GetAsync(running.Id);
        AssertSameJob(running with { Status = JobStatus.Cancelling, CancelRequested = true }, cancelling);
        Assert.Equal(CancelOutcome.AlreadyCancelling, await Store.RequestCancelAsync(running.Id, now.AddSeconds(1), None));
        AssertSameJob(cancelling, await GetAsync(running.Id));

        Assert.Equal(CancelOutcome.AlreadyFinished, await Store.RequestCancelAsync(queued.Id, now.AddSeconds(1), None));
        foreach (var job in finished)
        {
            Assert.Equal(CancelOutcome.AlreadyFinished, await Store.RequestCancelAsync(job.Id, now, None));
            AssertSameJob(job, await GetAsync(job.Id));
        }
    }

    // ---- Logs.

    [Fact]
    public async Task Logs_are_appended_in_order_and_paged_by_sequence()
    {
        var a = Guid.NewGuid();
        var b = Guid.NewGuid();
        JobLogRecord Log(Guid job, int i, string? properties = null) =>
            new(999, job, T0.AddMilliseconds(i), i % 2 == 0 ? "Information" : "Warning", $"message {i} ünïcode \"q\"", properties);

        await Logs.AppendLogsAsync([Log(a, 0, """{"epoch":1,"loss":0.5}"""), Log(b, 1), Log(a, 2), Log(a, 3)], None);
        await Logs.AppendLogsAsync([], None);
        await Logs.AppendLogsAsync([Log(a, 4), Log(a, 5, "{ \"kept\" : \"as written\" }")], None);

        var all = await Logs.GetLogsAsync(a, 0, 100, None);
        Assert.Equal(["message 0 ünïcode \"q\"", "message 2 ünïcode \"q\"", "message 3 ünïcode \"q\"", "message 4 ünïcode \"q\"", "message 5 ünïcode \"q\""], all.Select(l => l.Message));
        Assert.True(all.Zip(all.Skip(1)).All(p => p.First.Sequence < p.Second.Sequence));
        Assert.Equal(Log(a, 0, """{"epoch":1,"loss":0.5}""") with { Sequence = all[0].Sequence }, all[0]);
        Assert.Equal(Log(a, 5, "{ \"kept\" : \"as written\" }") with { Sequence = all[4].Sequence }, all[4]);

        var firstPage = await Logs.GetLogsAsync(a, 0, 2, None);
        var secondPage = await Logs.GetLogsAsync(a, firstPage[^1].Sequence, 2, None);
        var thirdPage = await Logs.GetLogsAsync(a, secondPage[^1].Sequence, 2, None);
        Assert.Equal(all, firstPage.Concat(secondPage).Concat(thirdPage));
        Assert.Single(thirdPage);
        Assert.Empty(await Logs.GetLogsAsync(a, all[^1].Sequence, 10, None));

        var other = Assert.Single(await Logs.GetLogsAsync(b, 0, 100, None));
        Assert.Equal(b, other.JobId);
    }

    [Fact]
    public async Task Concurrent_log_appends_all_land_with_distinct_increasing_sequences()
    {
        var job = Guid.NewGuid();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
        {
            for (var batch = 0; batch < 10; batch++)
            {
                var logs = Enumerable.Range(0, 5)
                    .Select(i => new JobLogRecord(0, job, T0, "Information", $"{writer}/{batch}/{i}", null))
                    .ToList();
                await Logs.AppendLogsAsync(logs, None);
            }
        })));

        var logs = await Logs.GetLogsAsync(job, 0, 1000, None);
        Assert.Equal(400, logs.Count);
        Assert.Equal(400, logs.Select(l => l.Message).Distinct().Count());
        Assert.True(logs.Zip(logs.Skip(1)).All(p => p.First.Sequence < p.Second.Sequence));
        // A batch's events stay in their order.
        foreach (var writer in Enumerable.Range(0, 8))
        {
            var own = logs.Where(l => l.Message.StartsWith($"{writer}/", StringComparison.Ordinal)).Select(l => l.Message).ToList();
            Assert.Equal(Enumerable.Range(0, 50).Select(n => $"{writer}/{n / 5}/{n % 5}"), own);
        }
    }

    // ---- Workers.

    [Fact]
    public async Task Workers_are_upserted_listed_by_heartbeat_and_removed()
    {
        var alive = new WorkerRecord("worker-a", "host-a", ["cpu", "default"], "cpu", null, T0.AddHours(-1), T0);
        var stale = new WorkerRecord("worker-b", "host-b", ["gpu"], "cuda:0", Guid.NewGuid(), T0.AddHours(-2), T0.AddMinutes(-5));
        await Workers.UpsertWorkerAsync(alive, None);
        await Workers.UpsertWorkerAsync(stale, None);

        Assert.Equal(Json(new[] { alive }), Json(await Workers.ListWorkersAsync(T0.AddMinutes(-1), None)));
        Assert.Equal(Json(new[] { alive }), Json(await Workers.ListWorkersAsync(T0, None)));
        Assert.Empty(await Workers.ListWorkersAsync(T0.AddTicks(10), None));

        var revived = stale with { Host = "host-b2", Queues = ["gpu", "cpu"], RunningJobId = null, LastHeartbeat = T0.AddSeconds(1) };
        await Workers.UpsertWorkerAsync(revived, None);
        Assert.Equal(Json(new[] { alive, revived }), Json(await Workers.ListWorkersAsync(T0.AddMinutes(-1), None)));

        await Workers.RemoveWorkerAsync("worker-a", None);
        await Workers.RemoveWorkerAsync("no-such-worker", None);
        Assert.Equal(Json(new[] { revived }), Json(await Workers.ListWorkersAsync(T0.AddHours(-3), None)));
    }

    // ---- Concurrency of worker writes.

    [Fact]
    public async Task Concurrent_worker_writes_on_several_jobs_all_apply()
    {
        var running = new List<(JobRecord Job, Guid Lease)>();
        for (var i = 0; i < 6; i++)
            running.Add(await CreateRunningAsync());

        var results = await Task.WhenAll(running.Select(r => Task.Run(async () =>
        {
            var applied = new List<bool>();
            for (var epoch = 1; epoch <= 15; epoch++)
            {
                applied.Add(await Store.UpdateProgressAsync(r.Job.Id, r.Lease, Progress(epoch, epoch * 10), T0.AddSeconds(epoch), None));
                applied.Add(await Store.HeartbeatAsync(r.Job.Id, r.Lease, T0.AddSeconds(epoch), None));
                applied.Add(await Epochs.RecordEpochAsync(r.Job.Id, r.Lease, Metrics(epoch), Trained, T0.AddSeconds(epoch), None) == EpochWrite.Recorded);
            }
            return applied;
        })));

        Assert.DoesNotContain(false, results.SelectMany(r => r));
        foreach (var (job, _) in running)
        {
            Assert.Equal(15, (await Epochs.GetEpochsAsync(job.Id, 0, None)).Count);
            Assert.Equal(T0.AddSeconds(15), (await GetAsync(job.Id)).HeartbeatAt);
        }
    }

    // ---- Schema and health.

    [Fact]
    public async Task Migrating_again_is_harmless()
    {
        var job = await CreateAsync(NewJob());
        var applied = await AppliedScriptsAsync(_database);

        await Database.MigrateAsync(None);
        await Database.MigrateAsync(None);

        AssertSameJob(job, await GetAsync(job.Id));
        Assert.NotEmpty(applied);
        Assert.Equal(applied, await AppliedScriptsAsync(_database));
    }

    [Fact]
    public async Task Concurrent_migrations_of_a_new_database_apply_once()
    {
        var database = await CreateDatabaseAsync();
        var stores = Enumerable.Range(0, 3).Select(_ => Open(database)).ToList();

        await Task.WhenAll(stores.Select(s => Task.Run(() => s.Database.MigrateAsync(None))));

        // Each script applied once: the journal lists what the singly migrated database's does.
        Assert.Equal(await AppliedScriptsAsync(_database), await AppliedScriptsAsync(database));
        var (job, created) = await stores[0].Jobs.CreateAsync(NewJob(), None);
        Assert.True(created);
        Assert.NotNull(await stores[2].Jobs.GetAsync(job.Id, None));
    }

    [Fact]
    public async Task Ping_answers_whether_the_database_is_reachable()
    {
        Assert.True(await Database.PingAsync(None));
        Assert.False(await Track(OpenUnreachableDatabase()).PingAsync(None));
    }

    // ---- Monitoring counts and the normalization hyperparameter.

    [Fact]
    public async Task CountsJobsByStatusLeavingOutStatusesWithNone()
    {
        Assert.Empty(await Store.CountByStatusAsync(None));
        await CreateAsync(NewJob());
        await CreateAsync(NewJob());
        await CreateRunningAsync();
        var cancelled = await CreateAsync(NewJob());
        Assert.Equal(CancelOutcome.CancelledBeforeStart, await Store.RequestCancelAsync(cancelled.Id, T0, None));

        var counts = await Store.CountByStatusAsync(None);

        Assert.Equal(new Dictionary<JobStatus, long> { [JobStatus.Queued] = 2, [JobStatus.Running] = 1, [JobStatus.Cancelled] = 1 },
            counts.OrderBy(c => c.Key).ToDictionary());
    }

    [Fact]
    public async Task StoresTheNormalizationWithTheHyperparametersAndReadsOldRecordsWithoutOne()
    {
        var named = await CreateAsync(NewJob() with { Hyperparameters = new Hyperparameters { Epochs = 2, Normalization = NormalizationKind.Group } });
        var unnamed = await CreateAsync(NewJob());

        Assert.Equal(NormalizationKind.Group, (await GetAsync(named.Id)).Hyperparameters.Normalization);
        Assert.Null((await GetAsync(unnamed.Id)).Hyperparameters.Normalization);
        Assert.Equal(named.Hyperparameters, (await GetAsync(named.Id)).Hyperparameters);
    }
}
