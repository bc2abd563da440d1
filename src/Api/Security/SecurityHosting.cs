using System.Globalization;
using System.Threading.RateLimiting;
using Hangfire.Dashboard;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Jobs;
using TrainingService.Contracts;
using TrainingService.Storage;
using TrainingService.Contracts.Access;

namespace TrainingService.Api.Security;

/// <summary>
/// Authentication (API keys), who may see which job, the limits on submission, and the security
/// headers: registered by <see cref="AddApiSecurity"/>, put in the pipeline by <see cref="UseApiSecurity"/>,
/// and applied to the jobs and sweeps APIs by <see cref="RequireJobAccess"/>, <see cref="RequireSweepAccess"/> and
/// <see cref="RequireSubmissionRateLimit"/>.
/// </summary>
public static class SecurityHosting
{
    /// <summary>The authorization policy on <c>/jobs</c> and <c>/sweeps</c>: an authenticated key when authentication is on, nothing when off.</summary>
    public const string JobsPolicy = "jobs";

    /// <summary>The authorization policy on the service's own <c>/metrics</c>: an admin key when authentication is on, nothing when off.</summary>
    public const string AdminPolicy = "admin";

    /// <summary>The rate-limiter policy on <c>POST /jobs</c> and <c>POST /sweeps</c>.</summary>
    public const string SubmissionRateLimitPolicy = "job-submissions";

    public static IServiceCollection AddApiSecurity(this IServiceCollection services, IConfiguration configuration)
    {
        // Resolved here, once: the authorization policy and the start-up log need it before any request.
        var usesPostgres = configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>()?.UsesPostgres ?? false;
        var enabled = configuration.GetSection(AuthOptions.SectionName).Get<AuthOptions>()?.Enabled ?? usesPostgres;
        services.AddOptions<AuthOptions>()
            .Bind(configuration.GetSection(AuthOptions.SectionName))
            .Configure(options => options.Enabled = enabled)
            .Validate(options => string.IsNullOrEmpty(options.BootstrapAdminKey)
                    || (options.BootstrapAdminKey.Length is >= AuthOptions.MinBootstrapKeyLength and <= ApiKeys.MaxLength
                        && options.BootstrapAdminKey.All(c => c is >= '!' and <= '~')),
                $"Auth:BootstrapAdminKey must be {AuthOptions.MinBootstrapKeyLength} to {ApiKeys.MaxLength} visible ASCII characters (e.g. tsk_ and 64 hex digits).")
            .ValidateOnStart();
        services.AddOptions<LimitsOptions>()
            .Bind(configuration.GetSection(LimitsOptions.SectionName))
            .Validate(options => options.Validate() is null, "Invalid Limits settings: see the README's configuration table.")
            .ValidateOnStart();

        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(JobsPolicy, policy =>
            {
                policy.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName);
                if (enabled)
                    policy.RequireAuthenticatedUser();
                else
                    policy.RequireAssertion(_ => true);
            })
            .AddPolicy(AdminPolicy, policy =>
            {
                policy.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName);
                if (enabled)
                    policy.RequireAuthenticatedUser().RequireClaim(ApiKeyClaims.Admin, "true");
                else
                    policy.RequireAssertion(_ => true);
            });

        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.AddPolicy(SubmissionRateLimitPolicy, context =>
            {
                var limits = context.RequestServices.GetRequiredService<IOptions<LimitsOptions>>().Value;
                // Per key when there is one; with authentication off, per client address.
                var partition = Caller.Of(context).KeyId is { } keyId
                    ? "key:" + keyId
                    : "address:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
                return RateLimitPartition.GetFixedWindowLimiter(partition, _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = limits.SubmissionsPerWindow,
                    Window = limits.SubmissionWindow,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            options.OnRejected = async (rejected, _) =>
            {
                var context = rejected.HttpContext;
                var limits = context.RequestServices.GetRequiredService<IOptions<LimitsOptions>>().Value;
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : limits.SubmissionWindow;
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails = new ProblemDetails
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many submissions",
                        Detail = $"At most {limits.SubmissionsPerWindow} job submissions per {limits.SubmissionWindow} (Limits:SubmissionsPerWindow); retry after {seconds} s.",
                        Extensions = { ["limit"] = "Limits:SubmissionsPerWindow", ["retryAfterSeconds"] = seconds },
                    },
                });
            };
        });

        services.ConfigureSwaggerGen(options =>
        {
            options.AddSecurityDefinition(ApiKeyAuthenticationHandler.SchemeName, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyAuthenticationHandler.ApiKeyHeader,
                Description = "An API key (made with `trainingservice keys create --name NAME`), sent as `X-Api-Key`; "
                    + "`Authorization: Bearer <key>` works too. Needed for every /jobs and /sweeps operation when authentication is on (Auth:Enabled).",
            });
            options.OperationFilter<ApiKeySecurityFilter>();
        });
        return services;
    }

    /// <summary>Security headers on every answer (see <see cref="SecurityHeaders"/>).</summary>
    public static WebApplication UseSecurityHeaders(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            // The path as it arrives: Hangfire's dashboard moves its prefix into PathBase on the way in.
            var path = context.Request.Path;
            // At OnStarting, so error pages and answers written by other middleware get them too.
            context.Response.OnStarting(() =>
            {
                SecurityHeaders.Apply(context.Response, SecurityHeaders.IsUserInterface(path, context.Response.ContentType));
                return Task.CompletedTask;
            });
            return next(context);
        });
        return app;
    }

    /// <summary>Authentication, authorization and the rate limiter; says in the log whether authentication is on.</summary>
    public static WebApplication UseApiSecurity(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();

        if (app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.IsEnabled)
            app.Logger.LogInformation(
                "Authentication is ON: every /jobs and /sweeps request needs an API key (Authorization: Bearer <key> or {Header}); make keys with 'trainingservice keys create --name NAME'.",
                ApiKeyAuthenticationHandler.ApiKeyHeader);
        else
            app.Logger.LogWarning(
                "Authentication is OFF: anyone who can reach this service can submit, read, cancel and download every job. " +
                "It is off by default only on the embedded store; set Auth__Enabled=true to require API keys.");
        return app;
    }

    /// <summary>
    /// Makes sure the key in <c>Auth:BootstrapAdminKey</c>, when set, exists as an admin key. Run after
    /// the schema migrations. A revoked bootstrap key stays revoked: revocation is the operator's word.
    /// </summary>
    public static async Task EnsureBootstrapAdminKeyAsync(this WebApplication app, CancellationToken cancellationToken)
    {
        var auth = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        if (string.IsNullOrEmpty(auth.BootstrapAdminKey))
            return;
        var keys = app.Services.GetRequiredService<IApiKeyStore>();
        var existing = await keys.FindApiKeyAsync(ApiKeys.Hash(auth.BootstrapAdminKey), cancellationToken);
        if (existing is null)
        {
            var record = new ApiKeyRecord(Guid.NewGuid(), auth.BootstrapAdminName, IsAdmin: true, ApiKeys.Hash(auth.BootstrapAdminKey),
                StoredNow(app.Services.GetRequiredService<TimeProvider>()), RevokedAt: null);
            try
            {
                await keys.CreateApiKeyAsync(record, cancellationToken);
                app.Logger.LogInformation("Stored the bootstrap admin key (Auth:BootstrapAdminKey) as key {KeyId} for '{Name}'.", record.Id, record.Name);
            }
            catch (Exception e) when (e is System.Data.Common.DbException)
            {
                // Another API process starting at the same time stored it first (the hash is unique).
                if (await keys.FindApiKeyAsync(record.KeySha256, cancellationToken) is null)
                    throw;
            }
        }
        else if (existing.IsRevoked)
        {
            app.Logger.LogWarning("The bootstrap admin key (Auth:BootstrapAdminKey) was revoked at {RevokedAt}; it stays revoked. Remove the setting.", existing.RevokedAt);
        }
    }

    private static DateTimeOffset StoredNow(TimeProvider time) => StoredTime.Truncate(time.GetUtcNow());

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
        group.RequireAuthorization(JobsPolicy);
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
        group.RequireAuthorization(AdminPolicy);

    public static RouteHandlerBuilder RequireSubmissionRateLimit(this RouteHandlerBuilder submit) =>
        submit.RequireRateLimiting(SubmissionRateLimitPolicy)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

    /// <summary>
    /// The per-owner cap on unfinished jobs, checked before a job is stored (with authentication on).
    /// Submissions racing each other may pass it together by a few; it bounds a runaway client, not an exact count.
    /// </summary>
    public static async Task<ProblemHttpResult?> CheckUnfinishedJobsCapAsync(HttpContext context, JobRecord job, CancellationToken cancellationToken)
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

    /// <summary>
    /// Idempotency-Key values are the client's own names, so they are scoped to the owner: another
    /// owner's key of the same text neither returns nor reveals their job. A unit separator joins them,
    /// which neither a key's name nor an Idempotency-Key (visible ASCII) may contain.
    /// </summary>
    public static string? ScopeIdempotencyKey(string? owner, string? idempotencyKey) =>
        owner is null || idempotencyKey is null ? idempotencyKey : owner + '\u001f' + idempotencyKey;

    /// <summary>
    /// The Hangfire dashboard's rule: requests from this machine always; from elsewhere only with
    /// <c>Dashboard:AllowRemote</c>, and then, when authentication is on, only with an admin key.
    /// </summary>
    public static IDashboardAsyncAuthorizationFilter DashboardAuthorization(bool allowRemote, bool authEnabled) =>
        new DashboardAccess(allowRemote, authEnabled);

    private sealed class DashboardAccess(bool allowRemote, bool authEnabled) : IDashboardAsyncAuthorizationFilter
    {
        private static readonly LocalRequestsOnlyAuthorizationFilter LocalOnly = new();

        public async Task<bool> AuthorizeAsync(DashboardContext context)
        {
            if (LocalOnly.Authorize(context))
                return true;
            if (!allowRemote)
                return false;
            if (!authEnabled)
                return true;
            var result = await context.GetHttpContext().AuthenticateAsync(ApiKeyAuthenticationHandler.SchemeName);
            return result.Succeeded && result.Principal.HasClaim(ApiKeyClaims.Admin, "true");
        }
    }

    /// <summary>Marks the operations that need a key, so Swagger UI's Authorize button sends it.</summary>
    private sealed class ApiKeySecurityFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            var path = context.ApiDescription.RelativePath ?? "";
            if (!path.StartsWith("jobs", StringComparison.Ordinal) && !path.StartsWith("sweeps", StringComparison.Ordinal))
                return;
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(ApiKeyAuthenticationHandler.SchemeName, context.Document)] = [],
            });
            operation.Responses ??= [];
            operation.Responses.TryAdd("401", new OpenApiResponse { Description = "Authentication is on and no valid API key was sent (problem details, with WWW-Authenticate)." });
        }
    }
}

/// <summary>The headers every answer carries: no sniffing, no framing, no referrer, and a content security policy.</summary>
public static class SecurityHeaders
{
    /// <summary>JSON, CSV and event streams need nothing from a browser: nothing is allowed.</summary>
    public const string ApiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /// <summary>
    /// Swagger UI and the two dashboards are pages of this origin's scripts and styles, some inline;
    /// nothing from elsewhere, and no framing (clickjacking).
    /// </summary>
    public const string UiPolicy =
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

    /// <summary>
    /// Pages and their files: Swagger UI, the Hangfire dashboard, and the web dashboard (its files under
    /// <c>/dashboard</c>, its page served as HTML at <c>/</c> and <c>/jobs/{id}</c> to browsers).
    /// </summary>
    public static bool IsUserInterface(PathString path, string? contentType) =>
        path.StartsWithSegments("/swagger") || path.StartsWithSegments("/hangfire") || path.StartsWithSegments("/dashboard")
        || (contentType?.StartsWith("text/html", StringComparison.OrdinalIgnoreCase) ?? false);

    public static void Apply(HttpResponse response, bool userInterface)
    {
        var headers = response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers.ContentSecurityPolicy = userInterface ? UiPolicy : ApiPolicy;
    }
}
