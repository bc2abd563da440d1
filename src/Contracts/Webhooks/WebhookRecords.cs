namespace TrainingService.Contracts.Webhooks;

/// <summary>What a webhook event is about: a job or a sweep.</summary>
public enum WebhookTargetKind
{
    Job,
    Sweep,
}

/// <summary>A job or a sweep, by id.</summary>
public sealed record WebhookTarget(WebhookTargetKind Kind, Guid Id)
{
    /// <summary><c>job</c> or <c>sweep</c>: how the store and the event types spell the kind.</summary>
    public string KindName => Kind == WebhookTargetKind.Job ? "job" : "sweep";
}

/// <summary>
/// Where to POST events, signed with <see cref="Secret"/>. Either the callback a job or sweep named
/// when it was submitted (<see cref="Target"/> set: that job's or sweep's events only), or a default
/// of an owner (<see cref="Target"/> null: every job and sweep of <see cref="Owner"/> that ends after
/// it was registered; with authentication off the owner is null, one list for everyone).
/// </summary>
/// <param name="Id">Its id; a default subscription's is what it is deleted by.</param>
/// <param name="Owner">Whose it is: the API key name that made it (null with authentication off).</param>
/// <param name="Target">The job or sweep whose callback it is; null for a default subscription.</param>
/// <param name="Url">Where events are POSTed: http or https.</param>
/// <param name="Secret">The HMAC-SHA256 key of the events' signatures; never shown or logged.</param>
/// <param name="Events">For a default: the event types it takes (<c>job.succeeded</c>, …); null for all.</param>
/// <param name="CreatedAt">When it was made; a default takes the ends of jobs and sweeps after this.</param>
/// <param name="DeletedAt">When it was deleted; null while it is in force.</param>
public sealed record WebhookSubscription(
    Guid Id,
    string? Owner,
    WebhookTarget? Target,
    string Url,
    string Secret,
    IReadOnlyList<string>? Events,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DeletedAt = null)
{
    /// <summary>Keeps the secret out of logs and debugger views: a record's own ToString would print it.</summary>
    public override string ToString() => $"WebhookSubscription {{ Id = {Id}, Owner = {Owner}, Target = {Target}, Url = {Url}, Events = {Events?.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "all"}, CreatedAt = {CreatedAt:O} }}";
}

/// <summary>Where a delivery stands: waiting for its next attempt, or done one way or another.</summary>
public enum WebhookDeliveryState
{
    /// <summary>Not delivered yet: its next attempt is due at <see cref="WebhookDelivery.NextAttemptAt"/>.</summary>
    Pending,
    /// <summary>A receiver answered 2xx.</summary>
    Delivered,
    /// <summary>Every attempt allowed failed (or the time allowed ran out): no more are made.</summary>
    Failed,
    /// <summary>Its subscription was deleted before it was delivered: no more attempts are made.</summary>
    Cancelled,
}

/// <summary>
/// One event for one subscription: the body to POST, fixed when the event was made (so every retry
/// sends the same bytes, and <see cref="Id"/> lets the receiver drop a repeat), and its attempts so far.
/// </summary>
public sealed record WebhookDelivery(
    Guid Id,
    Guid SubscriptionId,
    WebhookTarget Target,
    string EventType,
    string Payload,
    WebhookDeliveryState State,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset NextAttemptAt,
    DateTimeOffset? FinishedAt);

/// <summary>One POST of a delivery and what came of it: the receiver's status code, or the error (timeout, refused, …).</summary>
public sealed record WebhookAttempt(int Number, DateTimeOffset StartedAt, int DurationMilliseconds, int? StatusCode, string? Error);

/// <summary>A delivery as shown to its job's or sweep's reader: where it goes, how it went, every attempt.</summary>
public sealed record WebhookDeliveryReport(WebhookDelivery Delivery, string Url, bool FromDefault, IReadOnlyList<WebhookAttempt> Attempts);

/// <summary>
/// A delivery claimed for an attempt: the subscription's URL and secret to send it with, and the lease
/// token that fences what the attempt records (a claim whose lease ran out and was taken over by
/// another process records nothing).
/// </summary>
public sealed record WebhookClaim(WebhookDelivery Delivery, string Url, string Secret, bool SubscriptionDeleted, Guid LeaseToken)
{
    public override string ToString() => $"WebhookClaim {{ Delivery = {Delivery.Id}, Url = {Url}, LeaseToken = {LeaseToken} }}";
}
