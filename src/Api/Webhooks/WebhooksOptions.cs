namespace TrainingService.Api.Webhooks;

/// <summary>
/// Webhook delivery (docs/webhooks.md). Bound from the <c>Webhooks</c> section:
/// <c>Webhooks__AllowPrivateAddresses</c>, <c>Webhooks__PublicBaseUrl</c>, <c>Webhooks__Timeout</c>,
/// <c>Webhooks__MaxAttempts</c>, <c>Webhooks__FirstRetryDelay</c>, <c>Webhooks__MaxRetryDelay</c>,
/// <c>Webhooks__GiveUpAfter</c>, <c>Webhooks__PollInterval</c>, <c>Webhooks__MaxConcurrentDeliveries</c>,
/// <c>Webhooks__MaxSubscriptionsPerOwner</c>.
/// </summary>
public sealed class WebhooksOptions
{
    public const string SectionName = "Webhooks";

    /// <summary>
    /// Lets callbacks reach loopback, private, link-local and other non-public addresses. Off by
    /// default: whoever may submit a job could otherwise make the service POST into its own network
    /// (server-side request forgery). Turn it on only where every submitter is trusted with that network.
    /// </summary>
    public bool AllowPrivateAddresses { get; set; }

    /// <summary>
    /// The service's address as receivers should see it (<c>https://training.example.com</c>): events'
    /// links are absolute under it. Unset, they are paths (<c>/jobs/{id}</c>).
    /// </summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>The longest one attempt may take, connecting included; slower counts as failed and is retried. Default 10 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts per delivery before it is marked failed. Default 20.</summary>
    public int MaxAttempts { get; set; } = 20;

    /// <summary>The wait after the first failed attempt; each later wait doubles, up to <see cref="MaxRetryDelay"/> (±20 % jitter). Default 30 s.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest wait between two attempts. Default 2 hours.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(2);

    /// <summary>No attempt starts later than this after the event: a delivery still failing then is marked failed. Default 24 hours.</summary>
    public TimeSpan GiveUpAfter { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often the API looks for jobs and sweeps that ended and for deliveries that are due. Default 1 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Attempts in flight at once in one API process; a slow receiver holds one of them for at most <see cref="Timeout"/>. Default 16.</summary>
    public int MaxConcurrentDeliveries { get; set; } = 16;

    /// <summary>Default subscriptions one owner may have (<c>POST /webhooks</c>). Default 20.</summary>
    public int MaxSubscriptionsPerOwner { get; set; } = 20;

    /// <summary>The first problem with the settings, or null.</summary>
    public string? Validate()
    {
        if (PublicBaseUrl is { Length: > 0 } baseUrl
            && (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Query.Length > 0 || uri.Fragment.Length > 0))
            return $"{SectionName}:{nameof(PublicBaseUrl)} must be an absolute http(s) URL without query or fragment, such as https://training.example.com; it is '{baseUrl}'.";
        if (Timeout < TimeSpan.FromMilliseconds(100) || Timeout > TimeSpan.FromMinutes(5))
            return $"{SectionName}:{nameof(Timeout)} must be between 100 ms and 5 minutes; it is {Timeout}.";
        if (MaxAttempts is < 1 or > 100)
            return $"{SectionName}:{nameof(MaxAttempts)} must be between 1 and 100; it is {MaxAttempts}.";
        if (FirstRetryDelay < TimeSpan.FromMilliseconds(10) || FirstRetryDelay > MaxRetryDelay)
            return $"{SectionName}:{nameof(FirstRetryDelay)} must be at least 10 ms and at most {nameof(MaxRetryDelay)} ({MaxRetryDelay}); it is {FirstRetryDelay}.";
        if (MaxRetryDelay > TimeSpan.FromDays(1))
            return $"{SectionName}:{nameof(MaxRetryDelay)} must be at most a day; it is {MaxRetryDelay}.";
        if (GiveUpAfter < TimeSpan.Zero || GiveUpAfter > TimeSpan.FromDays(30))
            return $"{SectionName}:{nameof(GiveUpAfter)} must be between 0 and 30 days; it is {GiveUpAfter}.";
        if (PollInterval < TimeSpan.FromMilliseconds(20) || PollInterval > TimeSpan.FromMinutes(1))
            return $"{SectionName}:{nameof(PollInterval)} must be between 20 ms and 1 minute; it is {PollInterval}.";
        if (MaxConcurrentDeliveries is < 1 or > 256)
            return $"{SectionName}:{nameof(MaxConcurrentDeliveries)} must be between 1 and 256; it is {MaxConcurrentDeliveries}.";
        if (MaxSubscriptionsPerOwner is < 0 or > 1000)
            return $"{SectionName}:{nameof(MaxSubscriptionsPerOwner)} must be between 0 and 1000; it is {MaxSubscriptionsPerOwner}.";
        return null;
    }
}
