using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using TrainingService.Contracts.Access;

namespace TrainingService.Api.Security;

/// <summary>
/// Authenticates a request by its API key — <c>Authorization: Bearer &lt;key&gt;</c> or
/// <c>X-Api-Key: &lt;key&gt;</c> — looked up by its SHA-256 in <see cref="IApiKeyStore"/>; a revoked
/// key counts as unknown. Its challenge and forbid answers are RFC 7807 problems, the challenge
/// with <c>WWW-Authenticate</c>. With authentication off it authenticates nobody.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<AuthOptions> auth,
    IApiKeyStore keys,
    IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string ApiKeyHeader = "X-Api-Key";

    /// <summary>What a 401 tells the client: both ways it may present a key.</summary>
    private const string Challenge = "Bearer realm=\"TrainingService\", ApiKey realm=\"TrainingService\", header=\"" + ApiKeyHeader + "\"";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!auth.Value.IsEnabled)
            return AuthenticateResult.NoResult();
        var (key, problem) = ReadPresentedKey(Request);
        if (problem is not null)
            return AuthenticateResult.Fail(problem);
        if (key is null)
            return AuthenticateResult.NoResult();

        var record = await keys.FindApiKeyAsync(ApiKeys.Hash(key), Context.RequestAborted);
        if (record is null || record.IsRevoked)
            // The same answer for both: which keys once existed is nobody's business.
            return AuthenticateResult.Fail("The API key is not valid: it is unknown or has been revoked.");

        var identity = new ClaimsIdentity(
            [
                new Claim(ApiKeyClaims.Owner, record.Name),
                new Claim(ApiKeyClaims.KeyId, record.Id.ToString("D")),
                new Claim(ApiKeyClaims.Admin, record.IsAdmin ? "true" : "false"),
            ],
            SchemeName,
            ApiKeyClaims.Owner,
            roleType: null);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    /// <summary>The key the request presents, or why what it presents is not a key. Neither header: (null, null).</summary>
    private static (string? Key, string? Problem) ReadPresentedKey(HttpRequest request)
    {
        string? fromBearer = null;
        var authorization = request.Headers.Authorization;
        if (authorization.Count > 1)
            return (null, "Send one Authorization header.");
        if (authorization.Count == 1)
        {
            var value = authorization[0] ?? "";
            if (!value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
                return (null, "The Authorization header must be 'Bearer <API key>'.");
            fromBearer = value["Bearer ".Length..].Trim();
        }

        var header = request.Headers[ApiKeyHeader];
        if (header.Count > 1)
            return (null, $"Send one {ApiKeyHeader} header.");
        var fromHeader = header.Count == 1 ? header[0]?.Trim() : null;

        if (fromBearer is not null && fromHeader is not null && !string.Equals(fromBearer, fromHeader, StringComparison.Ordinal))
            return (null, $"The Authorization and {ApiKeyHeader} headers carry different keys; send one.");
        var key = fromBearer ?? fromHeader;
        if (key is null)
            return (null, null);
        // A bound on what gets hashed: nothing this long or this odd was ever issued.
        if (key.Length is 0 or > ApiKeys.MaxLength || key.Any(c => c is < '!' or > '~'))
            return (null, "The API key is not valid.");
        return (key, null);
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = result.Failure is null ? Challenge : Challenge + ", error=\"invalid_token\"";
        await WriteProblemAsync(StatusCodes.Status401Unauthorized, "Authentication required",
            result.Failure?.Message
            ?? $"This endpoint needs an API key: send 'Authorization: Bearer <key>' or '{ApiKeyHeader}: <key>'. Keys are made with 'trainingservice keys create'.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        return WriteProblemAsync(StatusCodes.Status403Forbidden, "Forbidden", "This needs an admin key.");
    }

    private async Task WriteProblemAsync(int status, string title, string detail)
    {
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }
}
