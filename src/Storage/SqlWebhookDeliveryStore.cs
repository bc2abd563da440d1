using Dapper;
using TrainingService.Contracts;
using TrainingService.Contracts.Webhooks;

namespace TrainingService.Storage;

/// <summary>
/// <see cref="IWebhookDeliveryStore"/> in SQL, on either engine: tables <c>webhook_deliveries</c> and
/// <c>webhook_attempts</c>, and the <c>webhooks_announced_at</c> column of <c>jobs</c> and <c>sweeps</c>.
/// </summary>
/// <remarks>
/// Concurrency: announcing is a conditional UPDATE of the announced time in the transaction that
/// inserts the deliveries, so of two processes announcing the same end exactly one stores anything.
/// Claiming sets a lease (token and expiry) on due rows in one UPDATE, whose row picks skip rows
/// another claim is locking (PostgreSQL) and whose conditions are re-checked on the rows it changes,
/// so a row is leased to one claim at a time; recording an attempt is conditioned on the lease.
/// </remarks>
public sealed class SqlWebhookDeliveryStore(JobDatabase database) : IWebhookDeliveryStore
{
    private const string Columns =
        "id, subscription_id, target_kind, target_id, event_type, payload, state, attempts, created_at, next_attempt_at, finished_at";

    private const string Ended = "('succeeded', 'failed', 'cancelled')";

    public async Task<IReadOnlyList<JobRecord>> ListUnannouncedJobsAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var rows = await database.QueryAsync<JobRow>($"""
            SELECT {JobRow.Columns} FROM jobs{database.IndexHint("jobs_unannounced")}
            WHERE webhooks_announced_at IS NULL AND status IN {Ended}
            ORDER BY finished_at, id
            LIMIT @Limit
            """, new { Limit = limit }, cancellationToken);
        return [.. rows.Select(r => r.ToRecord())];
    }

    public async Task<IReadOnlyList<SweepRecord>> ListUnannouncedSweepsAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        // The same rule as the sweep's status (SweepReport): cancelled, or every point's job has ended.
        var rows = await database.QueryAsync<SweepRow>($"""
            SELECT {SqlSweepStore.Columns} FROM sweeps
            WHERE webhooks_announced_at IS NULL
              AND (cancel_requested = TRUE
                   OR point_count = (SELECT COUNT(*) FROM sweep_jobs sj JOIN jobs j ON j.id = sj.job_id
                                     WHERE sj.sweep_id = sweeps.id AND j.status IN {Ended}))
            ORDER BY created_at, id
            LIMIT @Limit
            """, new { Limit = limit }, cancellationToken);
        return [.. rows.Select(r => r.ToRecord())];
    }

    public async Task<bool> AnnounceAsync(WebhookTarget target, IReadOnlyList<WebhookDelivery> deliveries, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(deliveries);
        var table = target.Kind == WebhookTargetKind.Job ? "jobs" : "sweeps";
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await database.BeginWriteTransactionAsync(connection, cancellationToken);
        var marked = await connection.ExecuteAsync(JobDatabase.Command(
            $"UPDATE {table} SET webhooks_announced_at = @Now WHERE id = @Id AND webhooks_announced_at IS NULL",
            new { Id = database.Id(target.Id), Now = database.Time(now) }, transaction, cancellationToken));
        if (marked == 0)
            return false;
        foreach (var delivery in deliveries)
        {
            await connection.ExecuteAsync(JobDatabase.Command($"""
                INSERT INTO webhook_deliveries ({Columns})
                VALUES (@Id, @SubscriptionId, @TargetKind, @TargetId, @EventType, @Payload, @State, @Attempts, @CreatedAt, @NextAttemptAt, @FinishedAt)
                """, new
            {
                Id = database.Id(delivery.Id),
                SubscriptionId = database.Id(delivery.SubscriptionId),
                TargetKind = delivery.Target.KindName,
                TargetId = database.Id(delivery.Target.Id),
                delivery.EventType,
                delivery.Payload,
                State = StateText(delivery.State),
                delivery.Attempts,
                CreatedAt = database.Time(delivery.CreatedAt),
                NextAttemptAt = database.Time(delivery.NextAttemptAt),
                FinishedAt = database.Time(delivery.FinishedAt),
            }, transaction, cancellationToken));
        }
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<IReadOnlyList<WebhookClaim>> ClaimDueAsync(DateTimeOffset now, DateTimeOffset leaseUntil, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var token = Guid.NewGuid();
        var parameters = new { Token = database.Id(token), Now = database.Time(now), LeaseUntil = database.Time(leaseUntil), Limit = limit };
        const string due = "state = 'pending' AND next_attempt_at <= @Now AND (lease_until IS NULL OR lease_until < @Now)";
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        // The picks are materialized once: a sub-SELECT in the WHERE may be run again for rows a
        // racing claim changed (PostgreSQL's recheck), and with SKIP LOCKED a second run picks others.
        var claimed = await connection.ExecuteAsync(JobDatabase.Command($"""
            WITH picked AS MATERIALIZED (
                SELECT id FROM webhook_deliveries WHERE {due} ORDER BY next_attempt_at, id LIMIT @Limit{database.SkipLockedClause})
            UPDATE webhook_deliveries SET lease_token = @Token, lease_until = @LeaseUntil
            WHERE {due} AND id IN (SELECT id FROM picked)
            """, parameters, null, cancellationToken));
        if (claimed == 0)
            return [];
        var columns = string.Join(", ", Columns.Split(", ").Select(c => "d." + c));
        var rows = await connection.QueryAsync<WebhookDeliveryRow>(JobDatabase.Command($"""
            SELECT {columns}, s.url AS url, s.secret AS secret, s.deleted_at AS subscription_deleted_at
            FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
            WHERE d.lease_token = @Token
            ORDER BY d.next_attempt_at, d.id
            """, parameters, null, cancellationToken));
        return [.. rows.Select(r => new WebhookClaim(r.ToRecord(), r.Url!, r.Secret!, r.SubscriptionDeletedAt is not null, token))];
    }

    public async Task<bool> RecordAttemptAsync(
        WebhookClaim claim, WebhookAttempt? attempt, WebhookDeliveryState state, DateTimeOffset nextAttemptAt, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var parameters = new
        {
            Id = database.Id(claim.Delivery.Id),
            Token = database.Id(claim.LeaseToken),
            State = StateText(state),
            Counted = attempt is null ? 0 : 1,
            NextAttemptAt = database.Time(nextAttemptAt),
            FinishedAt = state == WebhookDeliveryState.Pending ? null : database.Time(now),
            StartedAt = database.Time(attempt?.StartedAt ?? now),
            DurationMs = attempt?.DurationMilliseconds ?? 0,
            attempt?.StatusCode,
            attempt?.Error,
        };
        const string held = "id = @Id AND lease_token = @Token AND state = 'pending'";
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await database.BeginWriteTransactionAsync(connection, cancellationToken);
        if (attempt is not null)
        {
            // Numbered from the delivery's own count, under the lease: the next number, once.
            await connection.ExecuteAsync(JobDatabase.Command($"""
                INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error)
                SELECT id, attempts + 1, @StartedAt, @DurationMs, @StatusCode, @Error FROM webhook_deliveries WHERE {held}
                """, parameters, transaction, cancellationToken));
        }
        var changed = await connection.ExecuteAsync(JobDatabase.Command($"""
            UPDATE webhook_deliveries
            SET state = @State, attempts = attempts + @Counted, next_attempt_at = @NextAttemptAt, finished_at = @FinishedAt,
                lease_token = NULL, lease_until = NULL
            WHERE {held}
            """, parameters, transaction, cancellationToken));
        if (changed == 0)
            return false; // disposing the transaction rolls the attempt's row back too
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public Task ReleaseAsync(WebhookClaim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        return database.ExecuteAsync("UPDATE webhook_deliveries SET lease_token = NULL, lease_until = NULL WHERE id = @Id AND lease_token = @Token",
            new { Id = database.Id(claim.Delivery.Id), Token = database.Id(claim.LeaseToken) }, cancellationToken);
    }

    public async Task<IReadOnlyList<WebhookDeliveryReport>> ListDeliveriesAsync(WebhookTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var parameters = new { TargetId = database.Id(target.Id), TargetKind = target.KindName };
        var columns = string.Join(", ", Columns.Split(", ").Select(c => "d." + c));
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        var deliveries = (await connection.QueryAsync<WebhookDeliveryRow>(JobDatabase.Command($"""
            SELECT {columns}, s.url AS url, s.target_id AS subscription_target_id
            FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
            WHERE d.target_id = @TargetId AND d.target_kind = @TargetKind
            ORDER BY d.created_at, d.id
            """, parameters, null, cancellationToken))).AsList();
        var attempts = (await connection.QueryAsync<WebhookAttemptRow>(JobDatabase.Command("""
            SELECT a.delivery_id, a.attempt, a.started_at, a.duration_ms, a.status_code, a.error
            FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
            WHERE d.target_id = @TargetId AND d.target_kind = @TargetKind
            ORDER BY a.delivery_id, a.attempt
            """, parameters, null, cancellationToken))).ToLookup(a => a.DeliveryId);
        return [.. deliveries.Select(d => new WebhookDeliveryReport(
            d.ToRecord(), d.Url!, FromDefault: d.SubscriptionTargetId is null, [.. attempts[d.Id].Select(a => a.ToRecord())]))];
    }

    internal static string StateText(WebhookDeliveryState state) => state.ToString().ToLowerInvariant();
}

/// <summary>A row of <c>webhook_deliveries</c>, with what a query joins from its subscription.</summary>
internal sealed class WebhookDeliveryRow
{
    public Guid Id { get; init; }
    public Guid SubscriptionId { get; init; }
    public required string TargetKind { get; init; }
    public Guid TargetId { get; init; }
    public required string EventType { get; init; }
    public required string Payload { get; init; }
    public WebhookDeliveryState State { get; init; }
    public int Attempts { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset NextAttemptAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public string? Url { get; init; }
    public string? Secret { get; init; }
    public DateTimeOffset? SubscriptionDeletedAt { get; init; }
    public Guid? SubscriptionTargetId { get; init; }

    public WebhookDelivery ToRecord() => new(
        Id, SubscriptionId, new WebhookTarget(WebhookTargets.ParseKind(TargetKind), TargetId), EventType, Payload, State, Attempts,
        CreatedAt, NextAttemptAt, FinishedAt);
}

/// <summary>A row of <c>webhook_attempts</c>.</summary>
internal sealed class WebhookAttemptRow
{
    public Guid DeliveryId { get; init; }
    public int Attempt { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public int DurationMs { get; init; }
    public int? StatusCode { get; init; }
    public string? Error { get; init; }

    public WebhookAttempt ToRecord() => new(Attempt, StartedAt, DurationMs, StatusCode, Error);
}
