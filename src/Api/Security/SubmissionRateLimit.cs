using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace TrainingService.Api.Security;

/// <summary>The rate limit on <c>POST /jobs</c> and <c>POST /sweeps</c>: per key (per client address with authentication off), answered with 429 problem details and Retry-After.</summary>
public static class SubmissionRateLimit
{
    /// <summary>The rate-limiter policy on <c>POST /jobs</c> and <c>POST /sweeps</c>.</summary>
    public const string Policy = "job-submissions";

    public static IServiceCollection AddSubmissionRateLimit(this IServiceCollection services)
    {
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.AddPolicy(Policy, context =>
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
        return services;
    }

    public static RouteHandlerBuilder RequireSubmissionRateLimit(this RouteHandlerBuilder submit) =>
        submit.RequireRateLimiting(Policy)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
}
