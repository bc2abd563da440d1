using System.Data.Common;
using Dapper;
using TrainingService.Contracts.Access;
using TrainingService.Contracts.Training;
using TrainingService.Contracts;
using TrainingService.Storage.Migrations;

namespace TrainingService.Storage;

/// <summary>
/// <see cref="IJobStore"/> in SQL, shared by <see cref="PostgresJobStore"/> and <see cref="SqliteJobStore"/>:
/// every statement is written once here and both engines run it (both have <c>INSERT ... ON
/// CONFLICT</c>, <c>RETURNING</c>, row values and <c>@name</c> parameters); the engines supply the
/// schema, connections, transactions, how ids and times are bound, and the few expressions that differ.
/// </summary>
/// <remarks>
/// Concurrency: every write a worker makes is one statement conditioned on the job's current lease
/// token, so it applies entirely or not at all and a stale attempt changes nothing. Starting an
/// attempt and asking for cancellation are single conditional UPDATEs, so of two racing callers
/// exactly one sees the state the other left. Idempotent creation is an
/// <c>INSERT ... ON CONFLICT (idempotency_key) DO NOTHING</c> against a unique index, which the
/// database serialises. A new attempt keeps the job's last progress (and the error of an
/// interrupted attempt) until the new attempt reports its own.
/// </remarks>
public abstract class SqlJobStore : IJobStore, IApiKeyStore, IAsyncDisposable, IDisposable
{
    private protected const string JobColumns =
        "id, kind, architecture, status, name, tags, hyperparameters, source, idempotency_key, queue, " +
        "created_at, started_at, finished_at, attempt, lease_token, worker, device, heartbeat_at, " +
        "cancel_requested, progress, result, error, owner";

    private const string ApiKeyColumns = "id, name, is_admin, key_sha256, created_at, revoked_at";

    private const string EpochColumns =
        "job_id, epoch, train_loss, train_accuracy, test_loss, test_accuracy, learning_rate, epoch_seconds, " +
        "samples_per_second, recorded_at";

    private const string CheckpointColumns = "job_id, epoch, size_bytes, sha256, metrics, created_at";

    private const string LogColumns = "sequence, job_id, logged_at, level, message, properties";

    private const string WorkerColumns = "id, host, queues, device, running_job_id, started_at, last_heartbeat";

    private readonly GroupCommit<JobRecord, (JobRecord Job, bool Created)> jobCreations;

    private protected SqlJobStore()
    {
        jobCreations = new(InsertJobsAsync, MaxJobsPerTransaction);
    }

    // ---- What each engine supplies.

    /// <summary>An open connection, set up for this store.</summary>
    private protected abstract ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    /// <summary>A transaction that holds the write lock from its start where the engine has one (SQLite: BEGIN IMMEDIATE).</summary>
    private protected abstract ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>
    /// Serialises appends to these jobs' logs until <paramref name="transaction"/> ends, so sequences
    /// become visible in increasing order and a reader paging by sequence never skips one.
    /// </summary>
    private protected virtual Task LockJobLogsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<Guid> jobIds, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    /// <summary>What the schema migrations need of the engine.</summary>
    private protected abstract SchemaDialect Schema { get; }

    /// <summary>A job id as a parameter value.</summary>
    private protected abstract object DbId(Guid id);

    /// <summary>A time as a parameter value: UTC, truncated to the microsecond (<see cref="StoredTime"/>).</summary>
    private protected abstract object DbTime(DateTimeOffset time);

    /// <summary>A metric as a parameter value (SQLite refuses NaN: it binds NULL instead, read back as NaN).</summary>
    private protected virtual object? DbDouble(double value) => value;

    /// <summary>A parameter holding JSON text, as a value for a JSON column (PostgreSQL: cast to jsonb).</summary>
    private protected abstract string JsonParameter(string parameter);

    /// <summary>A condition: the job's tags contain the string <paramref name="parameter"/>.</summary>
    private protected abstract string TagCondition(string parameter);

    /// <summary>
    /// Appended to the lease check of a worker's INSERT: locks the job row against a concurrent new
    /// attempt until the write commits (PostgreSQL: <c>FOR SHARE</c>; SQLite writes are serial already).
    /// </summary>
    private protected abstract string ShareLockClause { get; }

    private object? DbId(Guid? id) => id is { } value ? DbId(value) : null;

    private object? DbTime(DateTimeOffset? time) => time is { } value ? DbTime(value) : null;

    private protected static string? Json<T>(T? value) where T : class => value is null ? null : JobStoreJson.Serialize(value);

    // ---- Schema.

    public Task MigrateAsync(CancellationToken cancellationToken) => MigrateAsync(int.MaxValue, cancellationToken);

    /// <summary>
    /// Applies the migrations up to and including <paramref name="throughVersion"/> only: how the tests
    /// make a database as an older release of the service left it, to migrate it from there.
    /// </summary>
    internal Task MigrateAsync(int throughVersion, CancellationToken cancellationToken) =>
        new SchemaMigrator(Schema).MigrateAsync(throughVersion, cancellationToken);

    // ---- Jobs.

    /// <summary>
    /// Stores a new job, or finds the one stored earlier under its idempotency key. Submissions that
    /// arrive together are stored together, in one transaction (<see cref="GroupCommit{TItem,TResult}"/>).
    /// </summary>
    public Task<(JobRecord Job, bool Created)> CreateAsync(JobRecord job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        cancellationToken.ThrowIfCancellationRequested();
        return jobCreations.CommitAsync(job);
    }

    /// <summary>The most jobs one creation transaction stores (23 parameters each).</summary>
    private const int MaxJobsPerTransaction = 100;

    private async Task<IReadOnlyList<(JobRecord Job, bool Created)>> InsertJobsAsync(IReadOnlyList<JobRecord> jobs, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await BeginWriteTransactionAsync(connection, cancellationToken);
        // In idempotency-key order: two processes' batches take the keys' index locks in the same
        // order, so they wait for each other rather than deadlock.
        var ordered = jobs.OrderBy(job => job.IdempotencyKey, StringComparer.Ordinal).ToList();
        var stored = (await InsertNewJobsAsync(connection, transaction, ordered, cancellationToken)).ToDictionary(job => job.Id);
        var results = new List<(JobRecord Job, bool Created)>(jobs.Count);
        foreach (var job in jobs)
        {
            if (stored.TryGetValue(job.Id, out var inserted))
            {
                results.Add((inserted, true));
                continue;
            }
            // The key is taken: the insert waited for the other one to commit (the unique index
            // serialises them) or it came earlier in this transaction, so the job it stored is
            // visible now, and jobs are never deleted.
            var existing = await QueryJobsAsync(connection, $"SELECT {JobColumns} FROM jobs WHERE idempotency_key = @Key",
                new { Key = job.IdempotencyKey }, cancellationToken, transaction);
            results.Add(existing.Count == 1
                ? (existing[0], false)
                : throw new InvalidOperationException($"Job {job.Id} was not stored and no job has its idempotency key."));
        }
        await transaction.CommitAsync(cancellationToken);
        return results;
    }

    /// <summary>
    /// Inserts, in their order, the jobs whose idempotency key is free (the others are left out,
    /// <c>ON CONFLICT (idempotency_key) DO NOTHING</c>) and returns them as stored: here one
    /// statement per job, in the caller's transaction.
    /// </summary>
    private protected virtual async Task<IReadOnlyList<JobRecord>> InsertNewJobsAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<JobRecord> jobs, CancellationToken cancellationToken)
    {
        var sql = $"""
            INSERT INTO jobs ({JobColumns})
            VALUES (@Id, @Kind, @Architecture, @Status, @Name, {JsonParameter("@Tags")}, {JsonParameter("@Hyperparameters")},
                    {JsonParameter("@Source")}, @IdempotencyKey, @Queue, @CreatedAt, @StartedAt, @FinishedAt, @Attempt,
                    @LeaseToken, @Worker, @Device, @HeartbeatAt, @CancelRequested, {JsonParameter("@Progress")},
                    {JsonParameter("@Result")}, {JsonParameter("@Error")}, @Owner)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING {JobColumns}
            """;
        var stored = new List<JobRecord>(jobs.Count);
        foreach (var job in jobs)
        {
            var parameters = new
            {
                Id = DbId(job.Id),
                Kind = Text(job.Kind),
                job.Architecture,
                Status = Text(job.Status),
                job.Name,
                Tags = JobStoreJson.Serialize(job.Tags),
                Hyperparameters = JobStoreJson.Serialize(job.Hyperparameters),
                Source = Json(job.Source),
                job.IdempotencyKey,
                job.Queue,
                CreatedAt = DbTime(job.CreatedAt),
                StartedAt = DbTime(job.StartedAt),
                FinishedAt = DbTime(job.FinishedAt),
                job.Attempt,
                LeaseToken = DbId(job.LeaseToken),
                job.Worker,
                job.Device,
                HeartbeatAt = DbTime(job.HeartbeatAt),
                job.CancelRequested,
                Progress = Json(job.Progress),
                Result = Json(job.Result),
                Error = Json(job.Error),
                job.Owner,
            };
            stored.AddRange(await QueryJobsAsync(connection, sql, parameters, cancellationToken, transaction));
        }
        return stored;
    }

    public async Task<JobRecord?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var jobs = await QueryJobsAsync(connection, $"SELECT {JobColumns} FROM jobs WHERE id = @Id", new { Id = DbId(id) }, cancellationToken);
        return jobs.Count == 0 ? null : jobs[0];
    }

    public async Task<IReadOnlyList<JobRecord>> ListAsync(JobQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1, nameof(query));
        var conditions = new List<string>();
        var parameters = new DynamicParameters();
        if (query.Status is { } status)
        {
            conditions.Add("status = @Status");
            parameters.Add("Status", Text(status));
        }
        if (query.Architecture is { } architecture)
        {
            conditions.Add("architecture = @Architecture");
            parameters.Add("Architecture", architecture);
        }
        if (query.Kind is { } kind)
        {
            conditions.Add("kind = @Kind");
            parameters.Add("Kind", Text(kind));
        }
        if (query.Tag is { } tag)
        {
            conditions.Add(TagCondition("@Tag"));
            parameters.Add("Tag", tag);
        }
        if (query.Owner is { } owner)
        {
            conditions.Add("owner = @Owner");
            parameters.Add("Owner", owner);
        }
        if (query.After is { } after)
        {
            conditions.Add("(created_at, id) < (@AfterCreatedAt, @AfterId)");
            parameters.Add("AfterCreatedAt", DbTime(after.CreatedAt));
            parameters.Add("AfterId", DbId(after.Id));
        }
        parameters.Add("Limit", query.Limit);
        var where = conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions);
        var sql = $"SELECT {JobColumns} FROM jobs {where} ORDER BY created_at DESC, id DESC LIMIT @Limit";
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return await QueryJobsAsync(connection, sql, parameters, cancellationToken);
    }

    // ---- Attempts: the lease.

    public async Task<JobRecord?> TryStartAttemptAsync(Guid id, Guid leaseToken, string worker, string device, DateTimeOffset now, DateTimeOffset staleBefore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(device);
        var sql = $"""
            UPDATE jobs
            SET status = 'running', attempt = attempt + 1, lease_token = @LeaseToken, worker = @Worker, device = @Device,
                started_at = COALESCE(started_at, @Now), heartbeat_at = @Now
            WHERE id = @Id
              AND cancel_requested = FALSE
              AND (status IN ('queued', 'interrupted')
                   OR (status = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < @StaleBefore)))
            RETURNING {JobColumns}
            """;
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var jobs = await QueryJobsAsync(connection, sql, new
        {
            Id = DbId(id),
            LeaseToken = DbId(leaseToken),
            Worker = worker,
            Device = device,
            Now = DbTime(now),
            StaleBefore = DbTime(staleBefore),
        }, cancellationToken);
        return jobs.Count == 0 ? null : jobs[0];
    }

    public Task<bool> UpdateProgressAsync(Guid id, Guid leaseToken, JobProgress progress, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        return ExecuteFencedAsync(
            $"UPDATE jobs SET progress = {JsonParameter("@Progress")}, heartbeat_at = @Now WHERE id = @Id AND lease_token = @LeaseToken",
            new { Id = DbId(id), LeaseToken = DbId(leaseToken), Progress = JobStoreJson.Serialize(progress), Now = DbTime(now) },
            cancellationToken);
    }

    public Task<bool> HeartbeatAsync(Guid id, Guid leaseToken, DateTimeOffset now, CancellationToken cancellationToken) =>
        ExecuteFencedAsync(
            "UPDATE jobs SET heartbeat_at = @Now WHERE id = @Id AND lease_token = @LeaseToken",
            new { Id = DbId(id), LeaseToken = DbId(leaseToken), Now = DbTime(now) },
            cancellationToken);

    public Task<bool> RecordEpochAsync(Guid id, Guid leaseToken, EpochMetrics metrics, DateTimeOffset recordedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        // SQLite needs the WHERE on the SELECT to parse ON CONFLICT as the upsert clause; it is there.
        var sql = $"""
            INSERT INTO job_epochs ({EpochColumns})
            SELECT @Id, @Epoch, @TrainLoss, @TrainAccuracy, @TestLoss, @TestAccuracy, @LearningRate, @EpochSeconds,
                   @SamplesPerSecond, @RecordedAt
            WHERE EXISTS (SELECT 1 FROM jobs WHERE id = @Id AND lease_token = @LeaseToken{ShareLockClause})
            ON CONFLICT (job_id, epoch) DO UPDATE
            SET train_loss = excluded.train_loss, train_accuracy = excluded.train_accuracy, test_loss = excluded.test_loss,
                test_accuracy = excluded.test_accuracy, learning_rate = excluded.learning_rate,
                epoch_seconds = excluded.epoch_seconds, samples_per_second = excluded.samples_per_second,
                recorded_at = excluded.recorded_at
            """;
        return ExecuteFencedAsync(sql, new
        {
            Id = DbId(id),
            LeaseToken = DbId(leaseToken),
            metrics.Epoch,
            TrainLoss = DbDouble(metrics.TrainLoss),
            TrainAccuracy = DbDouble(metrics.TrainAccuracy),
            TestLoss = DbDouble(metrics.TestLoss),
            TestAccuracy = DbDouble(metrics.TestAccuracy),
            LearningRate = DbDouble(metrics.LearningRate),
            EpochSeconds = DbDouble(metrics.EpochSeconds),
            SamplesPerSecond = DbDouble(metrics.SamplesPerSecond),
            RecordedAt = DbTime(recordedAt),
        }, cancellationToken);
    }

    public Task<bool> RecordCheckpointAsync(Guid id, Guid leaseToken, CheckpointRecord checkpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (checkpoint.JobId != id)
            throw new ArgumentException($"The checkpoint is job {checkpoint.JobId}'s, not job {id}'s.", nameof(checkpoint));
        var sql = $"""
            INSERT INTO job_checkpoints ({CheckpointColumns})
            SELECT @Id, @Epoch, @SizeBytes, @Sha256, {JsonParameter("@Metrics")}, @CreatedAt
            WHERE EXISTS (SELECT 1 FROM jobs WHERE id = @Id AND lease_token = @LeaseToken{ShareLockClause})
            ON CONFLICT (job_id, epoch) DO UPDATE
            SET size_bytes = excluded.size_bytes, sha256 = excluded.sha256, metrics = excluded.metrics,
                created_at = excluded.created_at
            """;
        return ExecuteFencedAsync(sql, new
        {
            Id = DbId(id),
            LeaseToken = DbId(leaseToken),
            checkpoint.Epoch,
            checkpoint.SizeBytes,
            checkpoint.Sha256,
            Metrics = Json(checkpoint.Metrics),
            CreatedAt = DbTime(checkpoint.CreatedAt),
        }, cancellationToken);
    }

    /// <remarks>
    /// <see cref="JobStatus.Queued"/> (or <see cref="JobStatus.Interrupted"/>) clears the lease, worker and
    /// device and leaves the job waiting; but a job whose cancellation was asked for becomes cancelled
    /// instead, since no attempt would ever start it again. A terminal status sets FinishedAt, clears the
    /// lease and keeps the worker and device that ran it. Result and error are stored as given, either way.
    /// </remarks>
    public Task<bool> FinishAttemptAsync(Guid id, Guid leaseToken, JobStatus status, JobResult? result, JobError? error, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var requeue = status switch
        {
            JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled => false,
            JobStatus.Queued or JobStatus.Interrupted => true,
            _ => throw new ArgumentOutOfRangeException(nameof(status), status,
                "An attempt ends succeeded, failed, cancelled, or queued to be taken up again."),
        };
        var sql = $"""
            UPDATE jobs
            SET status = CASE WHEN @Requeue AND cancel_requested THEN 'cancelled' ELSE @Status END,
                finished_at = CASE WHEN @Requeue AND NOT cancel_requested THEN NULL ELSE @Now END,
                worker = CASE WHEN @Requeue AND NOT cancel_requested THEN NULL ELSE worker END,
                device = CASE WHEN @Requeue AND NOT cancel_requested THEN NULL ELSE device END,
                lease_token = NULL,
                result = {JsonParameter("@Result")},
                error = {JsonParameter("@Error")}
            WHERE id = @Id AND lease_token = @LeaseToken
            """;
        return ExecuteFencedAsync(sql, new
        {
            Id = DbId(id),
            LeaseToken = DbId(leaseToken),
            Requeue = requeue,
            Status = Text(status),
            Now = DbTime(now),
            Result = Json(result),
            Error = Json(error),
        }, cancellationToken);
    }

    public async Task<CancelOutcome> RequestCancelAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // One conditional UPDATE makes every change; when it changes nothing, the status read after it
        // says why. Should the job have moved back into a cancellable state in between (an attempt
        // requeued), the UPDATE is simply tried again.
        const string update = """
            UPDATE jobs
            SET status = CASE WHEN status = 'running' THEN 'cancelling' ELSE 'cancelled' END,
                finished_at = CASE WHEN status = 'running' THEN finished_at ELSE @Now END,
                cancel_requested = TRUE
            WHERE id = @Id AND status IN ('queued', 'interrupted', 'running')
            RETURNING status
            """;
        var parameters = new { Id = DbId(id), Now = DbTime(now) };
        await using var connection = await OpenConnectionAsync(cancellationToken);
        while (true)
        {
            var changed = (await connection.QueryAsync<string>(Command(update, parameters, null, cancellationToken))).FirstOrDefault();
            if (changed is not null)
                return ParseStatus(changed) == JobStatus.Cancelling ? CancelOutcome.CancellationRequested : CancelOutcome.CancelledBeforeStart;

            var current = (await connection.QueryAsync<string>(Command("SELECT status FROM jobs WHERE id = @Id", parameters, null, cancellationToken))).FirstOrDefault();
            if (current is null)
                return CancelOutcome.NotFound;
            var status = ParseStatus(current);
            if (status == JobStatus.Cancelling)
                return CancelOutcome.AlreadyCancelling;
            if (status.IsTerminal())
                return CancelOutcome.AlreadyFinished;
        }
    }

    public async Task<IReadOnlyDictionary<JobStatus, long>> CountByStatusAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var rows = await QueryRowsAsync(connection, "SELECT status, COUNT(*) AS jobs FROM jobs GROUP BY status", new { }, null, cancellationToken);
        return rows.ToDictionary(r => ParseStatus((string)r["status"]!), r => Convert.ToInt64(r["jobs"], System.Globalization.CultureInfo.InvariantCulture));
    }

    // ---- Dispatch: the outbox that makes "stored" imply "enqueued, eventually".

    public Task<bool> FailUnstartedAsync(Guid id, JobError error, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(error);
        return ExecuteFencedAsync(
            $"UPDATE jobs SET status = 'failed', error = {JsonParameter("@Error")}, finished_at = @Now WHERE id = @Id AND status = 'queued' AND attempt = 0",
            new { Id = DbId(id), Error = JobStoreJson.Serialize(error), Now = DbTime(now) }, cancellationToken);
    }

    public Task MarkDispatchedAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken) =>
        ExecuteFencedAsync("UPDATE jobs SET dispatched_at = @Now WHERE id = @Id AND dispatched_at IS NULL",
            new { Id = DbId(id), Now = DbTime(now) }, cancellationToken);

    public async Task<IReadOnlyList<JobRecord>> ListUndispatchedAsync(DateTimeOffset createdBefore, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var sql = $"""
            SELECT {JobColumns} FROM jobs
            WHERE dispatched_at IS NULL AND status = 'queued' AND created_at < @CreatedBefore
            ORDER BY created_at, id
            LIMIT @Limit
            """;
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return await QueryJobsAsync(connection, sql, new { CreatedBefore = DbTime(createdBefore), Limit = limit }, cancellationToken);
    }

    // ---- Sweeps.

    private const string SweepColumns = "id, name, tags, base_job, grid, points, point_count, max_concurrent, created_at, cancel_requested, cancelled_at, owner";

    public async Task CreateSweepAsync(SweepRecord sweep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        var sql = $"""
            INSERT INTO sweeps ({SweepColumns})
            VALUES (@Id, @Name, {JsonParameter("@Tags")}, {JsonParameter("@BaseJob")}, {JsonParameter("@Grid")}, {JsonParameter("@Points")},
                    @PointCount, @MaxConcurrent, @CreatedAt, @CancelRequested, @CancelledAt, @Owner)
            """;
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(Command(sql, new
        {
            Id = DbId(sweep.Id),
            sweep.Name,
            Tags = JobStoreJson.Serialize(sweep.Tags),
            BaseJob = sweep.BaseJob.GetRawText(),
            Grid = JobStoreJson.Serialize(sweep.Grid),
            Points = JobStoreJson.Serialize(sweep.Points),
            PointCount = sweep.Points.Count,
            sweep.MaxConcurrent,
            CreatedAt = DbTime(sweep.CreatedAt),
            sweep.CancelRequested,
            CancelledAt = DbTime(sweep.CancelledAt),
            sweep.Owner,
        }, null, cancellationToken));
    }

    public async Task<SweepRecord?> GetSweepAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var rows = await QueryRowsAsync(connection, $"SELECT {SweepColumns} FROM sweeps WHERE id = @Id", new { Id = DbId(id) }, null, cancellationToken);
        return rows.Count == 0 ? null : ReadSweep(rows[0]);
    }

    public async Task<IReadOnlyList<SweepRecord>> ListSweepsAsync(SweepQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        var where = query.Owner is null ? "" : "WHERE owner = @Owner";
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var rows = await QueryRowsAsync(connection, $"SELECT {SweepColumns} FROM sweeps {where} ORDER BY created_at DESC, id DESC LIMIT @Limit",
            new { query.Limit, query.Owner }, null, cancellationToken);
        return rows.Select(ReadSweep).ToList();
    }

    public async Task<IReadOnlyList<SweepRecord>> ListOpenSweepsAsync(CancellationToken cancellationToken)
    {
        var sql = $"""
            SELECT {SweepColumns} FROM sweeps s
            WHERE cancel_requested = FALSE
              AND (SELECT COUNT(*) FROM sweep_jobs j WHERE j.sweep_id = s.id) < s.point_count
            ORDER BY created_at, id
            """;
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return (await QueryRowsAsync(connection, sql, null, null, cancellationToken)).Select(ReadSweep).ToList();
    }

    public async Task<bool> AddSweepJobAsync(Guid sweepId, int point, Guid jobId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(Command(
            "INSERT INTO sweep_jobs (sweep_id, point, job_id) VALUES (@SweepId, @Point, @JobId) ON CONFLICT (sweep_id, point) DO NOTHING",
            new { SweepId = DbId(sweepId), Point = point, JobId = DbId(jobId) }, null, cancellationToken)) > 0;
    }

    public async Task<IReadOnlyList<SweepJob>> GetSweepJobsAsync(Guid sweepId, CancellationToken cancellationToken)
    {
        var columns = string.Join(", ", JobColumns.Split(", ").Select(c => "j." + c));
        var sql = $"""
            SELECT s.point AS sweep_point, {columns}
            FROM sweep_jobs s JOIN jobs j ON j.id = s.job_id
            WHERE s.sweep_id = @SweepId
            ORDER BY s.point
            """;
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var rows = await QueryRowsAsync(connection, sql, new { SweepId = DbId(sweepId) }, null, cancellationToken);
        return rows.Select(r => new SweepJob(ReadInt32(r["sweep_point"]), ReadJob(r))).ToList();
    }

    public async Task<bool> RequestSweepCancelAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(Command(
            "UPDATE sweeps SET cancel_requested = TRUE, cancelled_at = @Now WHERE id = @Id AND cancel_requested = FALSE",
            new { Id = DbId(id), Now = DbTime(now) }, null, cancellationToken)) > 0;
    }

    private static SweepRecord ReadSweep(IDictionary<string, object?> r) => new()
    {
        Id = ReadGuid(r["id"]),
        Name = (string?)r["name"],
        Tags = JobStoreJson.Deserialize<string[]>((string)r["tags"]!),
        BaseJob = JobStoreJson.Deserialize<System.Text.Json.JsonElement>((string)r["base_job"]!),
        Grid = JobStoreJson.Deserialize<SweepAxis[]>((string)r["grid"]!),
        Points = JobStoreJson.Deserialize<Dictionary<string, System.Text.Json.JsonElement>[]>((string)r["points"]!),
        MaxConcurrent = ReadInt32(r["max_concurrent"]),
        CreatedAt = ReadTime(r["created_at"]),
        CancelRequested = Convert.ToBoolean(r["cancel_requested"]),
        CancelledAt = r["cancelled_at"] is { } cancelled ? ReadTime(cancelled) : null,
        Owner = (string?)r["owner"],
    };

    // ---- Epochs and checkpoints.

    public async Task<IReadOnlyList<EpochRecord>> GetEpochsAsync(Guid id, int sinceEpoch, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var rows = await QueryRowsAsync(connection,
            $"SELECT {EpochColumns} FROM job_epochs WHERE job_id = @Id AND epoch > @Since ORDER BY epoch",
            new { Id = DbId(id), Since = sinceEpoch }, null, cancellationToken);
        return rows.Select(r => new EpochRecord(
            ReadGuid(r["job_id"]),
            new EpochMetrics(
                ReadInt32(r["epoch"]),
                ReadDouble(r["train_loss"]),
                ReadDouble(r["train_accuracy"]),
                ReadDouble(r["test_loss"]),
                ReadDouble(r["test_accuracy"]),
                ReadDouble(r["learning_rate"]),
                ReadDouble(r["epoch_seconds"]),
                ReadDouble(r["samples_per_second"])),
            ReadTime(r["recorded_at"]))).ToList();
    }

    public async Task<IReadOnlyList<CheckpointRecord>> GetCheckpointsAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var rows = await QueryRowsAsync(connection,
            $"SELECT {CheckpointColumns} FROM job_checkpoints WHERE job_id = @Id ORDER BY epoch",
            new { Id = DbId(id) }, null, cancellationToken);
        return rows.Select(r => new CheckpointRecord(
            ReadGuid(r["job_id"]),
            ReadInt32(r["epoch"]),
            Convert.ToInt64(r["size_bytes"]),
            (string)r["sha256"]!,
            ReadJson<EpochMetrics>(r["metrics"]),
            ReadTime(r["created_at"]))).ToList();
    }

    // ---- Logs.

    public async Task AppendLogsAsync(IReadOnlyList<JobLogRecord> logs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(logs);
        if (logs.Count == 0)
            return;
        var rows = logs.Select(l => new
        {
            JobId = DbId(l.JobId),
            LoggedAt = DbTime(l.Timestamp),
            l.Level,
            l.Message,
            Properties = l.PropertiesJson,
        }).ToList();
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await BeginWriteTransactionAsync(connection, cancellationToken);
        await LockJobLogsAsync(connection, transaction, logs.Select(l => l.JobId).Distinct().ToList(), cancellationToken);
        await connection.ExecuteAsync(Command(
            "INSERT INTO job_logs (job_id, logged_at, level, message, properties) VALUES (@JobId, @LoggedAt, @Level, @Message, @Properties)",
            rows, transaction, cancellationToken));
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<JobLogRecord>> GetLogsAsync(Guid id, long afterSequence, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var rows = await QueryRowsAsync(connection,
            $"SELECT {LogColumns} FROM job_logs WHERE job_id = @Id AND sequence > @After ORDER BY sequence LIMIT @Limit",
            new { Id = DbId(id), After = afterSequence, Limit = limit }, null, cancellationToken);
        return rows.Select(r => new JobLogRecord(
            Convert.ToInt64(r["sequence"]),
            ReadGuid(r["job_id"]),
            ReadTime(r["logged_at"]),
            (string)r["level"]!,
            (string)r["message"]!,
            (string?)r["properties"])).ToList();
    }

    // ---- Workers.

    public async Task UpsertWorkerAsync(WorkerRecord worker, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(worker);
        var sql = $"""
            INSERT INTO workers ({WorkerColumns})
            VALUES (@Id, @Host, {JsonParameter("@Queues")}, @Device, @RunningJobId, @StartedAt, @LastHeartbeat)
            ON CONFLICT (id) DO UPDATE
            SET host = excluded.host, queues = excluded.queues, device = excluded.device,
                running_job_id = excluded.running_job_id, started_at = excluded.started_at,
                last_heartbeat = excluded.last_heartbeat
            """;
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(Command(sql, new
        {
            worker.Id,
            worker.Host,
            Queues = JobStoreJson.Serialize(worker.Queues),
            worker.Device,
            RunningJobId = DbId(worker.RunningJobId),
            StartedAt = DbTime(worker.StartedAt),
            LastHeartbeat = DbTime(worker.LastHeartbeat),
        }, null, cancellationToken));
    }

    public async Task<IReadOnlyList<WorkerRecord>> ListWorkersAsync(DateTimeOffset aliveSince, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var rows = await QueryRowsAsync(connection,
            $"SELECT {WorkerColumns} FROM workers WHERE last_heartbeat >= @AliveSince ORDER BY id",
            new { AliveSince = DbTime(aliveSince) }, null, cancellationToken);
        return rows.Select(r => new WorkerRecord(
            (string)r["id"]!,
            (string)r["host"]!,
            JobStoreJson.Deserialize<string[]>((string)r["queues"]!),
            (string)r["device"]!,
            r["running_job_id"] is { } running ? ReadGuid(running) : null,
            ReadTime(r["started_at"]),
            ReadTime(r["last_heartbeat"]))).ToList();
    }

    public async Task RemoveWorkerAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(Command("DELETE FROM workers WHERE id = @Id", new { Id = id }, null, cancellationToken));
    }

    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenConnectionAsync(cancellationToken);
            return await connection.ExecuteScalarAsync<long>(Command("SELECT 1", null, null, cancellationToken)) == 1;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    // ---- API keys.

    public async Task CreateApiKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(Command(
            $"INSERT INTO api_keys ({ApiKeyColumns}) VALUES (@Id, @Name, @IsAdmin, @KeySha256, @CreatedAt, @RevokedAt)",
            new
            {
                Id = DbId(key.Id),
                key.Name,
                key.IsAdmin,
                key.KeySha256,
                CreatedAt = DbTime(key.CreatedAt),
                RevokedAt = DbTime(key.RevokedAt),
            }, null, cancellationToken));
    }

    public async Task<ApiKeyRecord?> FindApiKeyAsync(string keySha256, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keySha256);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var rows = await QueryRowsAsync(connection, $"SELECT {ApiKeyColumns} FROM api_keys WHERE key_sha256 = @Hash",
            new { Hash = keySha256 }, null, cancellationToken);
        return rows.Count == 0 ? null : ReadApiKey(rows[0]);
    }

    public async Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var rows = await QueryRowsAsync(connection, $"SELECT {ApiKeyColumns} FROM api_keys ORDER BY created_at, id",
            null, null, cancellationToken);
        return rows.Select(ReadApiKey).ToList();
    }

    public async Task<bool> RevokeApiKeyAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(Command(
            "UPDATE api_keys SET revoked_at = @Now WHERE id = @Id AND revoked_at IS NULL",
            new { Id = DbId(id), Now = DbTime(now) }, null, cancellationToken)) > 0;
    }

    public async Task<int> CountUnfinishedJobsAsync(string owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return Convert.ToInt32(await connection.ExecuteScalarAsync<long>(Command(
            "SELECT COUNT(*) FROM jobs WHERE owner = @Owner AND status IN ('queued', 'running', 'cancelling', 'interrupted')",
            new { Owner = owner }, null, cancellationToken)));
    }

    public async Task<bool> IdempotencyKeyUsedAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(idempotencyKey);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(Command(
            "SELECT COUNT(*) FROM jobs WHERE idempotency_key = @Key", new { Key = idempotencyKey }, null, cancellationToken)) > 0;
    }

    private static ApiKeyRecord ReadApiKey(IDictionary<string, object?> r) => new(
        ReadGuid(r["id"]),
        (string)r["name"]!,
        Convert.ToBoolean(r["is_admin"]),
        (string)r["key_sha256"]!,
        ReadTime(r["created_at"]),
        r["revoked_at"] is { } revoked ? ReadTime(revoked) : null);

    // ---- Disposal.

    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return DisposeAsyncCore();
    }

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        DisposeAsyncCore().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Releases the store's pooled connections.</summary>
    private protected abstract ValueTask DisposeAsyncCore();

    // ---- Plumbing.

    private static CommandDefinition Command(string sql, object? parameters, DbTransaction? transaction, CancellationToken cancellationToken) =>
        new(sql, parameters, transaction, cancellationToken: cancellationToken);

    private async Task<bool> ExecuteFencedAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(Command(sql, parameters, null, cancellationToken)) > 0;
    }

    private static async Task<List<IDictionary<string, object?>>> QueryRowsAsync(DbConnection connection, string sql, object? parameters, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QueryAsync(Command(sql, parameters, transaction, cancellationToken))).Cast<IDictionary<string, object?>>().ToList();

    private protected static async Task<List<JobRecord>> QueryJobsAsync(
        DbConnection connection, string sql, object parameters, CancellationToken cancellationToken, DbTransaction? transaction = null) =>
        (await QueryRowsAsync(connection, sql, parameters, transaction, cancellationToken)).Select(ReadJob).ToList();

    private static JobRecord ReadJob(IDictionary<string, object?> r) => new()
    {
        Id = ReadGuid(r["id"]),
        Kind = Enum.Parse<JobKind>((string)r["kind"]!, ignoreCase: true),
        Architecture = (string)r["architecture"]!,
        Status = ParseStatus((string)r["status"]!),
        Name = (string?)r["name"],
        Tags = JobStoreJson.Deserialize<string[]>((string)r["tags"]!),
        Hyperparameters = JobStoreJson.Deserialize<Hyperparameters>((string)r["hyperparameters"]!),
        Source = ReadJson<EvalSource>(r["source"]),
        IdempotencyKey = (string?)r["idempotency_key"],
        Queue = (string)r["queue"]!,
        CreatedAt = ReadTime(r["created_at"]),
        StartedAt = r["started_at"] is { } started ? ReadTime(started) : null,
        FinishedAt = r["finished_at"] is { } finished ? ReadTime(finished) : null,
        Attempt = ReadInt32(r["attempt"]),
        LeaseToken = r["lease_token"] is { } lease ? ReadGuid(lease) : null,
        Worker = (string?)r["worker"],
        Device = (string?)r["device"],
        HeartbeatAt = r["heartbeat_at"] is { } heartbeat ? ReadTime(heartbeat) : null,
        CancelRequested = Convert.ToBoolean(r["cancel_requested"]),
        Progress = ReadJson<JobProgress>(r["progress"]),
        Result = ReadJson<JobResult>(r["result"]),
        Error = ReadJson<JobError>(r["error"]),
        Owner = (string?)r["owner"],
    };

    private protected static string Text(JobStatus status) => status.ToString().ToLowerInvariant();

    private protected static string Text(JobKind kind) => kind.ToString().ToLowerInvariant();

    private static JobStatus ParseStatus(string status) => Enum.Parse<JobStatus>(status, ignoreCase: true);

    private static T? ReadJson<T>(object? value) where T : class =>
        value is string json ? JobStoreJson.Deserialize<T>(json) : null;

    // Values come back as each engine's provider gives them: PostgreSQL uuid, timestamptz (a UTC
    // DateTime), integer, boolean; SQLite text, integer (long) and real, with NULL for a NaN.

    private static Guid ReadGuid(object? value) => value switch
    {
        Guid guid => guid,
        string text => Guid.Parse(text),
        _ => throw new InvalidCastException($"Not an id: {value?.GetType().Name ?? "null"}."),
    };

    private static DateTimeOffset ReadTime(object? value) => value switch
    {
        DateTime time => new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)),
        DateTimeOffset time => time.ToUniversalTime(),
        long microseconds => StoredTime.FromUnixMicroseconds(microseconds),
        _ => throw new InvalidCastException($"Not a time: {value?.GetType().Name ?? "null"}."),
    };

    private static int ReadInt32(object? value) => Convert.ToInt32(value);

    /// <summary>SQLite keeps a NaN as NULL (see <see cref="DbDouble"/>).</summary>
    private static double ReadDouble(object? value) => value is null ? double.NaN : Convert.ToDouble(value);
}

