using Dapper;
using TrainingService.Contracts;

namespace TrainingService.Storage;

/// <summary>
/// <see cref="IJobStore"/> in SQL, on either engine (<see cref="JobDatabase"/>): the jobs, their
/// attempts' leases and their hand-over to the queue.
/// </summary>
/// <remarks>
/// Concurrency: every write a worker makes is one statement conditioned on the job's current lease
/// token, so it applies entirely or not at all and a stale attempt changes nothing. Starting an
/// attempt and asking for cancellation are single conditional UPDATEs, so of two racing callers
/// exactly one sees the state the other left. A new attempt keeps the job's last progress (and the
/// error of an interrupted attempt) until the new attempt reports its own.
/// </remarks>
public sealed class SqlJobStore(JobDatabase database) : IJobStore
{
    private const string SelectJobs = $"SELECT {JobRow.Columns} FROM jobs";

    private readonly JobCreation creation = new(database);

    public Task<(JobRecord Job, bool Created)> CreateAsync(JobRecord job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        cancellationToken.ThrowIfCancellationRequested();
        // Once handed over the job is stored whatever happens to the caller (GroupCommit), so no token.
        return creation.CreateAsync(job);
    }

    public Task<JobRecord?> GetAsync(Guid id, CancellationToken cancellationToken) =>
        QueryJobAsync($"{SelectJobs} WHERE id = @Id", new { Id = database.Id(id) }, cancellationToken);

    public async Task<IReadOnlyList<JobRecord>> ListAsync(JobQuery query, CancellationToken cancellationToken)
    {
        var (where, parameters) = JobFilter.Where(query, database);
        return await QueryJobsAsync($"{SelectJobs} {where} ORDER BY created_at DESC, id DESC LIMIT @Limit", parameters, cancellationToken);
    }

    public async Task<IReadOnlyDictionary<JobStatus, long>> CountByStatusAsync(CancellationToken cancellationToken)
    {
        var counts = await database.QueryAsync<StatusCount>("SELECT status, COUNT(*) AS jobs FROM jobs GROUP BY status", null, cancellationToken);
        return counts.ToDictionary(c => c.Status, c => c.Jobs);
    }

    private sealed class StatusCount
    {
        public JobStatus Status { get; init; }
        public long Jobs { get; init; }
    }

    // ---- Attempts: the lease.

    /// <remarks>The attempt's row in <c>job_attempts</c> is written in the same transaction.</remarks>
    public Task<JobRecord?> TryStartAttemptAsync(Guid id, Guid leaseToken, string worker, string device, DateTimeOffset now, DateTimeOffset staleBefore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(device);
        const string start = $"""
            UPDATE jobs
            SET status = 'running', attempt = attempt + 1, lease_token = @LeaseToken, worker = @Worker, device = @Device,
                started_at = COALESCE(started_at, @Now), heartbeat_at = @Now
            WHERE id = @Id
              AND cancel_requested = FALSE
              AND (status IN ('queued', 'interrupted')
                   OR (status = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < @StaleBefore)))
            RETURNING {JobRow.Columns}
            """;
        const string record = """
            INSERT INTO job_attempts (job_id, attempt, worker, device, started_at)
            VALUES (@Id, @Attempt, @Worker, @Device, @Now)
            """;
        // A job taken over while still 'running' (its heartbeats stopped before the reaper came) has
        // an attempt nobody ended: it ends here, worker-lost, at the position it last reported.
        const string endLost = """
            UPDATE job_attempts
            SET ended_at = @Now, reason = 'worker-lost', message = @Message, reached_epoch = @Epoch, reached_step = @Step
            WHERE job_id = @Id AND attempt < @Attempt AND ended_at IS NULL
            """;
        return database.InWriteTransactionAsync(async (connection, transaction) =>
        {
            var row = await connection.QueryFirstOrDefaultAsync<JobRow>(JobDatabase.Command(start, new
            {
                Id = database.Id(id),
                LeaseToken = database.Id(leaseToken),
                Worker = worker,
                Device = device,
                Now = database.Time(now),
                StaleBefore = database.Time(staleBefore),
            }, transaction, cancellationToken));
            if (row is null)
                return null;
            var job = row.ToRecord();
            if (row.Attempt > 1)
                await connection.ExecuteAsync(JobDatabase.Command(endLost, new
                {
                    Id = database.Id(id), row.Attempt, Now = database.Time(now),
                    Message = $"Taken over by {worker}: the attempt's heartbeats had stopped.",
                    job.Progress?.Epoch, job.Progress?.Step,
                }, transaction, cancellationToken));
            await connection.ExecuteAsync(JobDatabase.Command(record, new
            {
                Id = database.Id(id), row.Attempt, Worker = worker, Device = device, Now = database.Time(now),
            }, transaction, cancellationToken));
            return job;
        }, cancellationToken);
    }

    public Task<bool> UpdateProgressAsync(Guid id, Guid leaseToken, JobProgress progress, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        return ChangesRowAsync(
            $"UPDATE jobs SET progress = {database.Json("@Progress")}, heartbeat_at = @Now WHERE id = @Id AND lease_token = @LeaseToken",
            new { Id = database.Id(id), LeaseToken = database.Id(leaseToken), Progress = JobStoreJson.Serialize(progress), Now = database.Time(now) },
            cancellationToken);
    }

    public Task<bool> HeartbeatAsync(Guid id, Guid leaseToken, DateTimeOffset now, CancellationToken cancellationToken) =>
        ChangesRowAsync("UPDATE jobs SET heartbeat_at = @Now WHERE id = @Id AND lease_token = @LeaseToken",
            new { Id = database.Id(id), LeaseToken = database.Id(leaseToken), Now = database.Time(now) }, cancellationToken);

    /// <remarks>
    /// <see cref="JobStatus.Queued"/> (or <see cref="JobStatus.Interrupted"/>) clears the lease, worker and
    /// device and leaves the job waiting; but a job whose cancellation was asked for becomes cancelled
    /// instead, since no attempt would ever start it again. A terminal status sets FinishedAt, clears the
    /// lease and keeps the worker and device that ran it. Result and error are stored as given, either way.
    /// The attempt's row gets its end, reason and the position the job last reported, in the same transaction;
    /// the job's termination reason is set when it ends. A job that ends cancelled (by its attempt, or
    /// instead of being requeued) takes the reason its cancellation was asked for with: cancelled for a
    /// person's, stopped-by-search for a sweep's early stopping; the worker cannot tell them apart.
    /// </remarks>
    public Task<bool> FinishAttemptAsync(
        Guid id, Guid leaseToken, JobStatus status, TerminationReason reason, JobResult? result, JobError? error, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var requeue = status switch
        {
            JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled => false,
            JobStatus.Queued or JobStatus.Interrupted => true,
            _ => throw new ArgumentOutOfRangeException(nameof(status), status,
                "An attempt ends succeeded, failed, cancelled, or queued to be taken up again."),
        };
        var finish = $"""
            UPDATE jobs
            SET status = CASE WHEN @Requeue AND cancel_requested THEN 'cancelled' ELSE @Status END,
                finished_at = CASE WHEN @Requeue AND NOT cancel_requested THEN NULL ELSE @Now END,
                worker = CASE WHEN @Requeue AND NOT cancel_requested THEN NULL ELSE worker END,
                device = CASE WHEN @Requeue AND NOT cancel_requested THEN NULL ELSE device END,
                termination_reason = CASE WHEN @Status = 'cancelled' OR (@Requeue AND cancel_requested) THEN COALESCE(cancel_reason, 'cancelled')
                                          WHEN NOT @Requeue THEN @Reason ELSE termination_reason END,
                lease_token = NULL,
                result = {database.Json("@Result")},
                error = {database.Json("@Error")}
            WHERE id = @Id AND lease_token = @LeaseToken
            RETURNING attempt, progress, termination_reason
            """;
        const string record = """
            UPDATE job_attempts
            SET ended_at = @Now, reason = @Reason, message = @Message, reached_epoch = @Epoch, reached_step = @Step
            WHERE job_id = @Id AND attempt = @Attempt
            """;
        return database.InWriteTransactionAsync(async (connection, transaction) =>
        {
            var ended = await connection.QueryFirstOrDefaultAsync<EndedAttempt>(JobDatabase.Command(finish, new
            {
                Id = database.Id(id),
                LeaseToken = database.Id(leaseToken),
                Requeue = requeue,
                Status = JobRow.Text(status),
                Reason = JobRow.Text(reason),
                Now = database.Time(now),
                Result = JobStoreJson.SerializeOrNull(result),
                Error = JobStoreJson.SerializeOrNull(error),
            }, transaction, cancellationToken));
            if (ended is null)
                return false;
            var reached = JobStoreJson.DeserializeOrNull<JobProgress>(ended.Progress);
            await connection.ExecuteAsync(JobDatabase.Command(record, new
            {
                Id = database.Id(id),
                ended.Attempt,
                Now = database.Time(now),
                // A cancel's reason is the one it was asked for with (stopped-by-search), as the job's is.
                Reason = status == JobStatus.Cancelled && ended.TerminationReason is { } asked ? asked : JobRow.Text(reason),
                error?.Message,
                reached?.Epoch,
                reached?.Step,
            }, transaction, cancellationToken));
            return true;
        }, cancellationToken);
    }

    /// <summary>What finishing an attempt returns: which attempt it was, and the position the job last reported.</summary>
    internal sealed class EndedAttempt
    {
        public int Attempt { get; init; }
        public string? Progress { get; init; }
        public string? TerminationReason { get; init; }
    }

    public Task<CancelOutcome> RequestCancelAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken) =>
        RequestCancelAsync(id, TerminationReason.Cancelled, now, cancellationToken);

    /// <remarks>
    /// A person's cancel stores no reason (NULL: the job ends 'cancelled', as before reasons were kept);
    /// any other reason is kept in <c>cancel_reason</c> until the job ends, and is its termination reason then.
    /// </remarks>
    public async Task<CancelOutcome> RequestCancelAsync(Guid id, TerminationReason reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // One conditional UPDATE makes every change; when it changes nothing, the status read after it
        // says why. Should the job have moved back into a cancellable state in between (an attempt
        // requeued), the UPDATE is simply tried again.
        const string update = """
            UPDATE jobs
            SET status = CASE WHEN status = 'running' THEN 'cancelling' ELSE 'cancelled' END,
                finished_at = CASE WHEN status = 'running' THEN finished_at ELSE @Now END,
                termination_reason = CASE WHEN status = 'running' THEN termination_reason ELSE COALESCE(@Reason, 'cancelled') END,
                cancel_reason = @Reason,
                cancel_requested = TRUE
            WHERE id = @Id AND status IN ('queued', 'interrupted', 'running')
            RETURNING status
            """;
        var parameters = new { Id = database.Id(id), Now = database.Time(now), Reason = reason == TerminationReason.Cancelled ? null : JobRow.Text(reason) };
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        while (true)
        {
            var changed = await connection.QueryFirstOrDefaultAsync<string>(JobDatabase.Command(update, parameters, null, cancellationToken));
            if (changed is not null)
                return ParseStatus(changed) == JobStatus.Cancelling ? CancelOutcome.CancellationRequested : CancelOutcome.CancelledBeforeStart;

            var current = await connection.QueryFirstOrDefaultAsync<string>(
                JobDatabase.Command("SELECT status FROM jobs WHERE id = @Id", parameters, null, cancellationToken));
            if (current is null)
                return CancelOutcome.NotFound;
            var status = ParseStatus(current);
            if (status == JobStatus.Cancelling)
                return CancelOutcome.AlreadyCancelling;
            if (status.IsTerminal())
                return CancelOutcome.AlreadyFinished;
        }
    }

    // ---- Dispatch: the outbox that makes "stored" imply "enqueued, eventually".

    public Task<bool> FailUnstartedAsync(Guid id, JobError error, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(error);
        return ChangesRowAsync(
            $"UPDATE jobs SET status = 'failed', error = {database.Json("@Error")}, finished_at = @Now, termination_reason = 'no-worker' WHERE id = @Id AND status = 'queued' AND attempt = 0",
            new { Id = database.Id(id), Error = JobStoreJson.Serialize(error), Now = database.Time(now) }, cancellationToken);
    }

    public Task MarkDispatchedAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken) =>
        database.ExecuteAsync("UPDATE jobs SET dispatched_at = @Now WHERE id = @Id AND dispatched_at IS NULL",
            new { Id = database.Id(id), Now = database.Time(now) }, cancellationToken);

    public async Task<IReadOnlyList<JobRecord>> ListUndispatchedAsync(DateTimeOffset createdBefore, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        const string sql = $"""
            {SelectJobs}
            WHERE dispatched_at IS NULL AND status = 'queued' AND created_at < @CreatedBefore
            ORDER BY created_at, id
            LIMIT @Limit
            """;
        return await QueryJobsAsync(sql, new { CreatedBefore = database.Time(createdBefore), Limit = limit }, cancellationToken);
    }

    // ---- The API's per-owner cap.

    public async Task<int> CountUnfinishedJobsAsync(string owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        return checked((int)await database.ScalarAsync<long>(
            "SELECT COUNT(*) FROM jobs WHERE owner = @Owner AND status IN ('queued', 'running', 'cancelling', 'interrupted')",
            new { Owner = owner }, cancellationToken));
    }

    public async Task<bool> IdempotencyKeyUsedAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(idempotencyKey);
        return await database.ScalarAsync<long>("SELECT COUNT(*) FROM jobs WHERE idempotency_key = @Key",
            new { Key = idempotencyKey }, cancellationToken) > 0;
    }

    // ---- Plumbing.

    private static JobStatus ParseStatus(string status) => Enum.Parse<JobStatus>(status, ignoreCase: true);

    private async Task<List<JobRecord>> QueryJobsAsync(string sql, object parameters, CancellationToken cancellationToken) =>
        [.. (await database.QueryAsync<JobRow>(sql, parameters, cancellationToken)).Select(row => row.ToRecord())];

    private async Task<JobRecord?> QueryJobAsync(string sql, object parameters, CancellationToken cancellationToken) =>
        (await database.QueryFirstOrDefaultAsync<JobRow>(sql, parameters, cancellationToken))?.ToRecord();

    /// <summary>A conditional write: true when it changed the row (the lease, or the state it asks for, held).</summary>
    private async Task<bool> ChangesRowAsync(string sql, object parameters, CancellationToken cancellationToken) =>
        await database.ExecuteAsync(sql, parameters, cancellationToken) > 0;
}
