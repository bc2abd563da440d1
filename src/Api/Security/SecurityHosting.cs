using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using TrainingService.Contracts;
using TrainingService.Contracts.Access;

namespace TrainingService.Api.Security;

/// <summary>
/// The API's security, registered by <see cref="AddApiSecurity"/> and put in the pipeline by
/// <see cref="UseApiSecurity"/>: the settings, API-key authentication and the authorization policies
/// here; the submission rate limit (<see cref="SubmissionRateLimit"/>), owner access
/// (<see cref="OwnerAccess"/>), the bootstrap admin key (<see cref="BootstrapAdminKey"/>), the security
/// headers (<see cref="SecurityHeaders"/>), the Hangfire dashboard's rule (<see cref="DashboardAccess"/>)
/// and Swagger's key scheme (<see cref="ApiKeySecurityDocumentation"/>) each in a file of its own.
/// </summary>
public static class SecurityHosting
{
    /// <summary>The authorization policy on <c>/jobs</c> and <c>/sweeps</c>: an authenticated key when authentication is on, nothing when off.</summary>
    public const string JobsPolicy = "jobs";

    /// <summary>The authorization policy on the service's own <c>/metrics</c>: an admin key when authentication is on, nothing when off.</summary>
    public const string AdminPolicy = "admin";

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
        services.AddSubmissionRateLimit();
        services.AddApiKeySecurityDocumentation();
        return services;
    }

    /// <summary>Authentication, authorization and the rate limiter; says in the log whether authentication is on.</summary>
    public static WebApplication UseApiSecurity(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();

        if (app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.IsEnabled)
            app.Logger.LogInformation(
                "Authentication is ON: every /jobs, /sweeps and /webhooks request needs an API key (Authorization: Bearer <key> or {Header}); make keys with 'trainingservice keys create --name NAME'.",
                ApiKeyAuthenticationHandler.ApiKeyHeader);
        else
            app.Logger.LogWarning(
                "Authentication is OFF: anyone who can reach this service can submit, read, cancel and download every job. " +
                "It is off by default only on the embedded store; set Auth__Enabled=true to require API keys.");
        return app;
    }
}
