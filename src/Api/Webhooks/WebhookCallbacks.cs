using TrainingService.Api.Infrastructure;
using TrainingService.Contracts;
using TrainingService.Contracts.Webhooks;

namespace TrainingService.Api.Webhooks;

/// <summary>
/// The <c>callback</c> of a job or sweep submission: checked with the rest of the request, then
/// stored as the job's or sweep's own subscription just before the job or sweep itself. In that
/// order, a crash in between leaves at worst a subscription whose job never existed (it matches
/// nothing), never a job that silently lost its callback.
/// </summary>
public sealed class WebhookCallbacks(WebhookValidation validation, IWebhookSubscriptionStore subscriptions, TimeProvider time)
{
    public const string Field = "callback";

    /// <summary>A callback that passed the checks, not yet stored.</summary>
    public sealed record Checked(string Url, string Secret)
    {
        public override string ToString() => $"Checked {{ Url = {Url} }}";
    }

    /// <summary>The callback to attach, or null when there is none or it is invalid (then with the reasons added to <paramref name="errors"/>).</summary>
    public async Task<Checked?> CheckAsync(CallbackRequest? callback, FieldErrors errors, CancellationToken cancellationToken)
    {
        if (callback is null)
            return null;
        var url = await validation.CheckUrlAsync(callback.Url, $"{Field}.url", errors, cancellationToken);
        var secret = validation.CheckSecret(callback.Secret, $"{Field}.secret", errors);
        return url is null || secret is null ? null : new Checked(url, secret);
    }

    /// <summary>Stores the callback as <paramref name="target"/>'s subscription; returns its id (null when there is no callback).</summary>
    public async Task<Guid?> AttachAsync(Checked? callback, WebhookTarget target, string? owner, CancellationToken cancellationToken)
    {
        if (callback is null)
            return null;
        var now = StoredTime.Truncate(time.GetUtcNow());
        var subscription = new WebhookSubscription(Guid.CreateVersion7(now), owner, target, callback.Url, callback.Secret, null, now);
        await subscriptions.CreateSubscriptionAsync(subscription, cancellationToken);
        return subscription.Id;
    }

    /// <summary>Removes a callback stored for a job that was not created after all (an Idempotency-Key named an existing one).</summary>
    public async Task DetachAsync(Guid? subscriptionId, CancellationToken cancellationToken)
    {
        if (subscriptionId is { } id)
            await subscriptions.DeleteSubscriptionAsync(id, time.GetUtcNow(), cancellationToken);
    }

    /// <summary>One answer for everything wrong: the submission's own errors and the callback's.</summary>
    public static Dictionary<string, string[]> Merge(Dictionary<string, string[]> errors, FieldErrors callbackErrors)
    {
        var merged = new Dictionary<string, string[]>(errors, StringComparer.Ordinal);
        foreach (var (field, messages) in callbackErrors.ToDictionary())
            merged[field] = merged.TryGetValue(field, out var existing) ? [.. existing, .. messages] : messages;
        return merged;
    }
}
