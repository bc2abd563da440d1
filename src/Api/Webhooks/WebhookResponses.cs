using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Contracts.Webhooks;

namespace TrainingService.Api.Webhooks;

/// <summary>A default subscription. Its secret is never shown.</summary>
public sealed record WebhookSubscriptionResponse : IOpenApiExample<WebhookSubscriptionResponse>
{
    public required Guid Id { get; init; }

    /// <summary>Where events are POSTed.</summary>
    public required string Url { get; init; }

    /// <summary>The event types it takes; null for all.</summary>
    public required IReadOnlyList<string>? Events { get; init; }

    /// <summary>The API key name whose jobs and sweeps it takes; null when it was made with authentication off (it then takes the jobs and sweeps made so).</summary>
    public required string? Owner { get; init; }

    /// <summary>It takes the jobs and sweeps that end after this.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    public static WebhookSubscriptionResponse Example { get; } = new()
    {
        Id = Guid.Parse("0197a1f2-8e5f-7b2c-9d3e-4f5a6b7c8d9e"),
        Url = "https://chat.example.com/hooks/training",
        Events = ["job.failed", "sweep.succeeded", "sweep.failed"],
        Owner = "alice",
        CreatedAt = new DateTimeOffset(2026, 11, 26, 9, 0, 0, TimeSpan.Zero),
    };

    public static WebhookSubscriptionResponse From(WebhookSubscription subscription) => new()
    {
        Id = subscription.Id,
        Url = subscription.Url,
        Events = subscription.Events,
        Owner = subscription.Owner,
        CreatedAt = subscription.CreatedAt,
    };
}

/// <summary>Default subscriptions, oldest first.</summary>
public sealed record WebhookSubscriptionListResponse : IOpenApiExample<WebhookSubscriptionListResponse>
{
    public required IReadOnlyList<WebhookSubscriptionResponse> Items { get; init; }

    public static WebhookSubscriptionListResponse Example { get; } = new() { Items = [WebhookSubscriptionResponse.Example] };
}

/// <summary>The webhook deliveries of a job's or sweep's events, oldest first, each with every attempt.</summary>
public sealed record WebhookDeliveryListResponse : IOpenApiExample<WebhookDeliveryListResponse>
{
    public required IReadOnlyList<WebhookDeliveryResponse> Items { get; init; }

    public static WebhookDeliveryListResponse Example { get; } = new() { Items = [WebhookDeliveryResponse.Example] };
}

/// <summary>One event on its way to one receiver.</summary>
public sealed record WebhookDeliveryResponse : IOpenApiExample<WebhookDeliveryResponse>
{
    /// <summary>The delivery's id: the event's <c>id</c> and <c>X-TrainingService-Delivery</c>, the same on every attempt.</summary>
    public required Guid Id { get; init; }

    /// <summary><c>job.succeeded</c>, <c>job.failed</c>, <c>job.cancelled</c>, <c>sweep.succeeded</c>, <c>sweep.failed</c> or <c>sweep.cancelled</c>.</summary>
    public required string Event { get; init; }

    /// <summary><c>callback</c> (the job's or sweep's own) or <c>default</c> (a subscription of its owner, <c>GET /webhooks</c>).</summary>
    public required string Subscription { get; init; }

    public required Guid SubscriptionId { get; init; }

    /// <summary>Where it is POSTed.</summary>
    public required string Url { get; init; }

    /// <summary>
    /// <c>pending</c> (its next attempt is due at <c>nextAttemptAt</c>), <c>delivered</c> (a 2xx answer),
    /// <c>failed</c> (every attempt allowed failed) or <c>cancelled</c> (its subscription was deleted).
    /// </summary>
    public required string Status { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the next attempt is due; null once it is no longer pending.</summary>
    public required DateTimeOffset? NextAttemptAt { get; init; }

    /// <summary>When it was delivered, or given up; null while pending.</summary>
    public required DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Every attempt so far, first first.</summary>
    public required IReadOnlyList<WebhookAttemptResponse> Attempts { get; init; }

    public static WebhookDeliveryResponse Example { get; } = new()
    {
        Id = Guid.Parse("0197a1f3-0a1b-7c2d-8e3f-4a5b6c7d8e9f"),
        Event = "job.succeeded",
        Subscription = "callback",
        SubscriptionId = Guid.Parse("0197a1f2-8e5f-7b2c-9d3e-4f5a6b7c8d9e"),
        Url = "https://ci.example.com/hooks/training",
        Status = "delivered",
        CreatedAt = new DateTimeOffset(2026, 11, 26, 9, 5, 0, TimeSpan.Zero),
        NextAttemptAt = null,
        FinishedAt = new DateTimeOffset(2026, 11, 26, 9, 5, 31, TimeSpan.Zero),
        Attempts =
        [
            new WebhookAttemptResponse { Attempt = 1, StartedAt = new DateTimeOffset(2026, 11, 26, 9, 5, 0, TimeSpan.Zero), DurationMs = 12, StatusCode = 503, Error = "HTTP 503 Service Unavailable" },
            WebhookAttemptResponse.Example,
        ],
    };

    public static WebhookDeliveryResponse From(WebhookDeliveryReport report) => new()
    {
        Id = report.Delivery.Id,
        Event = report.Delivery.EventType,
        Subscription = report.FromDefault ? "default" : "callback",
        SubscriptionId = report.Delivery.SubscriptionId,
        Url = report.Url,
        Status = report.Delivery.State.ToString().ToLowerInvariant(),
        CreatedAt = report.Delivery.CreatedAt,
        NextAttemptAt = report.Delivery.State == WebhookDeliveryState.Pending ? report.Delivery.NextAttemptAt : null,
        FinishedAt = report.Delivery.FinishedAt,
        Attempts = [.. report.Attempts.Select(WebhookAttemptResponse.From)],
    };
}

/// <summary>One POST of a delivery.</summary>
public sealed record WebhookAttemptResponse : IOpenApiExample<WebhookAttemptResponse>
{
    /// <summary>1 for the first.</summary>
    public required int Attempt { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>How long it took, connecting included, in milliseconds.</summary>
    public required int DurationMs { get; init; }

    /// <summary>The receiver's HTTP status; null when there was no answer (refused, timed out, …).</summary>
    public required int? StatusCode { get; init; }

    /// <summary>Why it failed; null when it succeeded (a 2xx answer).</summary>
    public required string? Error { get; init; }

    public static WebhookAttemptResponse Example { get; } = new()
    {
        Attempt = 2,
        StartedAt = new DateTimeOffset(2026, 11, 26, 9, 5, 31, TimeSpan.Zero),
        DurationMs = 9,
        StatusCode = 200,
        Error = null,
    };

    public static WebhookAttemptResponse From(WebhookAttempt attempt) => new()
    {
        Attempt = attempt.Number,
        StartedAt = attempt.StartedAt,
        DurationMs = attempt.DurationMilliseconds,
        StatusCode = attempt.StatusCode,
        Error = attempt.Error,
    };
}
