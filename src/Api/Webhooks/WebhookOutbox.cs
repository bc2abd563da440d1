using Microsoft.Extensions.Options;
using TrainingService.Contracts.Webhooks;

namespace TrainingService.Api.Webhooks;

/// <summary>
/// The API's webhook worker, a hosted service: every <see cref="WebhooksOptions.PollInterval"/> it
/// announces what has ended (<see cref="WebhookAnnouncer"/>) and attempts the deliveries that are
/// due, each under a lease, at most <see cref="WebhooksOptions.MaxConcurrentDeliveries"/> at a time,
/// each on its own task with its own deadline — so a slow or dead receiver holds one slot for one
/// timeout, and neither the requests the API serves nor other receivers wait for it. Every attempt is
/// recorded; a failed one is due again after a backoff (<see cref="WebhookBackoff"/>), persisted with
/// the delivery, so a restart resumes the schedule rather than starting it over.
/// </summary>
public sealed class WebhookOutbox(
    WebhookAnnouncer announcer,
    WebhookSender sender,
    IWebhookDeliveryStore store,
    IOptions<WebhooksOptions> options,
    TimeProvider time,
    ILogger<WebhookOutbox> logger)
    : BackgroundService
{
    /// <summary>A lease outlasts an attempt by this, so a live attempt is never taken over.</summary>
    private static readonly TimeSpan LeaseMargin = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim wake = new(0);
    private readonly Random random = new();
    private int inFlight;
    private long completedPasses;

    /// <summary>Passes completed since start, failed ones included (tests wait on it).</summary>
    public long CompletedPasses => Interlocked.Read(ref completedPasses);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var attempts = new List<Task>();
        var settings = options.Value;
        var failedPasses = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await announcer.AnnounceAsync(stoppingToken) > 0)
                    logger.LogDebug("New webhook deliveries stored");
                var free = settings.MaxConcurrentDeliveries - Volatile.Read(ref inFlight);
                if (free > 0)
                {
                    var now = time.GetUtcNow();
                    foreach (var claim in await store.ClaimDueAsync(now, now + settings.Timeout + LeaseMargin, free, stoppingToken))
                    {
                        Interlocked.Increment(ref inFlight);
                        attempts.Add(Task.Run(() => AttemptAsync(claim, stoppingToken), CancellationToken.None));
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // Once per outage, not once per pass: passes come every second, and so would the warnings.
                if (failedPasses++ == 0)
                    logger.LogWarning(e, "Looking for webhook events to announce or deliver failed; trying again every {Interval} (logged once until it works)", settings.PollInterval);
                Interlocked.Increment(ref completedPasses);
                await WaitAsync(settings.PollInterval, stoppingToken);
                continue;
            }
            if (failedPasses > 0)
                logger.LogInformation("Webhook delivery works again after {Passes} failed passes", failedPasses);
            failedPasses = 0;
            Interlocked.Increment(ref completedPasses);
            attempts.RemoveAll(t => t.IsCompleted);
            // A finished attempt frees a slot: look again at once rather than a poll interval later.
            await WaitAsync(settings.PollInterval, stoppingToken);
        }
        // Stopping: the attempts in flight are cut short and give their leases back.
        await Task.WhenAll(attempts);
    }

    /// <summary>Until the interval passes or an attempt ends; returns quietly when the service stops.</summary>
    private async Task WaitAsync(TimeSpan interval, CancellationToken stoppingToken)
    {
        try
        {
            await wake.WaitAsync(interval, stoppingToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task AttemptAsync(WebhookClaim claim, CancellationToken stopping)
    {
        try
        {
            if (claim.SubscriptionDeleted)
            {
                await store.RecordAttemptAsync(claim, null, WebhookDeliveryState.Cancelled, claim.Delivery.NextAttemptAt, time.GetUtcNow(), CancellationToken.None);
                return;
            }
            var attempt = await sender.SendAsync(claim, stopping);
            if (attempt is null)
            {
                await store.ReleaseAsync(claim, CancellationToken.None);
                return;
            }
            await RecordAsync(claim, attempt);
        }
        catch (Exception e)
        {
            // The lease runs out and the attempt is made again (here or in another process).
            logger.LogWarning(e, "Webhook delivery {DeliveryId} could not be attempted or recorded; it is retried once its lease runs out", claim.Delivery.Id);
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
            wake.Release();
        }
    }

    private async Task RecordAsync(WebhookClaim claim, WebhookAttempt attempt)
    {
        var delivery = claim.Delivery;
        var number = delivery.Attempts + 1;
        var now = time.GetUtcNow();
        DateTimeOffset? next = null;
        WebhookDeliveryState state;
        if (attempt.Error is null)
            state = WebhookDeliveryState.Delivered;
        else
        {
            lock (random)
                next = WebhookBackoff.NextAttempt(options.Value, number, delivery.CreatedAt, now, random);
            state = next is null ? WebhookDeliveryState.Failed : WebhookDeliveryState.Pending;
        }
        var recorded = await store.RecordAttemptAsync(claim, attempt, state, next ?? delivery.NextAttemptAt, now, CancellationToken.None);
        var host = Uri.TryCreate(claim.Url, UriKind.Absolute, out var uri) ? uri.Authority : "?";
        if (!recorded)
            logger.LogInformation("Webhook delivery {DeliveryId} attempt {Attempt} to {Host} was not recorded: its lease was lost or its subscription deleted",
                delivery.Id, number, host);
        else if (state == WebhookDeliveryState.Delivered)
            logger.LogInformation("Webhook delivery {DeliveryId} ({EventType}) delivered to {Host} on attempt {Attempt} in {Milliseconds} ms",
                delivery.Id, delivery.EventType, host, number, attempt.DurationMilliseconds);
        else if (state == WebhookDeliveryState.Failed)
            logger.LogWarning("Webhook delivery {DeliveryId} ({EventType}) to {Host} failed for good after {Attempt} attempts: {Error}",
                delivery.Id, delivery.EventType, host, number, attempt.Error);
        else
            logger.LogInformation("Webhook delivery {DeliveryId} ({EventType}) to {Host} attempt {Attempt} failed ({Error}); next attempt at {Next:O}",
                delivery.Id, delivery.EventType, host, number, attempt.Error, next);
    }
}
