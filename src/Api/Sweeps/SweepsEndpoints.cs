using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Api.Datasets;
using TrainingService.Api.Jobs;
using TrainingService.Api.Security;
using TrainingService.Api.Webhooks;
using TrainingService.Contracts;
using TrainingService.Contracts.Webhooks;
using TrainingService.Contracts.Datasets;
using Microsoft.Extensions.Options;
using TrainingService.Storage;

namespace TrainingService.Api.Sweeps;

/// <summary><c>/sweeps</c>: run a grid or a random search of training jobs, stop the lagging ones early, and compare them.</summary>
public static class SweepsEndpoints
{
    private const long MaxRequestBodyBytes = 64 * 1024;

    /// <summary>The scheduler that turns sweep points into jobs, as a hosted service (needs <see cref="JobOutboxRegistration.AddJobOutbox"/>).</summary>
    public static IServiceCollection AddSweeps(this IServiceCollection services)
    {
        services.AddSingleton<TrialAllocator>();
        services.AddSingleton<EarlyStopper>();
        services.AddSingleton<SweepScheduler>();
        services.AddHostedService(provider => provider.GetRequiredService<SweepScheduler>());
        return services;
    }

    public static IEndpointRouteBuilder MapSweepsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/sweeps").WithTags("Sweeps").RequireSweepAccess();

        group.MapPost("/", CreateAsync)
            .WithName("CreateSweep")
            .WithSummary("Start a sweep: one training job per point of a grid, or per trial of a random search")
            .WithDescription("""
                `base` is a training job as `POST /jobs` takes it. With `method: grid` (the default), `grid` maps axes
                (hyperparameters, or `architecture`) to lists of values, and every combination becomes one job. With
                `method: random`, `space` maps axes to distributions (`choice`, `uniform`, `logUniform`, `intRange`) and
                `trials` points are drawn from it with `seed` (the service picks and shows one if omitted), once, when the
                sweep is created: the same space, trials and seed draw the same trials. Each job is named after the sweep
                and the point and tagged `sweep-{id}`. Each value is validated as `POST /jobs` would validate it (both ends
                of a range); an error names the axis and index (`grid.batchSize[1]`, `space.learningRate.logUniform[0]`),
                and nothing is stored. At most `maxConcurrent` of the sweep's jobs (default 2) are queued or running at a
                time; the others are created, in order, as earlier ones finish. Answers 202 with the sweep and its `Location`.

                `earlyStopping` stops trials whose metric lags: `asha` (rungs at epochs r, rη, rη², … with r =
                `gracePeriod`, default 1, and η = `reductionFactor`, default 3; a trial continues past a rung only if its
                metric is at least the (1 − 1/η) quantile of the values the trials before it recorded there) or `median`
                (from epoch `gracePeriod` on, a trial worse than the median of the other trials at that epoch stops, once
                `minTrials`, default 3, others have reached it); `metric` is `testAccuracy` by default. A stopped trial's
                job ends `cancelled` with termination reason `stopped-by-search`, keeping its checkpoints and metrics; the
                sweep counts it as neither failed nor cancelled. A trial is allocated its job once, however many API
                processes run: its job and its (sweep, trial) link are stored in one transaction, and the link is unique.

                With authentication on, any key may start a sweep: the sweep and its jobs belong to the key's name, like a
                job submitted with it. Its jobs count toward the owner's cap on unfinished jobs
                (`Limits:MaxUnfinishedJobsPerKey`), and the sweep never takes the owner past it: while the owner is at the
                cap, its next points wait (they do not fail) and become jobs as the owner's jobs end. So a `maxConcurrent`
                above the cap is accepted, and the sweep simply runs fewer at a time; a sweep is accepted even while the
                owner is at the cap. `POST /sweeps` counts against the submission rate limit as `POST /jobs` does.
                """)
            .WithMetadata(new JsonRequestBodyDocumentation(typeof(CreateSweepRequest),
                "The sweep: a base training job, the grid, and how many of its jobs may run at once. Unknown fields are rejected."))
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            // A sweep submits many jobs: it counts against the caller's submission rate like a job does.
            .RequireSubmissionRateLimit();

        group.MapGet("/", ListAsync)
            .WithName("ListSweeps")
            .WithSummary("List sweeps, newest first")
            .WithDescription("""
                At most `limit` sweeps (1–200, default 50); `GET /sweeps/{id}` has each one's jobs and comparison. With
                authentication on, only the caller's own sweeps, unless the key is an admin's.
                """);

        group.MapGet("/{id}", GetAsync)
            .WithName("GetSweep")
            .WithSummary("Get a sweep: its points, their jobs, the early-stopping decisions and the comparison table; or wait for it to end")
            .WithDescription("""
                With `wait=SECONDS` (0 to `JobsApi:MaxWait`) the answer is held until the sweep ends (succeeded,
                failed or cancelled), or is the sweep as it is when the wait runs out. A sweep succeeds when each of its
                jobs succeeded or was stopped by its early-stopping rule.

                Each point (trial) with its job's status and termination reason, final and best test accuracy, the first
                epoch that reached 99 % test accuracy, wall time, epochs trained, its learning curve (test accuracy and
                loss per epoch), and each judgement of the early-stopping rule (`rungs`: epoch, value, cutoff, how many
                trials it was compared with, continue or stop), with `stoppedAtEpoch` and `stopReason` for a trial the
                search stopped. `epochsSpent` totals the epochs every trial trained; `best` is the trial with the highest
                test accuracy at any epoch, with all its settings. The comparison has a row per combination of the axes
                other than `seed`, with the mean and sample standard deviation of those figures over the row's succeeded
                runs. With authentication on, another owner's sweep answers 404, as one that does not exist would (admins
                see every sweep).
                """)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapPost("/{id}/cancel", CancelAsync)
            .WithName("CancelSweep")
            .WithSummary("Cancel a sweep")
            .WithDescription("""
                No further jobs are created, and the sweep's queued and running jobs are cancelled (running ones stop at
                their next step boundary). 200 with the sweep, now `cancelled`; 409 if it had already finished. With
                authentication on, only its owner or an admin may cancel it; another owner's sweep answers 404.
                """)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<Results<Accepted<SweepResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        HttpContext context,
        [FromServices] ISweepStore sweeps,
        [FromServices] IJobStore store,
        [FromServices] ICheckpointIndex checkpointIndex,
        [FromServices] IDatasetStore datasets,
        [FromServices] IEpochStore epochStore,
        [FromServices] SweepScheduler scheduler,
        [FromServices] WebhookCallbacks callbacks,
        [FromServices] TimeProvider time,
        CancellationToken cancellationToken)
    {
        var body = await JsonRequestBody.ReadAsync<CreateSweepRequest>(context.Request, MaxRequestBodyBytes, RequestJson, cancellationToken);
        if (body.Problem is not null)
            return body.Problem;
        if (body.Errors is not null)
            return TypedResults.ValidationProblem(body.Errors);

        var now = StoredTime.Truncate(time.GetUtcNow()); // what the stores keep
        var plan = await SweepPlanner.BuildAsync(body.Value!, store, checkpointIndex, now, cancellationToken,
            new DatasetLookup(datasets, Caller.Of(context).CanSeeOwnedBy));
        var callbackErrors = new FieldErrors();
        var callback = await callbacks.CheckAsync(body.Value!.Callback, callbackErrors, cancellationToken);
        if (plan.Sweep is null || callbackErrors.Any)
            return TypedResults.ValidationProblem(WebhookCallbacks.Merge(plan.Errors, callbackErrors));

        // The sweep is the caller's, as a submitted job is; the scheduler gives its jobs the same owner.
        var sweep = plan.Sweep with { Owner = Caller.Of(context).Owner };
        await callbacks.AttachAsync(callback, new WebhookTarget(WebhookTargetKind.Sweep, sweep.Id), sweep.Owner, cancellationToken);
        await sweeps.CreateSweepAsync(sweep, cancellationToken);
        // Its first jobs now rather than at the next scheduler pass; should this fail, that pass does it.
        try
        {
            await scheduler.AdvanceAsync(sweep.Id, CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            context.RequestServices.GetRequiredService<ILogger<SweepScheduler>>()
                .LogWarning(e, "Sweep {SweepId} is stored; its first jobs come with the next scheduler pass", sweep.Id);
        }
        return TypedResults.Accepted($"/sweeps/{sweep.Id:D}", await SweepReport.BuildAsync(sweep, sweeps, epochStore, time.GetUtcNow(), cancellationToken));
    }

    private static async Task<Results<Ok<SweepListResponse>, ValidationProblem>> ListAsync(
        HttpContext context,
        [ParameterSchema(Type = "integer", Minimum = 1, Maximum = 200, Default = "50", Description = "Page size.")] string? limit,
        [FromServices] ISweepStore sweeps,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var size = Query.ParseInt("limit", limit, 1, 200, 50, errors);
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        var listed = await sweeps.ListSweepsAsync(new SweepQuery(size, Caller.Of(context).ListingOwner), cancellationToken);
        return TypedResults.Ok(new SweepListResponse
        {
            Items = listed.Select(s => new SweepSummaryResponse
            {
                Id = s.Id,
                Name = s.Name,
                CancelRequested = s.CancelRequested,
                PointCount = s.Points.Count,
                Axes = s.Axes,
                Method = s.Search.Method,
                CreatedAt = s.CreatedAt,
                Owner = s.Owner,
            }).ToList(),
        });
    }

    private static async Task<Results<Ok<SweepResponse>, ValidationProblem, ProblemHttpResult>> GetAsync(
        [ParameterSchema(Description = "The sweep's id.", Example = "0197a1f2-7d4e-7a1b-8c2d-3e4f5a6b7c8d")] string id,
        [FromQuery(Name = LongPoll.Parameter)]
        [ParameterSchema(Type = "integer", Minimum = 0, Description = "Seconds to wait for the sweep to end before answering (0 to JobsApi:MaxWait, 300 by default); omit to answer at once.", Example = "300")]
        string? wait,
        [FromServices] ISweepStore sweeps,
        [FromServices] IEpochStore epochStore,
        [FromServices] JobWatchHub hub,
        [FromServices] IOptions<JobsApiOptions> options,
        [FromServices] TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (!LongPoll.TryParse(wait, options.Value.MaxWait, out var waitFor, out var errors))
            return TypedResults.ValidationProblem(errors!);
        if (!JobIds.TryParse(id, out var sweepId) || await sweeps.GetSweepAsync(sweepId, cancellationToken) is null)
            return Problems.SweepNotFound(id);
        var report = await LongPoll.UntilSweepEndsAsync(
            async ct => await SweepReport.BuildAsync((await sweeps.GetSweepAsync(sweepId, ct))!, sweeps, epochStore, time.GetUtcNow(), ct),
            r => r.Status is not "running",
            r => r.Points.FirstOrDefault(p => p.JobId is not null && p.Status is { } s && !s.IsTerminal())?.JobId,
            hub, waitFor, options.Value.SweepSchedulerInterval, time, cancellationToken);
        return TypedResults.Ok(report);
    }

    private static async Task<Results<Ok<SweepResponse>, ProblemHttpResult>> CancelAsync(
        [ParameterSchema(Description = "The sweep's id.", Example = "0197a1f2-7d4e-7a1b-8c2d-3e4f5a6b7c8d")] string id,
        [FromServices] ISweepStore sweeps,
        [FromServices] IEpochStore epochStore,
        [FromServices] SweepScheduler scheduler,
        [FromServices] TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (!JobIds.TryParse(id, out var sweepId) || await sweeps.GetSweepAsync(sweepId, cancellationToken) is not { } sweep)
            return Problems.SweepNotFound(id);
        var before = await SweepReport.BuildAsync(sweep, sweeps, epochStore, time.GetUtcNow(), cancellationToken);
        if (before.Status is "succeeded" or "failed")
            return Problems.Conflict("Sweep already finished", $"Sweep {sweepId} ended {before.Status}; there is nothing left to cancel.");
        await scheduler.CancelAsync(sweepId, cancellationToken);
        var after = await sweeps.GetSweepAsync(sweepId, cancellationToken);
        return TypedResults.Ok(await SweepReport.BuildAsync(after!, sweeps, epochStore, time.GetUtcNow(), cancellationToken));
    }

    private static readonly System.Text.Json.JsonSerializerOptions RequestJson = ApiJson.CreateStrictRequestOptions();
}
