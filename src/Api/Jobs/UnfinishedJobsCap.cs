using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using TrainingService.Api.Security;
using TrainingService.Contracts;

namespace TrainingService.Api.Jobs;

/// <summary>How many unfinished jobs one owner may have (<c>Limits:MaxUnfinishedJobsPerKey</c>): a submission past it gets 429.</summary>
public static class UnfinishedJobsCap
{
    /// <summary>
    /// The per-owner cap on unfinished jobs, checked before a job is stored (with authentication on).
    /// Submissions racing each other may pass it together by a few; it bounds a runaway client, not an exact count.
    /// </summary>
    public static async Task<ProblemHttpResult?> CheckAsync(HttpContext context, JobRecord job, CancellationToken cancellationToken)
    {
        var caller = Caller.Of(context);
        var cap = context.RequestServices.GetRequiredService<IOptions<LimitsOptions>>().Value.MaxUnfinishedJobsPerKey;
        if (!caller.AuthEnabled || caller.Owner is null || cap == 0)
            return null;
        var store = context.RequestServices.GetRequiredService<IJobStore>();
        var unfinished = await store.CountUnfinishedJobsAsync(caller.Owner, cancellationToken);
        if (unfinished < cap)
            return null;
        // A retried submission returns the job it made: it is no new job, so the cap does not apply.
        if (job.IdempotencyKey is { } key && await store.IdempotencyKeyUsedAsync(key, cancellationToken))
            return null;
        return TypedResults.Problem(
            $"'{caller.Owner}' already has {unfinished} unfinished jobs (queued, running, cancelling or interrupted); the limit is {cap} "
            + "(Limits:MaxUnfinishedJobsPerKey). Wait for some to finish or cancel some.",
            statusCode: StatusCodes.Status429TooManyRequests,
            title: "Too many unfinished jobs",
            extensions: new Dictionary<string, object?> { ["limit"] = "Limits:MaxUnfinishedJobsPerKey", ["maxUnfinishedJobs"] = cap, ["unfinishedJobs"] = unfinished });
    }
}
