using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using TrainingService.Api.Checkpoints;
using TrainingService.Api.Datasets;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Api.Logs;
using TrainingService.Api.Metrics;
using TrainingService.Api.Security;
using TrainingService.Api.Webhooks;
using TrainingService.Contracts;
using TrainingService.Contracts.Webhooks;
using TrainingService.Contracts.Datasets;
using TrainingService.Storage;
using TrainingService.Contracts.Architectures;

namespace TrainingService.Api.Jobs;

/// <summary><c>/jobs</c>: submit, list, read and cancel jobs; its sub-resources (metrics, checkpoints, logs) are mapped from here.</summary>
public static class JobsEndpoints
{
    public static IEndpointRouteBuilder MapJobsEndpoints(this IEndpointRouteBuilder app)
    {
        // Program.cs is composition only and has no hook for the jobs API's own services, so what
        // only these endpoints use (their options, the shared stream poller) is made here, once.
        var options = app.ServiceProvider.GetRequiredService<IConfiguration>()
            .GetSection(JobsApiOptions.SectionName).Get<JobsApiOptions>() ?? new JobsApiOptions();
        options.Validate();
        var hub = app.ServiceProvider.GetRequiredService<JobWatchHub>();
        var handlers = new JobHandlers(options);

        var group = app.MapGroup("/jobs").WithTags("Jobs").RequireJobAccess();

        group.MapPost("/", handlers.CreateAsync)
            .WithName("CreateJob")
            .WithSummary("Submit a training or eval job")
            .WithDescription("""
                Validates the job, stores it and answers 202 with the job and its `Location`; the job reaches the workers' queue a moment later (should that fail, a sweep retries).
                Omitted hyperparameters take the architecture's defaults (see `GET /architectures`), and the response
                shows the effective values. `dataset` picks what to train on: `mnist` (the default), `fashion-mnist`, or an
                uploaded dataset's id (`GET /datasets`); an eval job evaluates on its source's dataset unless it names another
                of the same geometry. An eval job names `source` (a training job and its checkpoint: `final`,
                `best` or an epoch) and takes its architecture and hyperparameters from it; only `device` may be given.

                A 400 lists every offending field under `errors`, keyed by JSON path; unknown fields are errors too.
                Nothing is stored or queued on any 4xx. The body is at most `JobsApi:MaxRequestBodyBytes` (64 KiB by
                default; larger → 413) and must be `application/json` (else 415).

                With an `Idempotency-Key` header, repeating the request returns the job the first one created, with
                200 instead of 202, its current state, and the same `Location`; nothing new is queued. The same key with
                a different request is a 409.
                """)
            .WithMetadata(new JsonRequestBodyDocumentation(typeof(CreateJobRequest),
                "The job: kind, architecture, hyperparameter overrides, and for an eval job its source. Unknown fields are rejected."))
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .RequireSubmissionRateLimit();

        group.MapGet("/", ListAsync)
            .WithName("ListJobs")
            .WithSummary("List jobs, newest first")
            .WithDescription("""
                Pages of at most `limit` jobs (1–200, default 50), newest first; with authentication on, only the
                caller's own jobs unless the key is an admin's. Follow `nextCursor` (pass it as
                `cursor`) until it is null. Filters combine: `status`, `architecture`, `kind`, `tag`. A bad value
                gives a 400 naming the parameter.
                """);

        group.MapGet("/{id}", handlers.GetAsync)
            .WithName("GetJob")
            .WithSummary("Get a job, or wait for it to end")
            .WithDescription("""
                The job's status, effective hyperparameters, progress while it runs (with the fraction done and an
                estimated completion), result once it has succeeded (with its `expect` conditions checked and
                `passed`), error if it failed, why it ended (`terminationReason`) and every attempt with its reason.
                An id that names no job (including one that is not a GUID) gives 404.

                With `wait=SECONDS` (0 to `JobsApi:MaxWait`, 300 by default) the answer is held until the job ends
                (succeeded, failed or cancelled) and comes at once when it does; when the wait runs out first, the
                answer is the job as it is then (200 either way: look at `status`). A CI script blocks on this instead
                of polling.
                """)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapPost("/{id}/cancel", CancelAsync)
            .WithName("CancelJob")
            .WithSummary("Cancel a job")
            .WithDescription("""
                A queued job is cancelled at once and never starts: 200 with the job, now `cancelled`. A running job
                becomes `cancelling` and its worker stops it at the next step boundary, after saving what it can: 202
                with the job (so also when it was already cancelling). A job that has already ended gives 409.
                """)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        group.MapJobMetrics(hub, options);
        group.MapJobCheckpoints();
        group.MapJobLogs(hub, options);
        return app;
    }

    private static async Task<Results<Ok<JobPageResponse>, ValidationProblem>> ListAsync(
        [ParameterSchema(Values = ["queued", "running", "succeeded", "failed", "cancelling", "cancelled", "interrupted"],
            Description = "Only jobs in this status.")] string? status,
        [ParameterSchema(Values = [ArchitectureCatalog.ConvNetName, ArchitectureCatalog.ResNet18Name, ArchitectureCatalog.AttentionName],
            Description = "Only jobs of this architecture.")] string? architecture,
        [ParameterSchema(Values = ["train", "eval"], Description = "Only training or only eval jobs.")] string? kind,
        [ParameterSchema(Description = "Only jobs carrying this tag (exact, case-sensitive).", Example = "baseline")] string? tag,
        [ParameterSchema(Type = "integer", Minimum = 1, Maximum = 200, Default = "50", Description = "Page size.")] string? limit,
        [ParameterSchema(Description = "The previous page's nextCursor.")] string? cursor,
        HttpContext context,
        [FromServices] IJobStore store,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var query = new JobQuery(
            Status: Query.ParseEnum<JobStatus>("status", status, errors),
            Architecture: Query.ParseArchitecture("architecture", architecture, errors),
            Kind: Query.ParseEnum<JobKind>("kind", kind, errors),
            Tag: Query.ParseTag("tag", tag, errors),
            Limit: Query.ParseInt("limit", limit, 1, 200, 50, errors),
            After: Query.ParseCursor("cursor", cursor, errors),
            Owner: Caller.Of(context).ListingOwner);
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);

        // One more than the page, to know whether another page follows without a trailing empty one.
        var jobs = await store.ListAsync(query with { Limit = query.Limit + 1 }, cancellationToken);
        var page = jobs.Take(query.Limit).ToList();
        var next = jobs.Count > query.Limit ? JobCursorCodec.Encode(new JobCursor(page[^1].CreatedAt, page[^1].Id)) : null;
        return TypedResults.Ok(new JobPageResponse { Items = [.. page.Select(j => j.ToResponse())], NextCursor = next });
    }

    private static async Task<Results<Ok<JobResponse>, Accepted<JobResponse>, ProblemHttpResult>> CancelAsync(
        [ParameterSchema(Description = "The job's id.", Example = "0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e")] string id,
        [FromServices] IJobStore store,
        [FromServices] IJobAttemptLog attempts,
        [FromServices] TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (!JobIds.TryParse(id, out var jobId))
            return Problems.JobNotFound(id);
        var outcome = await store.RequestCancelAsync(jobId, time.GetUtcNow(), cancellationToken);
        if (outcome == CancelOutcome.NotFound || await store.GetAsync(jobId, cancellationToken) is not { } job)
            return Problems.JobNotFound(id);
        var response = job.ToResponse(await attempts.ListAttemptsAsync(jobId, cancellationToken));
        return outcome switch
        {
            CancelOutcome.CancelledBeforeStart => TypedResults.Ok(response),
            CancelOutcome.CancellationRequested or CancelOutcome.AlreadyCancelling =>
                TypedResults.Accepted(JobIds.Location(job.Id), response),
            _ => Problems.Conflict("Job already finished",
                $"Job {job.Id} has already ended ({job.Status.ToString().ToLowerInvariant()}); there is nothing to cancel."),
        };
    }

    /// <summary>The handlers that need the jobs API's options.</summary>
    private sealed class JobHandlers(JobsApiOptions options)
    {
        public async Task<Results<Ok<JobResponse>, ValidationProblem, ProblemHttpResult>> GetAsync(
            [ParameterSchema(Description = "The job's id.", Example = "0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e")] string id,
            [FromQuery(Name = LongPoll.Parameter)]
            [ParameterSchema(Type = "integer", Minimum = 0, Description = "Seconds to wait for the job to end before answering (0 to JobsApi:MaxWait, 300 by default); omit to answer at once.", Example = "300")]
            string? wait,
            [FromServices] IJobStore store,
            [FromServices] IJobAttemptLog attempts,
            [FromServices] JobWatchHub hub,
            [FromServices] TimeProvider time,
            CancellationToken cancellationToken)
        {
            if (!LongPoll.TryParse(wait, options.MaxWait, out var waitFor, out var errors))
                return TypedResults.ValidationProblem(errors!);
            if (!JobIds.TryParse(id, out var jobId) || await store.GetAsync(jobId, cancellationToken) is not { } job)
                return Problems.JobNotFound(id);
            return await LongPoll.UntilJobEndsAsync(hub, job, waitFor, time, cancellationToken) is { } current
                ? TypedResults.Ok(current.ToResponse(await attempts.ListAttemptsAsync(jobId, cancellationToken)))
                : Problems.JobNotFound(id);
        }

        private static readonly JsonSerializerOptions RequestJson = ApiJson.CreateStrictRequestOptions();

        public async Task<Results<Accepted<JobResponse>, Ok<JobResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
            HttpContext context,
            [FromHeader(Name = JobSubmission.IdempotencyKeyHeader)]
            [ParameterSchema(Description = "Makes retries safe: a repeated request with the same key returns the job the first one created (200) instead of creating another.",
                Example = "5b0c1f4e-2d7a-4e8b-9c3d-1a2b3c4d5e6f")]
            string? idempotencyKey,
            [FromServices] IJobStore store,
            [FromServices] ICheckpointIndex checkpointIndex,
            [FromServices] IDatasetStore datasets,
            [FromServices] JobOutbox outbox,
            [FromServices] WebhookCallbacks callbacks,
            [FromServices] TimeProvider time,
            CancellationToken cancellationToken)
        {
            // An empty Idempotency-Key header binds as null; it is a malformed key, not an absent one.
            if (idempotencyKey is null && context.Request.Headers.ContainsKey(JobSubmission.IdempotencyKeyHeader))
                idempotencyKey = "";
            var body = await JsonRequestBody.ReadAsync<CreateJobRequest>(context.Request, options.MaxRequestBodyBytes, RequestJson, cancellationToken);
            if (body.Problem is not null)
                return body.Problem;
            if (body.Errors is not null)
                return TypedResults.ValidationProblem(body.Errors);

            // PostgreSQL keeps microseconds: a creation time cut to them up front makes this
            // answer identical to every later read of the job (and its paging cursor exact).
            var now = StoredTime.Truncate(time.GetUtcNow());
            var caller = Caller.Of(context);
            var submission = await JobSubmission.BuildAsync(body.Value!, idempotencyKey, store, checkpointIndex, now, cancellationToken, caller.CanSee,
                new DatasetLookup(datasets, caller.CanSeeOwnedBy));
            var callbackErrors = new FieldErrors();
            var callback = await callbacks.CheckAsync(body.Value!.Callback, callbackErrors, cancellationToken);
            if (submission.Job is null || callbackErrors.Any)
                return TypedResults.ValidationProblem(WebhookCallbacks.Merge(submission.Errors, callbackErrors));

            // Security (docs/security.md): the job is the caller's, its Idempotency-Key is scoped to
            // them, and an owner at the cap on unfinished jobs gets 429 before anything is stored.
            var ownedJob = submission.Job with
            {
                Owner = caller.Owner,
                IdempotencyKey = IdempotencyKeys.Scope(caller.Owner, submission.Job.IdempotencyKey),
            };
            submission = submission with { Job = ownedJob };
            if (await UnfinishedJobsCap.CheckAsync(context, ownedJob, cancellationToken) is { } overCap)
                return overCap;

            // The callback first: see WebhookCallbacks for why that order.
            var subscription = await callbacks.AttachAsync(callback, new WebhookTarget(WebhookTargetKind.Job, ownedJob.Id), caller.Owner, cancellationToken);
            var (job, created) = await store.CreateAsync(submission.Job, cancellationToken);
            if (!created)
            {
                // The first request's job, with the first request's callback, if any.
                await callbacks.DetachAsync(subscription, CancellationToken.None);
                if (!JobSubmission.IsSameRequest(job, submission.Job))
                    return Problems.Conflict("Idempotency-Key reused",
                        $"This Idempotency-Key was first used for a different request, which created job {job.Id}; use a new key for a new job.");
                context.Response.Headers.Location = JobIds.Location(job.Id);
                var attempts = await context.RequestServices.GetRequiredService<IJobAttemptLog>().ListAttemptsAsync(job.Id, cancellationToken);
                return TypedResults.Ok(job.ToResponse(attempts));
            }

            // Stored is what counts: the outbox enqueues the job in the background, and should that
            // fail, its sweep enqueues the job later.
            outbox.Post(job);
            return TypedResults.Accepted(JobIds.Location(job.Id), job.ToResponse(attempts: []));
        }
    }
}
