namespace TrainingService.Api.Webhooks;

/// <summary>
/// When a failed delivery is tried again: <see cref="WebhooksOptions.FirstRetryDelay"/> after the
/// first failure, doubling after each further one up to <see cref="WebhooksOptions.MaxRetryDelay"/>,
/// each wait stretched or shrunk by up to 20 % at random (so receivers that failed together are not
/// retried together); and never: after <see cref="WebhooksOptions.MaxAttempts"/> attempts, or when the
/// next attempt would start more than <see cref="WebhooksOptions.GiveUpAfter"/> after the event.
/// </summary>
public static class WebhookBackoff
{
    private const double Jitter = 0.2;

    /// <summary>The wait after failed attempt number <paramref name="attempts"/> (1 = the first), before jitter.</summary>
    public static TimeSpan Delay(WebhooksOptions options, int attempts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempts, 1);
        // 2^(attempts-1) times the first delay, without overflowing on the way to the cap.
        var doublings = Math.Min(attempts - 1, 40);
        var ticks = options.FirstRetryDelay.Ticks * Math.Pow(2, doublings);
        return ticks >= options.MaxRetryDelay.Ticks ? options.MaxRetryDelay : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>
    /// When to try again after <paramref name="attempts"/> failed attempts of a delivery made at
    /// <paramref name="createdAt"/>, or null when it has had its chances.
    /// </summary>
    public static DateTimeOffset? NextAttempt(WebhooksOptions options, int attempts, DateTimeOffset createdAt, DateTimeOffset now, Random random)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(random);
        if (attempts >= options.MaxAttempts)
            return null;
        var delay = Delay(options, attempts) * (1 + Jitter * (2 * random.NextDouble() - 1));
        var next = now + delay;
        return next - createdAt > options.GiveUpAfter ? null : next;
    }
}
