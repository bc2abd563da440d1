using Dapper;
using TrainingService.Contracts.Webhooks;

namespace TrainingService.Storage;

/// <summary><see cref="IWebhookSubscriptionStore"/> in SQL, on either engine: table <c>webhook_subscriptions</c>.</summary>
public sealed class SqlWebhookSubscriptionStore(JobDatabase database) : IWebhookSubscriptionStore
{
    internal const string Columns = "id, owner, target_kind, target_id, url, secret, events, created_at, deleted_at";

    public Task CreateSubscriptionAsync(WebhookSubscription subscription, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        return database.ExecuteAsync($"""
            INSERT INTO webhook_subscriptions ({Columns})
            VALUES (@Id, @Owner, @TargetKind, @TargetId, @Url, @Secret, {database.Json("@Events")}, @CreatedAt, NULL)
            """, new
        {
            Id = database.Id(subscription.Id),
            subscription.Owner,
            TargetKind = subscription.Target?.KindName,
            TargetId = database.Id(subscription.Target?.Id),
            subscription.Url,
            subscription.Secret,
            Events = subscription.Events is null ? null : JobStoreJson.Serialize(subscription.Events),
            CreatedAt = database.Time(subscription.CreatedAt),
        }, cancellationToken);
    }

    public async Task<WebhookSubscription?> GetDefaultSubscriptionAsync(Guid id, CancellationToken cancellationToken) =>
        (await database.QueryFirstOrDefaultAsync<WebhookSubscriptionRow>(
            $"SELECT {Columns} FROM webhook_subscriptions WHERE id = @Id AND target_id IS NULL AND deleted_at IS NULL",
            new { Id = database.Id(id) }, cancellationToken))?.ToRecord();

    public async Task<IReadOnlyList<WebhookSubscription>> ListDefaultSubscriptionsAsync(string? owner, bool allOwners, CancellationToken cancellationToken)
    {
        var ownerCondition = allOwners ? "" : "AND (owner = @Owner OR (owner IS NULL AND @Owner IS NULL))";
        var rows = await database.QueryAsync<WebhookSubscriptionRow>($"""
            SELECT {Columns} FROM webhook_subscriptions
            WHERE target_id IS NULL AND deleted_at IS NULL {ownerCondition}
            ORDER BY created_at, id
            """, new { Owner = owner }, cancellationToken);
        return [.. rows.Select(r => r.ToRecord())];
    }

    public async Task<bool> DeleteSubscriptionAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // One transaction: once the subscription reads deleted, none of its deliveries is pending, and
        // an attempt in flight records nothing (it finds its delivery no longer pending).
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await database.BeginWriteTransactionAsync(connection, cancellationToken);
        var parameters = new { Id = database.Id(id), Now = database.Time(now) };
        var deleted = await connection.ExecuteAsync(JobDatabase.Command(
            "UPDATE webhook_subscriptions SET deleted_at = @Now WHERE id = @Id AND deleted_at IS NULL", parameters, transaction, cancellationToken));
        if (deleted == 0)
            return false;
        await connection.ExecuteAsync(JobDatabase.Command("""
            UPDATE webhook_deliveries SET state = 'cancelled', finished_at = @Now, lease_token = NULL, lease_until = NULL
            WHERE subscription_id = @Id AND state = 'pending'
            """, parameters, transaction, cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<IReadOnlyList<WebhookSubscription>> ListSubscriptionsForAsync(WebhookTarget target, string? owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var rows = await database.QueryAsync<WebhookSubscriptionRow>($"""
            SELECT {Columns} FROM webhook_subscriptions
            WHERE deleted_at IS NULL
              AND ((target_id = @TargetId AND target_kind = @TargetKind)
                   OR (target_id IS NULL AND (owner = @Owner OR (owner IS NULL AND @Owner IS NULL))))
            ORDER BY created_at, id
            """, new { TargetId = database.Id(target.Id), TargetKind = target.KindName, Owner = owner }, cancellationToken);
        return [.. rows.Select(r => r.ToRecord())];
    }
}

/// <summary>A row of <c>webhook_subscriptions</c>.</summary>
internal sealed class WebhookSubscriptionRow
{
    public Guid Id { get; init; }
    public string? Owner { get; init; }
    public string? TargetKind { get; init; }
    public Guid? TargetId { get; init; }
    public required string Url { get; init; }
    public required string Secret { get; init; }
    public string? Events { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? DeletedAt { get; init; }

    public WebhookSubscription ToRecord() => new(
        Id,
        Owner,
        TargetId is { } target ? new WebhookTarget(WebhookTargets.ParseKind(TargetKind), target) : null,
        Url,
        Secret,
        Events is null ? null : JobStoreJson.Deserialize<string[]>(Events),
        CreatedAt,
        DeletedAt);
}

/// <summary>How the webhook tables spell a target's kind.</summary>
internal static class WebhookTargets
{
    public static WebhookTargetKind ParseKind(string? kind) => kind switch
    {
        "job" => WebhookTargetKind.Job,
        "sweep" => WebhookTargetKind.Sweep,
        _ => throw new InvalidOperationException($"Unknown webhook target kind '{kind}'."),
    };
}
