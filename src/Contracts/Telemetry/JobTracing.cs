using System.Diagnostics;

namespace TrainingService.Contracts.Telemetry;

/// <summary>
/// One trace per job, from the <c>POST /jobs</c> that stored it through the queue to the worker's
/// attempts and each epoch. The API keeps the submitting request's W3C <c>traceparent</c> in the
/// job record; whoever works on the job later (the outbox, a worker in another process, hours
/// later) starts its spans as children of it, so no trace context has to travel through Hangfire.
/// </summary>
public static class JobTracing
{
    public const string SourceName = "TrainingService.Jobs";

    public static ActivitySource Source { get; } = new(SourceName);

    /// <summary>The W3C traceparent of the current span, for storing with a new job; null when nothing is traced.</summary>
    public static string? CurrentTraceParent() => Activity.Current?.Id is { } id && Activity.Current.IdFormat == ActivityIdFormat.W3C ? id : null;

    /// <summary>The trace id a stored traceparent names (its second field), or null.</summary>
    public static string? TraceIdOf(string? traceParent) =>
        ActivityContext.TryParse(traceParent, null, out var context) ? context.TraceId.ToHexString() : null;

    /// <summary>
    /// A span for an epoch that has ended, a child of <paramref name="attempt"/>'s span: made after the
    /// fact, from the epoch's own clock, so nothing on the training thread waits on tracing.
    /// </summary>
    public static void RecordEpoch(ActivityContext attempt, Guid jobId, int epoch, DateTimeOffset started, DateTimeOffset ended, double testAccuracy, double trainLoss)
    {
        using var activity = Source.StartActivity("job.epoch", ActivityKind.Internal, attempt, startTime: started);
        if (activity is null)
            return;
        activity.SetTag("trainingservice.job.id", jobId.ToString());
        activity.SetTag("trainingservice.epoch", epoch);
        activity.SetTag("trainingservice.epoch.test_accuracy", testAccuracy);
        activity.SetTag("trainingservice.epoch.train_loss", trainLoss);
        activity.SetEndTime(ended.UtcDateTime);
    }

    /// <summary>A span for work on a job, a child of the span that submitted it (when its traceparent was stored).</summary>
    public static Activity? StartForJob(string name, Guid jobId, string? traceParent, ActivityKind kind = ActivityKind.Internal)
    {
        ActivityContext.TryParse(traceParent, null, out var parent);
        var activity = Source.StartActivity(name, kind, parent);
        activity?.SetTag("trainingservice.job.id", jobId.ToString());
        return activity;
    }
}
