using Microsoft.AspNetCore.Http.HttpResults;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Jobs;
using TrainingService.Contracts;

namespace TrainingService.Api.Security;

/// <summary>Who may see a job or a sweep: its owner's keys and admins; to anyone else it answers 404, as one that does not exist.</summary>
public static class OwnerAccess
{
    /// <summary>
    /// The jobs API's access rules: a key when authentication is on, and a job of another owner
    /// answers 404 exactly as a job that does not exist would, so ids cannot be probed.
    /// </summary>
    public static RouteGroupBuilder RequireJobAccess(this RouteGroupBuilder jobs) =>
        jobs.RequireOwnerAccess(
            async (services, id, ct) => await services.GetRequiredService<IJobStore>().GetAsync(id, ct) is { } job ? new Owned(job.Owner) : null,
            Problems.JobNotFound);

    /// <summary>
    /// The sweeps API's access rules, the jobs API's: a sweep of another owner (or one created while
    /// authentication was off, to a non-admin) answers 404 exactly as a sweep that does not exist would.
    /// </summary>
    public static RouteGroupBuilder RequireSweepAccess(this RouteGroupBuilder sweeps) =>
        sweeps.RequireOwnerAccess(
            async (services, id, ct) => await services.GetRequiredService<ISweepStore>().GetSweepAsync(id, ct) is { } sweep ? new Owned(sweep.Owner) : null,
            Problems.SweepNotFound);

    /// <summary>
    /// The datasets API's access rules, the jobs API's: an upload of another owner answers 404 exactly
    /// as one that does not exist would. Built-ins (named, not ids) are everyone's.
    /// </summary>
    public static RouteGroupBuilder RequireDatasetAccess(this RouteGroupBuilder datasets) =>
        datasets.RequireOwnerAccess(
            async (services, id, ct) => await services.GetRequiredService<Contracts.Datasets.IDatasetStore>().GetDatasetAsync(id, ct) is { } dataset ? new Owned(dataset.Owner) : null,
            Datasets.DatasetsEndpoints.NotFound);

    /// <summary>Whatever the route's <c>{id}</c> names: it exists, and belongs to <see cref="Owner"/> (null: nobody).</summary>
    private sealed record Owned(string? Owner);

    /// <summary>
    /// A key when authentication is on, and a 404 (<paramref name="notFound"/>) for a non-admin
    /// caller asking for an <c>{id}</c> that exists but is not theirs.
    /// </summary>
    private static RouteGroupBuilder RequireOwnerAccess(
        this RouteGroupBuilder group, Func<IServiceProvider, Guid, CancellationToken, Task<Owned?>> find, Func<string, ProblemHttpResult> notFound)
    {
        group.RequireAuthorization(SecurityHosting.JobsPolicy);
        group.AddEndpointFilter(async (invocation, next) =>
        {
            var context = invocation.HttpContext;
            var caller = Caller.Of(context);
            if (caller.AuthEnabled && !caller.IsAdmin
                && context.Request.RouteValues.TryGetValue("id", out var value) && value is string id && JobIds.TryParse(id, out var guid)
                && await find(context.RequestServices, guid, context.RequestAborted) is { } owned
                && !caller.CanSeeOwnedBy(owned.Owner))
                return notFound(id);
            return await next(invocation);
        });
        return group;
    }

    /// <summary>For admin keys only when authentication is on (the service's own metrics span every owner): another key gets 403, none 401.</summary>
    public static RouteGroupBuilder RequireAdminAccess(this RouteGroupBuilder group) =>
        group.RequireAuthorization(SecurityHosting.AdminPolicy);
}
