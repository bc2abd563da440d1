using Microsoft.Extensions.Options;
using TrainingService.Contracts;
using TrainingService.Contracts.Webhooks;

namespace TrainingService.Api.Webhooks;

/// <summary>
/// Turns ends of jobs and sweeps into deliveries. The end itself is the event: a job's terminal
/// status is in the database whoever wrote it (a worker, a cancel, the outbox failing it), so this
/// looks for ended jobs and sweeps not yet announced and, for each, stores one delivery per
/// subscription that wants it in the same transaction that marks it announced. Nothing is lost when
/// the API is down as a job ends, or stops halfway: the next pass, here or in another API process,
/// finds what is still unannounced, and only one of them stores its deliveries.
/// </summary>
public sealed class WebhookAnnouncer(
    IWebhookDeliveryStore deliveries,
    IWebhookSubscriptionStore subscriptions,
    IEpochStore epochs,
    ISweepStore sweeps,
    IOptions<WebhooksOptions> options,
    TimeProvider time,
    ILogger<WebhookAnnouncer> logger)
{
    private const int Batch = 100;

    /// <summary>One pass: announces what has ended; returns how many deliveries it stored.</summary>
    public async Task<int> AnnounceAsync(CancellationToken cancellationToken)
    {
        var stored = 0;
        foreach (var job in await deliveries.ListUnannouncedJobsAsync(Batch, cancellationToken))
            stored += await AnnounceJobAsync(job, cancellationToken);
        foreach (var sweep in await deliveries.ListUnannouncedSweepsAsync(Batch, cancellationToken))
            stored += await AnnounceSweepAsync(sweep, cancellationToken);
        return stored;
    }

    private async Task<int> AnnounceJobAsync(JobRecord job, CancellationToken cancellationToken)
    {
        var target = new WebhookTarget(WebhookTargetKind.Job, job.Id);
        var eventType = WebhookEvents.TypeOf(job);
        var wanted = Wanted(await subscriptions.ListSubscriptionsForAsync(target, job.Owner, cancellationToken), eventType, job.FinishedAt);
        int? epochCount = null;
        if (wanted.Count > 0 && job.Kind == JobKind.Train)
            epochCount = (await epochs.GetEpochsAsync(job.Id, 0, cancellationToken)).Count;
        var now = time.GetUtcNow();
        var made = wanted.Select(s => NewDelivery(s, target, eventType, id => WebhookEvents.ForJob(id, job, epochCount, options.Value.PublicBaseUrl, now), now)).ToList();
        return await StoreAsync(target, made, now, cancellationToken);
    }

    private async Task<int> AnnounceSweepAsync(SweepRecord sweep, CancellationToken cancellationToken)
    {
        var target = new WebhookTarget(WebhookTargetKind.Sweep, sweep.Id);
        var jobs = await sweeps.GetSweepJobsAsync(sweep.Id, cancellationToken);
        // The store's query and the sweep's status follow one rule; should they ever disagree, wait.
        if (WebhookEvents.TypeOf(sweep, [.. jobs.Select(j => j.Job)]) is not { } eventType)
            return 0;
        var endedAt = sweep.CancelledAt ?? jobs.Max(j => j.Job.FinishedAt);
        var wanted = Wanted(await subscriptions.ListSubscriptionsForAsync(target, sweep.Owner, cancellationToken), eventType, endedAt);
        var now = time.GetUtcNow();
        var made = wanted.Select(s => NewDelivery(s, target, eventType, id => WebhookEvents.ForSweep(id, sweep, jobs, options.Value.PublicBaseUrl, now), now)).ToList();
        return await StoreAsync(target, made, now, cancellationToken);
    }

    /// <summary>
    /// The target's own callback always; an owner's default when it takes this event type and was
    /// registered before the end (so registering one does not replay history).
    /// </summary>
    private static List<WebhookSubscription> Wanted(IReadOnlyList<WebhookSubscription> candidates, string eventType, DateTimeOffset? endedAt) =>
        [.. candidates.Where(s => s.Target is not null
            || ((s.Events is null || s.Events.Contains(eventType, StringComparer.Ordinal)) && (endedAt is null || s.CreatedAt <= endedAt)))];

    private static WebhookDelivery NewDelivery(WebhookSubscription subscription, WebhookTarget target, string eventType, Func<Guid, string> payload, DateTimeOffset now)
    {
        var id = Guid.CreateVersion7(now);
        return new WebhookDelivery(id, subscription.Id, target, eventType, payload(id), WebhookDeliveryState.Pending, 0, now, now, null);
    }

    private async Task<int> StoreAsync(WebhookTarget target, List<WebhookDelivery> made, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!await deliveries.AnnounceAsync(target, made, now, cancellationToken))
            return 0; // another API process announced it first
        foreach (var delivery in made)
            logger.LogInformation("Webhook event {EventType} for {TargetKind} {TargetId} is delivery {DeliveryId}",
                delivery.EventType, target.KindName, target.Id, delivery.Id);
        return made.Count;
    }
}
