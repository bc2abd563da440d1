namespace TrainingService.Contracts.Webhooks;

/// <summary>Who is called back: jobs' and sweeps' own callbacks, and owners' default subscriptions.</summary>
public interface IWebhookSubscriptionStore
{
    Task CreateSubscriptionAsync(WebhookSubscription subscription, CancellationToken cancellationToken);

    /// <summary>A default subscription (not a job's or sweep's callback) that has not been deleted.</summary>
    Task<WebhookSubscription?> GetDefaultSubscriptionAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>
    /// Default subscriptions not deleted, oldest first: <paramref name="owner"/>'s only when
    /// <paramref name="allOwners"/> is false (null: those made with authentication off), else everyone's.
    /// </summary>
    Task<IReadOnlyList<WebhookSubscription>> ListDefaultSubscriptionsAsync(string? owner, bool allOwners, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes a subscription (it stays readable in its deliveries' reports) and cancels its pending
    /// deliveries. False when it does not exist or was deleted already.
    /// </summary>
    Task<bool> DeleteSubscriptionAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The subscriptions an event of <paramref name="target"/> may go to: its own callback and its owner's defaults, not deleted.</summary>
    Task<IReadOnlyList<WebhookSubscription>> ListSubscriptionsForAsync(WebhookTarget target, string? owner, CancellationToken cancellationToken);
}

/// <summary>
/// The webhook outbox: which jobs and sweeps have ended without their events made yet, the
/// deliveries those events became, and every attempt at them. Safe for several API processes at once:
/// an end is announced by one of them (<see cref="AnnounceAsync"/>), and a delivery is attempted by
/// the one holding its lease (<see cref="ClaimDueAsync"/>).
/// </summary>
public interface IWebhookDeliveryStore
{
    /// <summary>Jobs that have ended (succeeded, failed, cancelled) and are not announced yet, those that ended first first.</summary>
    Task<IReadOnlyList<JobRecord>> ListUnannouncedJobsAsync(int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Sweeps that have ended and are not announced yet: cancelled ones, and those whose every point
    /// has a job that has ended.
    /// </summary>
    Task<IReadOnlyList<SweepRecord>> ListUnannouncedSweepsAsync(int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Marks the job or sweep announced and stores its deliveries, in one transaction. False (and
    /// nothing stored) when it was announced already, by this process or another.
    /// </summary>
    Task<bool> AnnounceAsync(WebhookTarget target, IReadOnlyList<WebhookDelivery> deliveries, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Leases up to <paramref name="limit"/> pending deliveries whose next attempt is due and which no
    /// live lease holds, until <paramref name="leaseUntil"/>; earliest due first.
    /// </summary>
    Task<IReadOnlyList<WebhookClaim>> ClaimDueAsync(DateTimeOffset now, DateTimeOffset leaseUntil, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Records an attempt of a claimed delivery and where that leaves it: <paramref name="state"/>
    /// (pending again, due at <paramref name="nextAttemptAt"/>; or delivered, failed or cancelled),
    /// releasing the lease. False (nothing recorded) when the lease is no longer this claim's, or the
    /// delivery is no longer pending (its subscription was deleted meanwhile).
    /// </summary>
    Task<bool> RecordAttemptAsync(WebhookClaim claim, WebhookAttempt? attempt, WebhookDeliveryState state, DateTimeOffset nextAttemptAt, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Gives a claimed delivery back unattempted (the process is stopping), so it is due again at once.</summary>
    Task ReleaseAsync(WebhookClaim claim, CancellationToken cancellationToken);

    /// <summary>The deliveries of a job's or sweep's events, oldest first, with every attempt.</summary>
    Task<IReadOnlyList<WebhookDeliveryReport>> ListDeliveriesAsync(WebhookTarget target, CancellationToken cancellationToken);
}
