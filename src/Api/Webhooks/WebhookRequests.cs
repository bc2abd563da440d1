using TrainingService.Api.Infrastructure.OpenApi;

namespace TrainingService.Api.Webhooks;

/// <summary>
/// Where to POST this job's or sweep's event when it ends, and the secret it is signed with (see
/// docs/webhooks.md). Only http and https URLs; loopback, private and link-local addresses are
/// refused unless the administrator allows them (<c>Webhooks:AllowPrivateAddresses</c>).
/// </summary>
public sealed class CallbackRequest : IOpenApiExample<CallbackRequest>
{
    /// <summary>An absolute http or https URL, at most 2,000 characters, without user name or password. Required.</summary>
    public string? Url { get; init; }

    /// <summary>
    /// The key of the HMAC-SHA256 signature in <c>X-TrainingService-Signature</c>: 16 to 256 visible ASCII
    /// characters (<c>openssl rand -hex 32</c> makes a good one). Required. Stored, never shown again.
    /// </summary>
    public string? Secret { get; init; }

    public static CallbackRequest Example { get; } = new()
    {
        Url = "https://ci.example.com/hooks/training",
        Secret = "3f9c1e0b7a5d4c2e8f6a1b3c5d7e9f0a",
    };
}

/// <summary>
/// A default subscription: every job and sweep of the caller's owner (with authentication off, of
/// everyone) that ends from now on is POSTed here, besides any callback of its own.
/// </summary>
public sealed class CreateWebhookRequest : IOpenApiExample<CreateWebhookRequest>
{
    /// <summary>An absolute http or https URL, at most 2,000 characters, without user name or password. Required.</summary>
    public string? Url { get; init; }

    /// <summary>The key of the HMAC-SHA256 signature: 16 to 256 visible ASCII characters. Required. Stored, never shown again.</summary>
    public string? Secret { get; init; }

    /// <summary>
    /// Only these event types (<c>job.succeeded</c>, <c>job.failed</c>, <c>job.cancelled</c>,
    /// <c>sweep.succeeded</c>, <c>sweep.failed</c>, <c>sweep.cancelled</c>); omit for all of them.
    /// </summary>
    public IReadOnlyList<string?>? Events { get; init; }

    public static CreateWebhookRequest Example { get; } = new()
    {
        Url = "https://chat.example.com/hooks/training",
        Secret = "3f9c1e0b7a5d4c2e8f6a1b3c5d7e9f0a",
        Events = ["job.failed", "sweep.succeeded", "sweep.failed"],
    };
}
