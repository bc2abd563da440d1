using TrainingService.Contracts;
using TrainingService.Contracts.Webhooks;

namespace TrainingService.Storage.Tests;

/// <summary>
/// The webhook outbox's stores on each engine: an end is announced once even by processes racing,
/// a delivery is leased to one claim at a time and only that claim records its attempt, and deleting a
/// subscription cancels what it still had pending. Each "process" is a database object of its own.
/// </summary>
public abstract partial class JobStoreTests
{
    private IWebhookSubscriptionStore Subscriptions => _stores.Subscriptions;
    private IWebhookDeliveryStore Deliveries => _stores.Deliveries;

    private static WebhookSubscription Callback(WebhookTarget target, string? owner = null) =>
        new(Guid.NewGuid(), owner, target, "https://hooks.example.com/ci", "0123456789abcdef0123", null, T0);

    private static WebhookSubscription Default(string? owner, DateTimeOffset? createdAt = null, IReadOnlyList<string>? events = null) =>
        new(Guid.NewGuid(), owner, null, $"https://hooks.example.com/{owner ?? "everyone"}", "0123456789abcdef0123", events, createdAt ?? T0);

    private static WebhookDelivery Delivery(WebhookSubscription subscription, WebhookTarget target, DateTimeOffset due) =>
        new(Guid.NewGuid(), subscription.Id, target, "job.succeeded", """{"type":"job.succeeded"}""", WebhookDeliveryState.Pending, 0, T0, due, null);

    /// <summary>A job that failed before it started, at <see cref="T0"/> + 1 s: ended, so announceable.</summary>
    private async Task<JobRecord> CreateEndedAsync(string? owner = null)
    {
        var job = await CreateAsync(NewJob() with { Owner = owner });
        Assert.True(await Store.FailUnstartedAsync(job.Id, new JobError(JobErrorKind.User, "no worker"), T0.AddSeconds(1), None));
        return await GetAsync(job.Id);
    }

    /// <summary>A job with one pending delivery of its event to its callback, due at <see cref="T0"/>.</summary>
    private async Task<(WebhookTarget Target, WebhookSubscription Subscription, WebhookDelivery Delivery)> CreatePendingDeliveryAsync()
    {
        var job = await CreateEndedAsync();
        var target = new WebhookTarget(WebhookTargetKind.Job, job.Id);
        var subscription = Callback(target);
        await Subscriptions.CreateSubscriptionAsync(subscription, None);
        var delivery = Delivery(subscription, target, T0);
        Assert.True(await Deliveries.AnnounceAsync(target, [delivery], T0, None));
        return (target, subscription, delivery);
    }

    [Fact]
    public async Task A_job_is_listed_for_announcing_once_it_has_ended_and_is_announced_once()
    {
        var running = await CreateRunningAsync();
        var ended = await CreateEndedAsync();

        Assert.Equal([ended.Id], (await Deliveries.ListUnannouncedJobsAsync(10, None)).Select(j => j.Id));
        var target = new WebhookTarget(WebhookTargetKind.Job, ended.Id);
        var subscription = Callback(target);
        await Subscriptions.CreateSubscriptionAsync(subscription, None);
        Assert.True(await Deliveries.AnnounceAsync(target, [Delivery(subscription, target, T0)], T0, None));
        // Announced again (another pass, another process): nothing more is stored.
        Assert.False(await Deliveries.AnnounceAsync(target, [Delivery(subscription, target, T0)], T0, None));

        Assert.Empty(await Deliveries.ListUnannouncedJobsAsync(10, None));
        var report = Assert.Single(await Deliveries.ListDeliveriesAsync(target, None));
        Assert.Equal((WebhookDeliveryState.Pending, 0, "https://hooks.example.com/ci", false), (report.Delivery.State, report.Delivery.Attempts, report.Url, report.FromDefault));
        Assert.Equal(JobStatus.Running, (await GetAsync(running.Job.Id)).Status); // listed once it ends, not before
    }

    [Fact]
    public async Task Processes_announcing_the_same_end_at_once_store_its_deliveries_once()
    {
        var ended = await CreateEndedAsync();
        var target = new WebhookTarget(WebhookTargetKind.Job, ended.Id);
        var subscription = Callback(target);
        await Subscriptions.CreateSubscriptionAsync(subscription, None);
        var processes = Enumerable.Range(0, 4).Select(_ => Open(_database)).ToList();

        var outcomes = await Task.WhenAll(processes.Select(p => Task.Run(() => p.Deliveries.AnnounceAsync(target, [Delivery(subscription, target, T0)], T0, None))));

        Assert.Single(outcomes, announced => announced);
        Assert.Single(await Deliveries.ListDeliveriesAsync(target, None));
    }

    [Fact]
    public async Task A_delivery_is_leased_to_one_claim_and_only_that_claim_records_its_attempt()
    {
        var (target, _, delivery) = await CreatePendingDeliveryAsync();
        var other = Open(_database);

        var first = Assert.Single(await Deliveries.ClaimDueAsync(T0, T0.AddSeconds(40), 10, None));
        Assert.Empty(await other.Deliveries.ClaimDueAsync(T0.AddSeconds(39), T0.AddSeconds(80), 10, None));
        Assert.Equal((delivery.Id, "0123456789abcdef0123", false), (first.Delivery.Id, first.Secret, first.SubscriptionDeleted));

        // Its lease ran out (the process died): another claim takes it over, and the first one's record is refused.
        var second = Assert.Single(await other.Deliveries.ClaimDueAsync(T0.AddSeconds(41), T0.AddSeconds(81), 10, None));
        var failed = new WebhookAttempt(0, T0.AddSeconds(41), 12, 500, "HTTP 500 Internal Server Error");
        Assert.False(await Deliveries.RecordAttemptAsync(first, failed, WebhookDeliveryState.Pending, T0.AddMinutes(1), T0.AddSeconds(42), None));
        Assert.True(await other.Deliveries.RecordAttemptAsync(second, failed, WebhookDeliveryState.Pending, T0.AddMinutes(1), T0.AddSeconds(42), None));

        // Pending again: not due before its next attempt, due after it, and the attempts are numbered in order.
        Assert.Empty(await Deliveries.ClaimDueAsync(T0.AddSeconds(59), T0.AddSeconds(99), 10, None));
        var third = Assert.Single(await Deliveries.ClaimDueAsync(T0.AddMinutes(1), T0.AddMinutes(2), 10, None));
        Assert.Equal(1, third.Delivery.Attempts);
        Assert.True(await Deliveries.RecordAttemptAsync(third, new WebhookAttempt(0, T0.AddMinutes(1), 7, 204, null), WebhookDeliveryState.Delivered, third.Delivery.NextAttemptAt, T0.AddMinutes(1), None));

        var report = Assert.Single(await Deliveries.ListDeliveriesAsync(target, None));
        Assert.Equal((WebhookDeliveryState.Delivered, 2, T0.AddMinutes(1)), (report.Delivery.State, report.Delivery.Attempts, report.Delivery.FinishedAt));
        Assert.Equal([(1, 500, "HTTP 500 Internal Server Error"), (2, 204, null)], report.Attempts.Select(a => (a.Number, a.StatusCode ?? 0, a.Error)));
        Assert.Empty(await Deliveries.ClaimDueAsync(T0.AddHours(1), T0.AddHours(2), 10, None));
    }

    [Fact]
    public async Task Processes_claiming_at_once_share_the_due_deliveries_without_overlap()
    {
        var deliveries = new List<Guid>();
        for (var i = 0; i < 12; i++)
            deliveries.Add((await CreatePendingDeliveryAsync()).Delivery.Id);
        var processes = Enumerable.Range(0, 3).Select(_ => Open(_database)).ToList();

        var claims = await Task.WhenAll(processes.Select(p => Task.Run(() => p.Deliveries.ClaimDueAsync(T0, T0.AddMinutes(1), 5, None))));

        var claimed = claims.SelectMany(c => c).Select(c => c.Delivery.Id).ToList();
        Assert.Equal(claimed.Count, claimed.Distinct().Count());
        Assert.All(claims, c => Assert.True(c.Count <= 5));
        // Whatever a racing claim skipped is there for the next one.
        claimed.AddRange((await Deliveries.ClaimDueAsync(T0, T0.AddMinutes(1), 20, None)).Select(c => c.Delivery.Id));
        Assert.Equal(deliveries.Order(), claimed.Order());
    }

    [Fact]
    public async Task Released_deliveries_are_due_again_at_once()
    {
        await CreatePendingDeliveryAsync();
        var claim = Assert.Single(await Deliveries.ClaimDueAsync(T0, T0.AddMinutes(1), 10, None));

        await Deliveries.ReleaseAsync(claim, None);

        Assert.Equal(claim.Delivery.Id, Assert.Single(await Deliveries.ClaimDueAsync(T0.AddSeconds(1), T0.AddMinutes(1), 10, None)).Delivery.Id);
    }

    [Fact]
    public async Task Deleting_a_subscription_cancels_its_pending_deliveries_and_an_attempt_in_flight_records_nothing()
    {
        var (target, subscription, _) = await CreatePendingDeliveryAsync();
        var inFlight = Assert.Single(await Deliveries.ClaimDueAsync(T0, T0.AddMinutes(1), 10, None));

        Assert.True(await Subscriptions.DeleteSubscriptionAsync(subscription.Id, T0.AddSeconds(5), None));
        Assert.False(await Subscriptions.DeleteSubscriptionAsync(subscription.Id, T0.AddSeconds(6), None));

        Assert.False(await Deliveries.RecordAttemptAsync(inFlight, new WebhookAttempt(0, T0, 5, 200, null), WebhookDeliveryState.Delivered, T0, T0.AddSeconds(7), None));
        var report = Assert.Single(await Deliveries.ListDeliveriesAsync(target, None));
        Assert.Equal((WebhookDeliveryState.Cancelled, 0, T0.AddSeconds(5)), (report.Delivery.State, report.Attempts.Count, report.Delivery.FinishedAt));
        Assert.Empty(await Deliveries.ClaimDueAsync(T0.AddHours(1), T0.AddHours(2), 10, None));
    }

    [Fact]
    public async Task An_ends_subscriptions_are_its_own_callback_and_its_owners_defaults()
    {
        var target = new WebhookTarget(WebhookTargetKind.Job, Guid.NewGuid());
        var own = Callback(target, "alice");
        var alices = Default("alice", events: ["job.failed"]);
        var bobs = Default("bob");
        var everyones = Default(null);
        var deleted = Default("alice");
        var otherJobs = Callback(new WebhookTarget(WebhookTargetKind.Job, Guid.NewGuid()), "alice");
        var sweepWithTheSameId = Callback(target with { Kind = WebhookTargetKind.Sweep }, "alice");
        foreach (var s in new[] { own, alices, bobs, everyones, deleted, otherJobs, sweepWithTheSameId })
            await Subscriptions.CreateSubscriptionAsync(s, None);
        await Subscriptions.DeleteSubscriptionAsync(deleted.Id, T0, None);

        Assert.Equal(new[] { own.Id, alices.Id }.Order(), (await Subscriptions.ListSubscriptionsForAsync(target, "alice", None)).Select(s => s.Id).Order());
        Assert.Equal([everyones.Id], (await Subscriptions.ListSubscriptionsForAsync(target with { Id = Guid.NewGuid() }, null, None)).Select(s => s.Id));
        Assert.Equal(["job.failed"], (await Subscriptions.GetDefaultSubscriptionAsync(alices.Id, None))!.Events);
        Assert.Null(await Subscriptions.GetDefaultSubscriptionAsync(own.Id, None)); // a callback is not a default
        Assert.Equal([alices.Id], (await Subscriptions.ListDefaultSubscriptionsAsync("alice", false, None)).Select(s => s.Id));
        Assert.Equal([everyones.Id], (await Subscriptions.ListDefaultSubscriptionsAsync(null, false, None)).Select(s => s.Id));
        Assert.Equal(3, (await Subscriptions.ListDefaultSubscriptionsAsync(null, true, None)).Count);
    }

    [Fact]
    public async Task A_sweep_is_listed_for_announcing_once_cancelled_or_once_every_point_has_an_ended_job()
    {
        var finishing = NewSweep(T0) with { Points = [.. NewSweep(T0).Points.Take(2)] };
        var cancelled = NewSweep(T0.AddSeconds(1));
        await Sweeps.CreateSweepAsync(finishing, None);
        await Sweeps.CreateSweepAsync(cancelled, None);
        Assert.Empty(await Deliveries.ListUnannouncedSweepsAsync(10, None));

        var first = await CreateEndedAsync();
        await Sweeps.AddSweepJobAsync(finishing.Id, 0, first.Id, None);
        var (second, lease) = await CreateRunningAsync();
        await Sweeps.AddSweepJobAsync(finishing.Id, 1, second.Id, None);
        await Sweeps.RequestSweepCancelAsync(cancelled.Id, T0.AddSeconds(2), None);
        Assert.Equal([cancelled.Id], (await Deliveries.ListUnannouncedSweepsAsync(10, None)).Select(s => s.Id));

        Assert.True(await Store.FinishAttemptAsync(second.Id, lease, JobStatus.Succeeded, TerminationReason.Succeeded, null, null, T0.AddSeconds(3), None));
        Assert.Equal([finishing.Id, cancelled.Id], (await Deliveries.ListUnannouncedSweepsAsync(10, None)).Select(s => s.Id));
        Assert.True(await Deliveries.AnnounceAsync(new WebhookTarget(WebhookTargetKind.Sweep, finishing.Id), [], T0.AddSeconds(4), None));
        Assert.Equal([cancelled.Id], (await Deliveries.ListUnannouncedSweepsAsync(10, None)).Select(s => s.Id));
    }

    [Fact]
    public async Task The_upgrade_counts_what_had_ended_as_announced_and_announces_what_ends_after_it()
    {
        var database = await CreateReleaseBeforeDbUpAsync();
        var store = Open(database);
        await store.Database.MigrateAsync(None);

        // Ended before webhooks existed: nobody subscribed, nothing to announce. The open sweep is not ended.
        Assert.Empty(await store.Deliveries.ListUnannouncedJobsAsync(10, None));
        Assert.Empty(await store.Deliveries.ListUnannouncedSweepsAsync(10, None));

        Assert.True(await store.Jobs.FinishAttemptAsync(OldAttention, OldLease, JobStatus.Succeeded, TerminationReason.Succeeded, null, null, T0.AddMinutes(1), None));
        Assert.Equal([OldAttention], (await store.Deliveries.ListUnannouncedJobsAsync(10, None)).Select(j => j.Id));
    }
}
