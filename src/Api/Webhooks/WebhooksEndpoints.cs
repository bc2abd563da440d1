using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Api.Jobs;
using TrainingService.Api.Security;
using TrainingService.Contracts;
using TrainingService.Contracts.Webhooks;

namespace TrainingService.Api.Webhooks;

/// <summary>
/// <c>/webhooks</c>: an owner's default subscriptions; and <c>/jobs/{id}/webhooks</c>,
/// <c>/sweeps/{id}/webhooks</c>: the deliveries of a job's or sweep's events, with every attempt.
/// Owned like jobs: with authentication on, a key sees its owner's subscriptions (an admin everyone's),
/// and another owner's answers 404.
/// </summary>
public static class WebhooksEndpoints
{
    private const long MaxRequestBodyBytes = 8 * 1024;
    private const string IdExample = "0197a1f2-8e5f-7b2c-9d3e-4f5a6b7c8d9e";
    private static readonly JsonSerializerOptions RequestJson = ApiJson.CreateStrictRequestOptions();

    public static IEndpointRouteBuilder MapWebhooksEndpoints(this IEndpointRouteBuilder app)
    {
        var webhooks = app.MapGroup("/webhooks").WithTags("Webhooks").RequireAuthorization(SecurityHosting.JobsPolicy);
        webhooks.MapPost("/", CreateAsync)
            .WithName("CreateWebhook")
            .WithSummary("Register a default webhook subscription")
            .WithDescription("""
                Every job and sweep of the caller's owner (the API key's name; with authentication off, of everyone)
                that ends from now on is POSTed to `url` as a signed event, besides the callback it may name itself.
                `events` narrows it to some event types. The URL must be http(s) without credentials; loopback, private
                and link-local addresses are refused (400 naming `url`) unless `Webhooks:AllowPrivateAddresses` is on.
                The secret is stored and never shown again. An owner has at most `Webhooks:MaxSubscriptionsPerOwner`
                (409 beyond). See docs/webhooks.md for the event format and how to verify its signature.
                """)
            .WithMetadata(new JsonRequestBodyDocumentation(typeof(CreateWebhookRequest), "The subscription: URL, secret, and optionally the event types. Unknown fields are rejected."))
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .RequireSubmissionRateLimit();
        webhooks.MapGet("/", ListAsync)
            .WithName("ListWebhooks")
            .WithSummary("List default webhook subscriptions")
            .WithDescription("The caller's owner's default subscriptions, oldest first (an admin's key: everyone's). Secrets are never shown.");
        webhooks.MapGet("/{id}", GetAsync)
            .WithName("GetWebhook")
            .WithSummary("Get a default webhook subscription")
            .WithDescription("One default subscription; another owner's answers 404, as one that does not exist would.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        webhooks.MapDelete("/{id}", DeleteAsync)
            .WithName("DeleteWebhook")
            .WithSummary("Delete a default webhook subscription")
            .WithDescription("No further events go to it, and its deliveries still pending are cancelled (they stay listed on their jobs and sweeps). 204; 404 for one that does not exist or is another owner's.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        app.MapGroup("/jobs").WithTags("Webhooks").RequireJobAccess()
            .MapGet("/{id}/webhooks", ListJobDeliveriesAsync)
            .WithName("ListJobWebhookDeliveries")
            .WithSummary("List the webhook deliveries of a job's event")
            .WithDescription("""
                Once the job has ended (and within `Webhooks:PollInterval`), one delivery of its event per receiver — its
                own callback and its owner's default subscriptions — with the state (`pending`, `delivered`, `failed`,
                `cancelled`), when the next attempt is due, and every attempt: when, how long, the receiver's status code or
                the error. Empty while the job runs, or when nobody subscribed.
                """)
            .ProducesProblem(StatusCodes.Status404NotFound);
        app.MapGroup("/sweeps").WithTags("Webhooks").RequireSweepAccess()
            .MapGet("/{id}/webhooks", ListSweepDeliveriesAsync)
            .WithName("ListSweepWebhookDeliveries")
            .WithSummary("List the webhook deliveries of a sweep's event")
            .WithDescription("As `GET /jobs/{id}/webhooks`, for the sweep's own event (`sweep.succeeded`, `sweep.failed` or `sweep.cancelled`); its jobs' events are listed on each job.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<Results<Created<WebhookSubscriptionResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        HttpContext context,
        [FromServices] WebhookValidation validation,
        [FromServices] IWebhookSubscriptionStore subscriptions,
        [FromServices] IOptions<WebhooksOptions> options,
        [FromServices] TimeProvider time,
        CancellationToken cancellationToken)
    {
        var body = await JsonRequestBody.ReadAsync<CreateWebhookRequest>(context.Request, MaxRequestBodyBytes, RequestJson, cancellationToken);
        if (body.Problem is not null)
            return body.Problem;
        if (body.Errors is not null)
            return TypedResults.ValidationProblem(body.Errors);
        var errors = new FieldErrors();
        var url = await validation.CheckUrlAsync(body.Value!.Url, "url", errors, cancellationToken);
        var secret = validation.CheckSecret(body.Value.Secret, "secret", errors);
        var events = WebhookValidation.CheckEvents(body.Value.Events, "events", errors);
        if (errors.Any || url is null || secret is null)
            return TypedResults.ValidationProblem(errors.ToDictionary());

        var owner = Caller.Of(context).Owner;
        var limit = options.Value.MaxSubscriptionsPerOwner;
        if ((await subscriptions.ListDefaultSubscriptionsAsync(owner, allOwners: false, cancellationToken)).Count >= limit)
            return Problems.Conflict("Too many webhook subscriptions",
                $"An owner may have at most {limit} default subscriptions (Webhooks:MaxSubscriptionsPerOwner); delete one first.");
        var now = StoredTime.Truncate(time.GetUtcNow());
        var subscription = new WebhookSubscription(Guid.CreateVersion7(now), owner, null, url, secret, events, now);
        await subscriptions.CreateSubscriptionAsync(subscription, cancellationToken);
        return TypedResults.Created($"/webhooks/{subscription.Id:D}", WebhookSubscriptionResponse.From(subscription));
    }

    private static async Task<Ok<WebhookSubscriptionListResponse>> ListAsync(
        HttpContext context, [FromServices] IWebhookSubscriptionStore subscriptions, CancellationToken cancellationToken)
    {
        var owner = Caller.Of(context).ListingOwner;
        var listed = await subscriptions.ListDefaultSubscriptionsAsync(owner, allOwners: owner is null, cancellationToken);
        return TypedResults.Ok(new WebhookSubscriptionListResponse { Items = [.. listed.Select(WebhookSubscriptionResponse.From)] });
    }

    private static async Task<Results<Ok<WebhookSubscriptionResponse>, ProblemHttpResult>> GetAsync(
        [ParameterSchema(Description = "The subscription's id.", Example = IdExample)] string id,
        HttpContext context, [FromServices] IWebhookSubscriptionStore subscriptions, CancellationToken cancellationToken) =>
        await FindAsync(id, context, subscriptions, cancellationToken) is { } subscription
            ? TypedResults.Ok(WebhookSubscriptionResponse.From(subscription))
            : NotFound(id);

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        [ParameterSchema(Description = "The subscription's id.", Example = IdExample)] string id,
        HttpContext context, [FromServices] IWebhookSubscriptionStore subscriptions, [FromServices] TimeProvider time, CancellationToken cancellationToken)
    {
        if (await FindAsync(id, context, subscriptions, cancellationToken) is not { } subscription
            || !await subscriptions.DeleteSubscriptionAsync(subscription.Id, time.GetUtcNow(), cancellationToken))
            return NotFound(id);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<WebhookDeliveryListResponse>, ProblemHttpResult>> ListJobDeliveriesAsync(
        [ParameterSchema(Description = "The job's id.", Example = "0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e")] string id,
        [FromServices] IJobStore jobs, [FromServices] IWebhookDeliveryStore deliveries, CancellationToken cancellationToken)
    {
        if (!JobIds.TryParse(id, out var jobId) || await jobs.GetAsync(jobId, cancellationToken) is null)
            return Problems.JobNotFound(id);
        return await ListDeliveriesAsync(new WebhookTarget(WebhookTargetKind.Job, jobId), deliveries, cancellationToken);
    }

    private static async Task<Results<Ok<WebhookDeliveryListResponse>, ProblemHttpResult>> ListSweepDeliveriesAsync(
        [ParameterSchema(Description = "The sweep's id.", Example = "0197a1f2-7d4e-7a1b-8c2d-3e4f5a6b7c8d")] string id,
        [FromServices] ISweepStore sweeps, [FromServices] IWebhookDeliveryStore deliveries, CancellationToken cancellationToken)
    {
        if (!JobIds.TryParse(id, out var sweepId) || await sweeps.GetSweepAsync(sweepId, cancellationToken) is null)
            return Problems.SweepNotFound(id);
        return await ListDeliveriesAsync(new WebhookTarget(WebhookTargetKind.Sweep, sweepId), deliveries, cancellationToken);
    }

    private static async Task<Results<Ok<WebhookDeliveryListResponse>, ProblemHttpResult>> ListDeliveriesAsync(
        WebhookTarget target, IWebhookDeliveryStore deliveries, CancellationToken cancellationToken) =>
        TypedResults.Ok(new WebhookDeliveryListResponse
        {
            Items = [.. (await deliveries.ListDeliveriesAsync(target, cancellationToken)).Select(WebhookDeliveryResponse.From)],
        });

    /// <summary>The default subscription <paramref name="id"/> names, if the caller may see it.</summary>
    private static async Task<WebhookSubscription?> FindAsync(string id, HttpContext context, IWebhookSubscriptionStore subscriptions, CancellationToken cancellationToken) =>
        JobIds.TryParse(id, out var guid) && await subscriptions.GetDefaultSubscriptionAsync(guid, cancellationToken) is { } subscription
            && Caller.Of(context).CanSeeOwnedBy(subscription.Owner)
            ? subscription
            : null;

    private static ProblemHttpResult NotFound(string id) => Problems.NotFound($"There is no webhook subscription '{Problems.Shorten(id)}'.");
}
